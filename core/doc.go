// Package core owns all of Switchboard's state — connections, users, rooms, presence,
// limits and history — as a pure, single-owner state machine in the style of etcd's raft.
//
// It must never do I/O, start goroutines, take locks, read the clock or panic on input.
// Time arrives in events; everything the server does leaves as actions in an Outbox.
//
//	hub := core.New(core.DefaultConfig()) // PROTOCOL.md §1's limits
//	var out core.Outbox
//	for ev := range events { // one goroutine owns hub
//		if err := hub.Step(ev, &out); err != nil { /* caller misuse, e.g. unknown conn */ }
//		for _, a := range out.Actions {
//			switch a.Kind {
//			case core.ActionDeliver: // a.Msg.Frame(framing, format) to every conn in a.Targets
//			case core.ActionClose:   // close a.Conn with a.Code, a.Reason
//			case core.ActionAdminReply:
//			case core.ActionAsk: // verify a.Ask.Token elsewhere, then step an EventAnswer
//			}
//		}
//		out.Reset() // releases this step's messages; transports Retain what they queue
//	}
//
// Rules the adapter relies on:
//
//   - Actions come in the order things happen: a request's effects, then its ack. Targets
//     are in join order (rooms) or connect order (users, broadcast); lists in messages
//     and replies are sorted. The same events always give the same actions.
//   - A connection named in an ActionClose is already forgotten: do not report its
//     EventDisconnect (Step would answer ErrUnknownConn). That includes a connection
//     refused at capacity, which never got a `connected` frame.
//   - A zero limit in Config means no limit; MaxListed defaults to DefaultMaxListed.
//   - Access rules (Config.Namespaces, the grants of each connection's Identity) are
//     decided here; tokens are not: a refresh or a room token becomes an ActionAsk, the
//     connection's later requests wait (bounded) until its EventAnswer, and a token's
//     expiry is checked on every EventTick (close 4002).
//   - Room chat, private messages and broadcast allocate nothing in steady state:
//     requests are parsed in place, messages come from proto's pool, targets from the
//     outbox's arena.
//
// The specification is testdata/*.txt: transcripts of events and the exact actions they
// produce (see transcript_test.go); testdata/cluster_*.txt run several hubs as nodes of
// one cluster on an in-memory bus (cluster_transcript_test.go). Verify checks the hub's
// internal invariants; tests and fuzzers call it after every step.
//
// Cluster mode (Config.Cluster, cluster_api.go) is a strategy, as raft swaps its step
// function per role: the hub holds a peers value (peers.go), solo or cluster, for the
// few operations that differ — admission and the per-user limit, joins and recovery,
// chat sequencing, forwarding to other nodes, their counts — and handles every request
// once. Room presence is counted only through addPresence and removePresence, so remote
// presence takes the local path; a room message is stored (deliverChat) or not
// (deliverUnstored), and either way reaches every node. App events follow the
// cluster-wide view and are emitted by one owner per user or room, with IDs every node
// derives alike (cluster_events.go says which repeats and gaps a changing view allows).
package core
