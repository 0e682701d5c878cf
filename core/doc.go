// Package core owns all of Switchboard's state — connections, users, rooms, presence,
// limits and history — as a pure, single-owner state machine in the style of etcd's raft.
//
// It must never do I/O, start goroutines, take locks, read the clock or panic on input.
// Time arrives in events; everything the server does leaves as actions in an Outbox.
//
//	hub := core.New(core.Config{MaxConns: 10000, MaxPerUser: 5, …})
//	var out core.Outbox
//	for ev := range events { // one goroutine owns hub
//		if err := hub.Step(ev, &out); err != nil { /* caller misuse, e.g. unknown conn */ }
//		for _, a := range out.Actions {
//			switch a.Kind {
//			case core.ActionDeliver: // a.Msg.Frame(format) to every conn in a.Targets
//			case core.ActionClose:   // close a.Conn with a.Code, a.Reason
//			case core.ActionAdminReply:
//			}
//		}
//		out.Reset() // releases this step's messages; transports Retain what they queue
//	}
package core
