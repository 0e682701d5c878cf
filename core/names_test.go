package core

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestNameSetMatchesSortedSlice: any sequence of adds and removes leaves the set equal
// to the sorted, deduplicated names, and every prefix comes out right; no chunk's array
// grows past maxChunk (memory per online user stays near 16 bytes a name).
func TestNameSetMatchesSortedSlice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s nameSet
		want := map[string]bool{}
		names := rapid.Custom(func(t *rapid.T) string { return fmt.Sprintf("n%04d", rapid.IntRange(0, 2000).Draw(t, "n")) })
		for n := rapid.IntRange(0, 3000).Draw(t, "ops"); n > 0; n-- {
			name := names.Draw(t, "name")
			if rapid.IntRange(0, 2).Draw(t, "remove") == 0 {
				s.remove(name)
				delete(want, name)
			} else {
				s.add(name)
				want[name] = true
			}
		}
		all := sortedKeys(want)
		if got := s.appendFirst(nil, len(all)+1); !slices.Equal(got, all) || s.len() != len(all) {
			t.Fatalf("set holds %d names %v…, want %d", s.len(), got[:min(5, len(got))], len(all))
		}
		k := rapid.IntRange(0, len(all)).Draw(t, "k")
		if got := s.appendFirst(nil, k); !slices.Equal(got, all[:k]) {
			t.Fatalf("first %d: %v", k, got)
		}
		for _, c := range s.chunks {
			if len(c) == 0 || cap(c) > maxChunk {
				t.Fatalf("chunk of %d names in an array of %d", len(c), cap(c))
			}
		}
	})
}
