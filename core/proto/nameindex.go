package proto

import (
	"encoding/binary"
	"iter"
)

// nameIndex finds a wire name among a table's names (request types, request keys) about
// as fast as a switch on constant strings, with the names spelled once, in their table:
// one probe on the name's length and last byte, then one comparison (of one word for
// names of up to 8 bytes).
type nameIndex struct {
	names []string
	words []uint64                       // names of up to 8 bytes as words
	probe [maxIndexedName + 1][256]uint8 // index+1 into names; 0: none; collide: scan
}

const (
	maxIndexedName = 16 // longer names are never found
	collide        = 255
)

func newNameIndex(names iter.Seq[string]) (x nameIndex) {
	for name := range names {
		x.names = append(x.names, name)
		x.words = append(x.words, word([]byte(name[:min(len(name), 8)])))
		p := &x.probe[len(name)][name[len(name)-1]] // an empty or too long name is the table's bug: panic at init
		if *p == 0 {
			*p = uint8(len(x.names))
		} else {
			*p = collide
		}
	}
	return x
}

// find returns the index of b among the names.
func (x *nameIndex) find(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > maxIndexedName {
		return 0, false
	}
	p := x.probe[len(b)][b[len(b)-1]]
	if p == 0 || p == collide {
		return x.scan(b, p)
	}
	i := int(p - 1)
	if len(b) <= 8 {
		return i, x.words[i] == word(b)
	}
	return i, x.names[i] == string(b)
}

// scan finds b by comparing every name, when the probe p did not pick one.
func (x *nameIndex) scan(b []byte, p uint8) (int, bool) {
	if p == collide { // two names share length and last byte
		for i, name := range x.names {
			if name == string(b) {
				return i, true
			}
		}
	}
	return 0, false
}

// word packs at most 8 bytes into a little-endian word with at most three loads.
func word(b []byte) uint64 {
	if len(b) == 8 {
		return binary.LittleEndian.Uint64(b)
	}
	var w uint64
	shift := 0
	if len(b) >= 4 {
		w, b, shift = uint64(binary.LittleEndian.Uint32(b)), b[4:], 32
	}
	if len(b) >= 2 {
		w |= uint64(binary.LittleEndian.Uint16(b)) << shift
		b, shift = b[2:], shift+16
	}
	if len(b) == 1 {
		w |= uint64(b[0]) << shift
	}
	return w
}
