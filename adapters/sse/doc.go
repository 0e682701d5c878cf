// Package sse owns the Server-Sent Events fallback transport (PROTOCOL.md §12): the
// same protocol as /ws over two plain HTTP requests, for networks that block WebSocket.
//
// GET /sse (or /sse/{user}) is a stream: the node's Accept rules (Origin, drain,
// admission, identity without the auth message), then 200 text/event-stream and one
// event per server message, `id: N` counting per stream, its first event `connected`
// carrying `session`; `: ping` comments keep it alive. POST /sse/send with
// X-Switchboard-Session carries client messages into the stream's connection; a session
// held by another node of a cluster is forwarded to it (Forwarder, adapters/nats).
//
// A stream is a node.Conn like a WebSocket: every limit and close rule of the node
// holds, and a close code becomes a last `closed` event. The package must never frame
// WebSocket bytes, keep more than one goroutine per stream (the handler's own, which is
// its writer), or trust a session it did not sign: sessions are HMAC-SHA256 over the
// node id, the connection id and a random nonce, with a per-process random key unless
// Options.Key is set.
//
//	h := sse.New(n, sse.Options{})   // n: a *node.Node
//	mux.Handle("/sse", h)
//	mux.Handle("/sse/{user}", h)
//	mux.Handle("/sse/send", h)
package sse
