// Package proto owns Switchboard's wire messages (PROTOCOL.md §3–§4): parsing client
// requests from JSON and MessagePack payloads, and encoding server messages once per
// subprotocol into bytes shared by every recipient, framed once per transport's Framing
// (it knows no framing itself: adapters/wsframe has WebSocket's, adapters/sse its own).
//
// A Message carries the fields of the frequent types itself and the others' in its
// Extra, so that reusing a pooled chat, private or broadcast touches little memory.
//
// Besides Parse and Message it offers ValidRoom and ValidUser (the name rules, shared
// with the handshake and the admin API), and ToJSON and DecodeMessage, which read server
// messages back for transcripts, tests, Go clients and the wasm playground.
//
// Each message of the protocol is one entry of a table: requests in requests.go (name,
// fields in check order, required or optional), server messages in messages.go (name,
// keys in order, when each is sent). Parsing, names, validation and both encoders follow
// them; `go generate` writes the straight-line encoders and lookups into table_gen.go,
// and a test fails when that file is stale.
//
// It must never do I/O, never keep global mutable state beyond its message pool, and
// never panic on input: a bad payload is an *Error carrying the protocol's error code.
//
//	var req proto.Request
//	if err := proto.Parse(proto.JSON, payload, &req); err != nil { /* err.Code == proto.BadRequest … */ }
//
//	m := proto.NewMessage(proto.MsgChat)
//	m.Room, m.Sender, m.Offset, m.Time = "lobby", "ann", 7, now
//	m.Content = append(m.Content[:0], req.Content...)
//	frame := m.Frame(wsframe.Framing{}, proto.JSON) // encoded and framed once, shared by every recipient
//	m.Release()
package proto
