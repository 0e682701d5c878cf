package core

import (
	"slices"
	"sort"
)

// nameSet is a sorted set of names (users or rooms) kept in chunks of bounded size, so
// that adding or removing a name moves at most a chunk, and the first k names — all that
// `connected` and `online` list — come out in O(k), however many there are. Sorting the
// whole set on demand would cost O(n log n) per connect after any room change: a client
// churning rooms could make every connect of a million-room hub expensive.
type nameSet struct {
	chunks [][]string // each sorted and non-empty; every name of chunks[i] < those of chunks[i+1]
	n      int
}

// maxChunk bounds a chunk; a full chunk splits in two.
const maxChunk = 256

func (s *nameSet) len() int { return s.n }

// chunkFor returns the index of the chunk name belongs in: the first whose last name is
// not below it, or the last chunk.
func (s *nameSet) chunkFor(name string) int {
	i := sort.Search(len(s.chunks), func(i int) bool {
		c := s.chunks[i]
		return c[len(c)-1] >= name
	})
	return min(i, len(s.chunks)-1)
}

// add inserts name; adding a present name changes nothing.
func (s *nameSet) add(name string) {
	if len(s.chunks) == 0 {
		s.chunks = append(s.chunks, []string{name})
		s.n = 1
		return
	}
	i := s.chunkFor(name)
	c := s.chunks[i]
	j, found := slices.BinarySearch(c, name)
	if found {
		return
	}
	if len(c) == maxChunk {
		// Split before inserting: an insert into a full chunk would double its array,
		// which the lower half would then keep, half empty, for as long as it lives.
		half := maxChunk / 2
		upper := append(make([]string, 0, maxChunk), c[half:]...)
		clear(c[half:])
		s.chunks[i] = c[:half]
		s.chunks = slices.Insert(s.chunks, i+1, upper)
		if j > half {
			i, j = i+1, j-half
		}
		c = s.chunks[i]
	} else if len(c) == cap(c) {
		// Grow by doubling up to maxChunk exactly (append's growth would overshoot it).
		c = append(make([]string, 0, min(2*cap(c), maxChunk)), c...)
	}
	s.chunks[i] = slices.Insert(c, j, name)
	s.n++
}

// remove deletes name; removing an absent name changes nothing.
func (s *nameSet) remove(name string) {
	if len(s.chunks) == 0 {
		return
	}
	i := s.chunkFor(name)
	c := s.chunks[i]
	j, found := slices.BinarySearch(c, name)
	if !found {
		return
	}
	c = slices.Delete(c, j, j+1)
	s.n--
	if len(c) == 0 {
		s.chunks = slices.Delete(s.chunks, i, i+1)
		return
	}
	s.chunks[i] = c
}

// appendFirst appends the first k names, in order, to dst.
func (s *nameSet) appendFirst(dst []string, k int) []string {
	for _, c := range s.chunks {
		if k <= 0 {
			break
		}
		c = c[:min(k, len(c))]
		dst = append(dst, c...)
		k -= len(c)
	}
	return dst
}
