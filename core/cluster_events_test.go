package core

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
	"pgregory.net/rapid"
)

// TestClusterAppEventsOnce runs random client activity on three hubs that all know each
// other, with cluster events delivered in random order and the clock moving, and holds
// the app events of all of them together to PROTOCOL.md §9.2: each event comes from one
// node, the owner of its user or room, under an ID no other event has; per user, online
// and offline alternate (starting online), likewise per room occupied and vacated and per
// member added and removed; and once everything is delivered and the grace has passed,
// the last event of each says what is true (online iff connected somewhere, and so on).
func TestClusterAppEventsOnce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := defaultConfig()
		cfg.AppEvents, cfg.Rate, cfg.Burst, cfg.MaxPerUser = true, 0, 0, 0
		cfg.OfflineGrace = time.Duration(rapid.IntRange(0, 2).Draw(t, "grace")) * 2 * time.Second
		nodes := []string{"a", "b", "c"}
		b := newBus(t, cfg, nodes...)
		type emitted struct {
			node string
			ev   AppEvent
		}
		var got []emitted
		b.print = func(node string, a *Action) {
			if a.Kind == ActionAppEvent {
				got = append(got, emitted{node, *a.App})
			}
		}
		b.heartbeat()
		users := rapid.SampledFrom([]string{"ann", "bob", "cat", "dan"})
		rooms := rapid.SampledFrom([]string{"r1", "r2", "r3"})
		pickNode := rapid.SampledFrom(nodes)
		next := map[string]ConnID{}
		pickConn := func(t *rapid.T) (string, ConnID, bool) {
			node := pickNode.Draw(t, "node")
			var ids []ConnID
			for id := range b.hubs[node].conns {
				ids = append(ids, id)
			}
			if len(ids) == 0 {
				return node, 0, false
			}
			slices.Sort(ids)
			return node, rapid.SampledFrom(ids).Draw(t, "conn"), true
		}
		tick := func(d time.Duration) {
			b.now = b.now.Add(d)
			for _, n := range nodes {
				b.step(n, Event{Kind: EventTick})
			}
		}
		for range rapid.IntRange(1, 50).Draw(t, "steps") {
			switch rapid.IntRange(0, 6).Draw(t, "op") {
			case 0, 1:
				node := pickNode.Draw(t, "node")
				next[node]++
				b.step(node, Event{Kind: EventConnect, Conn: next[node], Identity: Identity{User: users.Draw(t, "user")}, Format: proto.JSON})
			case 2:
				if node, id, ok := pickConn(t); ok {
					b.step(node, Event{Kind: EventDisconnect, Conn: id, Code: 1000})
				}
			case 3, 4:
				if node, id, ok := pickConn(t); ok {
					verb := []string{"join", "leave"}[rapid.IntRange(0, 1).Draw(t, "verb")]
					b.step(node, Event{Kind: EventFrame, Conn: id, Payload: fmt.Appendf(nil, `{"type":%q,"room":%q}`, verb, rooms.Draw(t, "room"))})
				}
			case 5:
				for n := rapid.IntRange(0, 8).Draw(t, "deliveries"); n > 0 && len(b.queue) > 0; n-- {
					b.deliverAt(rapid.SampledFrom(b.deliverable()).Draw(t, "next"))
				}
			case 6:
				tick(time.Duration(rapid.IntRange(1, 3).Draw(t, "tick")) * time.Second)
			}
		}
		for len(b.queue) > 0 {
			b.deliverAt(rapid.SampledFrom(b.deliverable()).Draw(t, "next"))
		}
		tick(cfg.OfflineGrace + time.Second)

		all := New(Config{Cluster: true, NodeID: "a"}).peers.(*cluster) // everyone alive
		all.alive["b"], all.alive["c"] = true, true
		ids := map[string]bool{}
		last := map[string]AppEventType{} // per key: the last event
		pair := map[AppEventType]AppEventType{UserOffline: UserOnline, RoomVacated: RoomOccupied, MemberRemoved: MemberAdded}
		for _, e := range got {
			ev := e.ev
			if ids[ev.ID] || ev.ID == "" {
				t.Fatalf("%s: %v: id %q twice or empty", e.node, ev, ev.ID)
			}
			ids[ev.ID] = true
			owner := ev.User
			if ev.Room != "" {
				owner = ev.Room
			}
			if o := all.owner(owner); o != e.node {
				t.Fatalf("%v from %s, not its owner %s", ev, e.node, o)
			}
			key := fmt.Sprint(ev.Type/2, ev.User, ev.Room) // one key for each pair of types
			prev, seen := last[key]
			if opener, closes := pair[ev.Type]; closes && (!seen || prev != opener) || !closes && seen && prev == ev.Type {
				t.Fatalf("%s: %v after %v (seen %v)", e.node, ev, prev, seen)
			}
			last[key] = ev.Type
		}
		// the truth, from the hubs' own local connections
		truth := map[string]bool{}
		for _, n := range nodes {
			for _, c := range b.hubs[n].conns {
				truth[fmt.Sprint(UserOnline/2, c.user.id, "")] = true
				for _, m := range c.rooms {
					truth[fmt.Sprint(RoomOccupied/2, "", m.room.name)] = true
					truth[fmt.Sprint(MemberAdded/2, c.user.id, m.room.name)] = true
				}
			}
		}
		for key, typ := range last {
			_, closes := pair[typ]
			if truth[key] == closes {
				t.Fatalf("%s: the last event is %v, truth %v", key, typ, truth[key])
			}
		}
		for key := range truth {
			if _, ok := last[key]; !ok {
				t.Fatalf("%s holds, no event said so", key)
			}
		}
	})
}
