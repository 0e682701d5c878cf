// Package nethttp owns Switchboard's portable transport: an http.Handler that serves
// the WebSocket endpoint with one reader and one writer goroutine per connection, for
// systems without epoll and for mounting into an existing http.ServeMux.
//
// It must never decide protocol policy — the frame rules are adapters/wsframe's, the send
// queues, limits, pings and timeouts adapters/node's, exactly as for adapters/epoll — and
// never let one connection's slow peer hold anything but that connection's goroutines.
//
//	n := node.New(opts)
//	mux.Handle("/ws", nethttp.New(n))
//	…
//	n.Shutdown(ctx) // every connection closed 1001 "Server shutting down"
package nethttp
