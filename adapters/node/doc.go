// Package node owns one core.Hub on one goroutine and routes its actions to the
// connections of whichever transport (adapters/epoll, adapters/nethttp, adapters/sse)
// carries them. Each connection brings its transport's Framing (WebSocket's is
// wsframe.Framing): the node decides what to send and when, never how it is framed.
//
// Transports do the handshake with Upgrade (a WebSocket: Identify, subprotocol,
// gobwas/ws on the hijacked connection) or Accept (any other transport: the same rules,
// no auth message), then hand the node the connection (Attach, Start), its complete
// messages (Receive) and its end (Close, Lost, Finished). The owner goroutine steps
// them into the hub in batches, drains the Outbox, and queues each delivered frame —
// encoded once per message, format and framing, shared by every recipient — on the
// target connections' byte-bounded send queues, which the transport flushes (Pull,
// Written). Pings, the idle and message timeouts (1001, 1008), slow consumers (4008),
// the handshake rules of PROTOCOL.md §11 (header size, key, Origin, the pure Admission
// of --max-conns-per-ip and --accept-rate) and shutdown or a staged Drain (1001) are
// decided here, once for every transport.
//
// Decisions the hub asks for go off the owner goroutine: tokens to Options.Tokens, the
// application's hooks (Options.Hooks: connect, join, publish, rpc; PROTOCOL.md §9.1) to a
// bounded worker pool whose calls are answered, unavailable if need be, within
// HookTimeout; app events (§9.2) to Options.Events through a bounded buffer.
//
// Delivery forks and joins (deliver.go): with Options.DeliveryShards S > 1 (default
// GOMAXPROCS) the owner holds a round's deliveries and, before it next queues or closes
// anything on a connection itself and at the end of the round, hands them to S-1 helper
// goroutines and shard 0 (itself), each queueing to its own share of the connections
// (runs of consecutive IDs), and waits for all of them. One goroutine queues every frame of a connection,
// in the hub's order, and the hub and the connection map stay the owner's alone; rounds
// of fewer than a few hundred recipients are queued by the owner with no handoff. Queue
// counters are per shard (summed in Stats), so no delivery touches a node-wide atomic.
//
// The owner goroutine must never block on a peer: it never waits for a writer (only for
// its own delivery shards, which never wait either), and a connection whose unsent bytes
// would pass Options.SendQueueBytes — after one non-blocking flush (Link.TryFlush) — is
// closed 4008 instead of waited for. No lock is held while stepping the hub; the only
// locks are per connection (its send queue) and the inbox's.
//
//	n := node.New(node.Options{Core: core.DefaultConfig()}) // zero options take their defaults
//	h := nethttp.New(n)           // or epoll.New(n)
//	mux.Handle("/ws", h)
//	…
//	n.Drain(1000)                 // or: 1000 connections closed 1001 per second …
//	<-n.Drained()
//	n.Shutdown(ctx)               // every connection closed 1001 "Server shutting down"
package node
