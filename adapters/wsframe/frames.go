package wsframe

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// Ping is the server's keep-alive ping frame (empty payload), shared by every connection.
var Ping = []byte{0x80 | byte(ws.OpPing), 0}

// AppendFrame appends a complete, unmasked, final server frame of type op carrying
// payload to dst.
func AppendFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	n := len(payload)
	dst = append(dst, 0x80|byte(op))
	switch {
	case n < 126:
		dst = append(dst, byte(n))
	case n <= 0xffff:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

// AppendClose appends a server close frame with code and reason to dst. Code 1005 (the
// peer named no code) gives an empty close frame, as RFC 6455 §5.5.1 echoes it; the
// reason is cut to fit a control frame.
func AppendClose(dst []byte, code ws.StatusCode, reason string) []byte {
	if code == ws.StatusNoStatusRcvd || code == 0 {
		return append(dst, 0x80|byte(ws.OpClose), 0)
	}
	if len(reason) > ws.MaxControlFramePayloadSize-2 {
		reason = reason[:ws.MaxControlFramePayloadSize-2]
	}
	dst = append(dst, 0x80|byte(ws.OpClose), byte(2+len(reason)), byte(code>>8), byte(code))
	return append(dst, reason...)
}
