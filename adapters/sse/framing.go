package sse

import (
	"encoding/json"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// framing is the SSE framing of the node's frames (node.Framing): a message is an event
// `data: <JSON>` and a blank line (the stream adds `id: N` in front of each, per stream);
// the keep-alive is a comment. JSON never holds a raw newline, so one data line is
// always enough.
type framing struct{}

var (
	dataField  = []byte("data: ")
	eventEnd   = []byte("\n\n")
	pingFrame  = []byte(": ping\n\n")
	sessionKey = []byte(`"session":`)
)

// AppendHeader implements proto.Framing.
func (framing) AppendHeader(dst []byte, _ proto.Format, _ int) []byte {
	return append(dst, dataField...)
}

// Trailer implements proto.Framing.
func (framing) Trailer(proto.Format) []byte { return eventEnd }

// Ping is the `: ping` comment sent every ping interval.
func (framing) Ping() []byte { return pingFrame }

// Pong is never asked for: an event stream's client cannot ping.
func (framing) Pong([]byte) []byte { return nil }

// Close is the last event, where a WebSocket would get a close frame:
// {"type":"closed","code":C,"reason":R}.
func (framing) Close(code uint16, reason string) []byte {
	b, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Code   uint16 `json:"code"`
		Reason string `json:"reason"`
	}{"closed", code, reason})
	return append(append(append([]byte(nil), dataField...), b...), eventEnd...)
}

// isEvent reports whether frame b is an event (it gets an id), not a comment.
func isEvent(b []byte) bool { return len(b) > 0 && b[0] == dataField[0] }
