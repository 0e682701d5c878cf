package wsframe

import (
	"encoding/binary"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// Ping is the server's keep-alive ping frame (empty payload), shared by every connection.
var Ping = []byte{0x80 | byte(ws.OpPing), 0}

// AppendFrame appends a complete, unmasked, final server frame of type op carrying
// payload to dst.
func AppendFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	return append(appendHeader(dst, op, len(payload)), payload...)
}

// appendHeader appends the header of an unmasked final frame of type op and n payload
// bytes.
func appendHeader(dst []byte, op ws.OpCode, n int) []byte {
	dst = append(dst, 0x80|byte(op))
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		return append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
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

// Framing is the WebSocket framing of the node's frames (node.Framing, proto.Framing):
// a message is one unmasked final frame, text for JSON and binary for MessagePack, its
// header written in the headroom in front of the shared payload.
type Framing struct{}

// AppendHeader implements proto.Framing: the smallest header RFC 6455 §5.2 allows.
func (Framing) AppendHeader(dst []byte, f proto.Format, n int) []byte {
	op := ws.OpText
	if f == proto.Msgpack {
		op = ws.OpBinary
	}
	return appendHeader(dst, op, n)
}

// Trailer implements proto.Framing: a WebSocket frame has none.
func (Framing) Trailer(proto.Format) []byte { return nil }

// Ping is the keep-alive ping frame, shared by every connection.
func (Framing) Ping() []byte { return Ping }

// Pong answers the peer's ping with its payload.
func (Framing) Pong(payload []byte) []byte {
	return AppendFrame(make([]byte, 0, 2+len(payload)), ws.OpPong, payload)
}

// Close is the close frame with code and reason (AppendClose).
func (Framing) Close(code uint16, reason string) []byte {
	return AppendClose(nil, ws.StatusCode(code), reason)
}
