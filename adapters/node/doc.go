// Package node owns one core.Hub on one goroutine and routes its actions to the
// connections of whichever transport (adapters/epoll, adapters/nethttp) carries them.
//
// Transports hand the node upgraded connections (Attach), complete messages (Receive)
// and ends (Close, Lost, Finished); the owner goroutine steps them into the hub in
// batches, drains the Outbox, and queues each delivered frame — encoded once per message
// and format, shared by every recipient — on the target connections' byte-bounded send
// queues, which the transport flushes (Pull, Written). Pings, the idle timeout, slow
// consumers (4008) and shutdown (1001) are decided here, once for both transports.
//
// The node must never block its owner goroutine on a peer: it never writes to a socket,
// never waits for a transport, and closes a connection whose queue is over
// Options.SendQueueBytes instead of waiting for it. It holds no lock while stepping the
// hub; the only locks are per connection (its send queue) and the inbox.
//
//	n := node.New(node.Options{Core: core.Config{MaxConns: 10000}, SendQueueBytes: 1 << 20})
//	h := nethttp.New(n)           // or epoll.New(n)
//	mux.Handle("/ws", h)
//	…
//	n.Shutdown(ctx)               // every connection closed 1001 "Server shutting down"
package node
