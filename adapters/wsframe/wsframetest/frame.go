// Package wsframetest builds raw WebSocket frames for tests: the frames a browser sends
// and the ones no client should (unmasked, reserved bits or opcodes). It is for tests
// only and must never be imported by production code.
package wsframetest

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// Client builds a masked client frame as a browser would send it.
func Client(fin bool, op ws.OpCode, payload []byte) []byte {
	return Raw(fin, 0, op, true, payload)
}

// Raw builds any frame: rsv sets the three reserved bits, masked the mask bit (with a
// fixed key). payload is not modified.
func Raw(fin bool, rsv byte, op ws.OpCode, masked bool, payload []byte) []byte {
	b0 := byte(op) | rsv<<4
	if fin {
		b0 |= 0x80
	}
	var mbit byte
	if masked {
		mbit = 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, mbit|byte(n))
	case n <= 0xffff:
		out = append(out, mbit|126, byte(n>>8), byte(n))
	default:
		out = append(out, mbit|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	p := append([]byte(nil), payload...)
	if masked {
		mask := [4]byte{0x12, 0x34, 0x56, 0x78}
		out = append(out, mask[:]...)
		ws.Cipher(p, mask, 0)
	}
	return append(out, p...)
}
