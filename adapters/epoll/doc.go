// Package epoll owns Switchboard's Linux transport: WebSocket connections kept as raw
// file descriptors in epoll sets, read with non-blocking reads and written with one
// non-blocking writev of everything queued, so an idle connection costs no goroutine and
// no read or write buffer. The transport is sharded to the machine: one epoll set with
// its poller goroutine and one write worker per GOMAXPROCS (see Shards), a connection
// staying in one shard for its reads and writes.
//
// It must never block a worker or the poller on a peer (a half-sent frame waits in that
// connection's pooled buffer; a full socket waits for EPOLLOUT), never keep a buffer for a
// connection between frames, and never decide protocol policy: the frame rules are
// adapters/wsframe's, the queues, limits and timers adapters/node's.
//
//	n := node.New(opts)
//	t, err := epoll.New(n) // an error on other systems: use adapters/nethttp
//	mux.Handle("/ws", t)   // the upgrade shares the port with the rest of the mux
//	…
//	n.Shutdown(ctx)        // close frames flushed through t
//	t.Close()
package epoll
