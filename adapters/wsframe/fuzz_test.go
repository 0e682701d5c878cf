package wsframe

import (
	"strings"
	"testing"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// FuzzFrameReader checks that decoding never depends on how the bytes were split across
// reads (two arbitrary cuts and byte by byte), for any bytes, and never panics.
func FuzzFrameReader(f *testing.F) {
	for _, tc := range readerCases() {
		f.Add(tc.stream, uint16(len(tc.stream)/3), uint16(len(tc.stream)/2), tc.format == proto.Msgpack)
	}
	f.Fuzz(func(t *testing.T, stream []byte, a, b uint16, msgpack bool) {
		format := proto.JSON
		if msgpack {
			format = proto.Msgpack
		}
		const max = 300
		whole := strings.Join(run(format, max, stream), "\n")
		i, j := int(a)%(len(stream)+1), int(b)%(len(stream)+1)
		if i > j {
			i, j = j, i
		}
		if got := strings.Join(run(format, max, stream, i, j), "\n"); got != whole {
			t.Fatalf("cut at %d,%d:\n%q\nwhole:\n%q", i, j, got, whole)
		}
		if len(stream) < 2000 {
			cuts := make([]int, 0, len(stream))
			for k := 1; k < len(stream); k++ {
				cuts = append(cuts, k)
			}
			if got := strings.Join(run(format, max, stream, cuts...), "\n"); got != whole {
				t.Fatalf("byte by byte:\n%q\nwhole:\n%q", got, whole)
			}
		}
	})
}
