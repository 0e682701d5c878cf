package core

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestHubMatchesModel steps random event sequences through the hub and the naive model
// side by side: after every step the actions must match summary for summary, the hub's
// invariants must hold (Verify), every target must be a live connection, every message
// must encode in both formats, and the state must equal the model's.
func TestHubMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := Config{
			NodeID:               "n",
			MaxConns:             rapid.IntRange(0, 8).Draw(t, "max-conns"),
			MaxPerUser:           rapid.IntRange(0, 3).Draw(t, "max-per-user"),
			MaxRoomsPerConn:      rapid.IntRange(0, 3).Draw(t, "max-rooms"),
			Rate:                 float64(rapid.IntRange(0, 4).Draw(t, "rate")),
			Burst:                rapid.IntRange(0, 3).Draw(t, "burst"),
			AllowClientBroadcast: rapid.Bool().Draw(t, "allow-broadcast"),
			History:              rapid.IntRange(0, 3).Draw(t, "history"),
		}
		h, m := New(cfg), newModel(cfg)
		m.now = start.UnixNano()
		var out Outbox
		now := start
		ids := rapid.Custom(func(t *rapid.T) ConnID { return ConnID(rapid.IntRange(1, 7).Draw(t, "conn")) })
		users := rapid.SampledFrom([]string{"ann", "bob", "cat"})
		rooms := rapid.SampledFrom([]string{"r1", "r2", "r3"})

		step := func(t *rapid.T, ev Event, want []string, wantErr error) {
			ev.Now = now
			err := h.Step(ev, &out)
			if !errors.Is(err, wantErr) {
				t.Fatalf("Step error %v, model says %v", err, wantErr)
			}
			if err := checkOutbox(h, &out, 0); err != nil {
				t.Fatal(err)
			}
			if got := summarize(&out); !slices.Equal(got, want) {
				t.Fatalf("actions differ\nhub:   %q\nmodel: %q", got, want)
			}
			for _, a := range out.Actions {
				if a.Kind == ActionAdminReply && a.Reply.Op == AdminStats {
					st := a.Reply.Stats
					if st.TotalConnections != len(m.conns) || st.UniqueUsers != len(m.users()) || st.Rooms != len(m.rooms) {
						t.Fatalf("stats %+v, model %d conns %d users %d rooms", st, len(m.conns), len(m.users()), len(m.rooms))
					}
				}
			}
			out.Reset()
			if err := m.check(h); err != nil {
				t.Fatal(err)
			}
		}

		actions := map[string]func(*rapid.T){
			"connect": func(t *rapid.T) {
				id, u := ids.Draw(t, "id"), users.Draw(t, "user")
				want, err := m.connect(id, u)
				step(t, Event{Kind: EventConnect, Conn: id, Identity: Identity{User: u}}, want, err)
			},
			"disconnect": func(t *rapid.T) {
				id := ids.Draw(t, "id")
				var want []string
				var err error
				if m.conns[id] == nil {
					err = ErrUnknownConn
				} else {
					want = m.remove(id)
				}
				step(t, Event{Kind: EventDisconnect, Conn: id}, want, err)
			},
			"frame": func(t *rapid.T) {
				id := ids.Draw(t, "id")
				r := request{
					typ:     rapid.SampledFrom([]string{"join", "join", "leave", "chat", "chat", "private", "broadcast", "members", "online", "ping"}).Draw(t, "type"),
					id:      rapid.Bool().Draw(t, "with-id"),
					garbage: rapid.IntRange(0, 20).Draw(t, "garbage") == 0,
				}
				switch r.typ {
				case "join", "leave", "chat", "members":
					r.room = rooms.Draw(t, "room")
				case "private":
					r.to = users.Draw(t, "to")
				}
				want, err := m.frame(id, r)
				step(t, Event{Kind: EventFrame, Conn: id, Payload: r.payload()}, want, err)
			},
			"tick": func(t *rapid.T) {
				now = now.Add(time.Duration(rapid.IntRange(1, 2000).Draw(t, "ms")) * time.Millisecond)
				m.now = now.UnixNano()
				step(t, Event{Kind: EventTick}, nil, nil)
			},
			"admin": func(t *rapid.T) {
				req := AdminRequest{
					Op:      AdminOp(rapid.IntRange(int(AdminStats), int(AdminSystem)).Draw(t, "op")),
					Room:    rooms.Draw(t, "room"),
					User:    users.Draw(t, "user"),
					Content: "c",
				}
				if req.Op == AdminSystem && rapid.Bool().Draw(t, "to-everyone") {
					req.Room = ""
				}
				if rapid.Bool().Draw(t, "exclude") {
					req.Exclude = users.Draw(t, "exclude-user")
				}
				want := m.admin(req)
				if req.Op == AdminSystem {
					to := m.rooms[req.Room]
					if req.Room == "" {
						to = m.order
					}
					if len(to) > 0 {
						want = append([]string{deliver("system", to...)}, want...)
					}
				}
				step(t, Event{Kind: EventAdmin, Admin: req}, want, nil)
			},
		}
		// Long sequences (rather than t.Repeat's ~30 steps) so that crowded states — a
		// user with several tabs in one room, limits reached — come up in every run.
		kinds := rapid.SampledFrom([]string{"connect", "connect", "disconnect", "frame", "frame", "frame", "frame", "frame", "tick", "admin"})
		for n := rapid.IntRange(1, 300).Draw(t, "steps"); n > 0; n-- {
			actions[kinds.Draw(t, "action")](t)
		}
	})
}

// TestTargetsInJoinOrderAfterCompaction fills a room, empties most of it (so its member
// list is compacted) and checks that chat still reaches exactly the rest, in join order.
func TestTargetsInJoinOrderAfterCompaction(t *testing.T) {
	h := New(defaultConfig())
	var out Outbox
	for i := 1; i <= 100; i++ {
		must(t, h.Step(Event{Kind: EventConnect, Now: start, Conn: ConnID(i), Identity: Identity{User: fmt.Sprintf("u%d", i)}}, &out))
		must(t, h.Step(Event{Kind: EventFrame, Now: start, Conn: ConnID(i), Payload: []byte(`{"type":"join","room":"r"}`)}, &out))
		out.Reset()
	}
	var want []ConnID
	for i := 1; i <= 100; i++ {
		if i%10 == 3 {
			want = append(want, ConnID(i))
			continue
		}
		must(t, h.Step(Event{Kind: EventDisconnect, Now: start, Conn: ConnID(i)}, &out))
		out.Reset()
		must(t, h.Verify())
	}
	must(t, h.Step(Event{Kind: EventFrame, Now: start, Conn: 3, Payload: []byte(`{"type":"chat","room":"r","content":"x"}`)}, &out))
	if len(out.Actions) != 1 || !slices.Equal(out.Actions[0].Targets, want) {
		t.Fatalf("chat targets %v, want %v", out.Actions[0].Targets, want)
	}
	if n := len(h.rooms["r"].members.slots); n > 2*len(want) {
		t.Fatalf("member list not compacted: %d slots for %d members", n, len(want))
	}
	out.Reset()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
