//go:build !race

// The race detector makes sync.Pool drop objects on purpose, so allocation counts are
// only meaningful without it.

package core

import (
	"testing"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// TestHotPathAllocatesNothing: steady-state room chat, private messages and broadcast
// (Step, one encoding per message, Reset) allocate nothing.
func TestHotPathAllocatesNothing(t *testing.T) {
	h := benchHub(t, 50, "lobby")
	var out Outbox
	must(t, h.Step(Event{Kind: EventConnect, Now: start, Conn: 1000, Identity: Identity{User: "u1"}}, &out))
	out.Reset()
	for _, tc := range []struct {
		name    string
		payload string
	}{
		{"chat", string(chatPayload)},
		{"chat with id", `{"type":"chat","room":"lobby","content":"hi","id":"abc"}`},
		{"private", `{"type":"private","to":"u1","content":"psst"}`},
		{"broadcast", `{"type":"broadcast","content":"all"}`},
		{"ping", `{"type":"ping"}`},
	} {
		ev := Event{Kind: EventFrame, Now: start, Conn: 1, Payload: []byte(tc.payload)}
		for f := proto.Format(0); f < proto.NumFormats; f++ {
			if f == proto.Msgpack {
				var err error
				if ev.Payload, err = jsonToMsgpack(tc.payload); err != nil {
					t.Fatal(err)
				}
				h.conns[1].format = proto.Msgpack
			}
			step := func() {
				must(t, h.Step(ev, &out))
				for i := range out.Actions {
					if m := out.Actions[i].Msg; m != nil {
						m.Payload(f)
					}
				}
				out.Reset()
			}
			for range 200 { // fill the history ring and warm the pools
				step()
			}
			if n := testing.AllocsPerRun(200, step); n != 0 {
				t.Errorf("%s (%v): %v allocs per step, want 0", tc.name, f, n)
			}
		}
		h.conns[1].format = proto.JSON
	}
}
