// Package wsframe owns the WebSocket rules the core cannot see (RFC 6455 as PROTOCOL.md §5
// applies them), in one implementation shared by every transport: an incremental frame
// reader fed with whatever bytes a read returned, and Framing: how the node's frames
// (messages, ping, pong, close) look on a WebSocket.
//
// It must never do I/O, start goroutines or keep a buffer for a connection that is between
// frames: a buffer exists only while a frame (or a fragmented message) is incomplete, and
// goes back to a pool when it completes. Its result never depends on how the bytes were
// split across reads.
//
//	var r wsframe.Reader
//	r.Init(proto.JSON, 65536, budget) // budget: a *wsframe.Budget every connection shares
//	for {
//		n, _ := read(buf)
//		if err := r.Feed(buf[:n], handler); err != nil {
//			var ce *wsframe.CloseError // close the connection with ce.Code
//		}
//	}
package wsframe
