package core_test

import (
	"fmt"
	"time"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// The drain loop every adapter runs: one goroutine owns the hub, steps each event into
// it, carries out the actions it appended, then resets the outbox for the next step.
// Time comes in the events, so the same events always give the same frames.
func Example() {
	hub := core.New(core.DefaultConfig())
	var out core.Outbox
	now := time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)
	events := []core.Event{
		{Kind: core.EventConnect, Now: now, Conn: 1, Identity: core.Identity{User: "ann"}, Format: proto.JSON},
		{Kind: core.EventConnect, Now: now, Conn: 2, Identity: core.Identity{User: "bob"}, Format: proto.JSON},
		{Kind: core.EventFrame, Now: now, Conn: 1, Payload: []byte(`{"type":"join","room":"lobby"}`)},
		{Kind: core.EventFrame, Now: now, Conn: 2, Payload: []byte(`{"type":"join","room":"lobby","id":"j1"}`)},
		{Kind: core.EventFrame, Now: now, Conn: 2, Payload: []byte(`{"type":"chat","room":"lobby","content":"hi"}`)},
		{Kind: core.EventAdmin, Now: now, Admin: core.AdminRequest{Op: core.AdminDisconnect, User: "ann", Ref: 7}},
	}
	for _, ev := range events {
		if err := hub.Step(ev, &out); err != nil {
			fmt.Println("misuse:", err) // an unknown or duplicate conn, an invalid user
			continue
		}
		for _, a := range out.Actions {
			switch a.Kind {
			case core.ActionDeliver: // the same encoded frame for every target
				fmt.Printf("to %v: %s\n", a.Targets, a.Msg.Payload(proto.JSON))
			case core.ActionClose: // the hub has already forgotten a.Conn
				fmt.Printf("close %d: %d %s\n", a.Conn, a.Code, a.Reason)
			case core.ActionAdminReply:
				fmt.Printf("admin reply %d: %d closed=%d\n", a.Reply.Ref, a.Reply.Status, a.Reply.Closed)
			}
		}
		out.Reset() // releases this step's messages: a transport Retains what it queues
	}
	// Output:
	// to [1]: {"type":"connected","user_id":"ann","conn_id":"1","rooms":[],"timestamp":"2026-11-27T19:00:00.000Z"}
	// to [2]: {"type":"connected","user_id":"bob","conn_id":"2","rooms":[],"timestamp":"2026-11-27T19:00:00.000Z"}
	// to [1]: {"type":"joined","room":"lobby","epoch":"mwzcixs0-1","offset":0,"recovered":false}
	// to [1]: {"type":"user_joined","room":"lobby","user_id":"ann","members":["ann"],"timestamp":"2026-11-27T19:00:00.000Z"}
	// to [2]: {"type":"joined","room":"lobby","epoch":"mwzcixs0-1","offset":0,"recovered":false}
	// to [1 2]: {"type":"user_joined","room":"lobby","user_id":"bob","members":["ann","bob"],"timestamp":"2026-11-27T19:00:00.000Z"}
	// to [2]: {"type":"ack","id":"j1"}
	// to [1 2]: {"type":"chat","room":"lobby","sender":"bob","content":"hi","offset":1,"timestamp":"2026-11-27T19:00:00.000Z"}
	// close 1: 4009 Kicked
	// to [2]: {"type":"user_left","room":"lobby","user_id":"ann","timestamp":"2026-11-27T19:00:00.000Z"}
	// admin reply 7: 200 closed=1
}
