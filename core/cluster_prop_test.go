package core

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-ws/switchboard/core/proto"
	"pgregory.net/rapid"
)

var chatOffset = regexp.MustCompile(`^\{"type":"chat","room":"([^"]*)".*"offset":(\d+)\}$`)

var joinedRoom = regexp.MustCompile(`^\{"type":"joined","room":"([^"]*)"`)

// TestClusterConverges runs random client activity on three hubs joined by the bus, with
// cluster events delivered in random order (each sender's order to each receiver kept,
// as NATS keeps it, and the sequencer's order the same for every hub). Every hub keeps
// its invariants after every step (Verify); once everything is delivered, every hub
// agrees with the truth: who is online, who is in which room, which rooms exist, which
// connections other nodes hold; no user holds more connections than the limit (once
// every node's heartbeat came); and every
// connection saw each room's chats with strictly increasing offsets, recovered ones
// included (no duplicate, no reordering).
func TestClusterConverges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := defaultConfig()
		cfg.MaxPerUser = rapid.IntRange(1, 3).Draw(t, "max-per-user")
		cfg.History = rapid.IntRange(0, 4).Draw(t, "history")
		cfg.Rate, cfg.Burst = 0, 0
		nodes := []string{"a", "b", "c"}
		b := newBus(t, cfg, nodes...)
		users := rapid.SampledFrom([]string{"ann", "bob", "cat"})
		rooms := rapid.SampledFrom([]string{"r1", "r2"})
		pickNode := rapid.SampledFrom(nodes)
		next := map[string]ConnID{}
		joinedOnce := map[string]bool{} // "node/conn/room": a join with since only the first time

		live := func(node string) []ConnID { // the hub's connections, in a fixed order
			var ids []ConnID
			for id := range b.hubs[node].conns {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			return ids
		}
		pickConn := func(t *rapid.T) (string, ConnID, bool) {
			node := pickNode.Draw(t, "node")
			ids := live(node)
			if len(ids) == 0 {
				return node, 0, false
			}
			return node, rapid.SampledFrom(ids).Draw(t, "conn"), true
		}

		steps := rapid.IntRange(1, 40).Draw(t, "steps")
		for range steps {
			switch rapid.IntRange(0, 6).Draw(t, "op") {
			case 0, 1:
				node := pickNode.Draw(t, "node")
				next[node]++
				b.step(node, Event{Kind: EventConnect, Conn: next[node], Identity: Identity{User: users.Draw(t, "user")}, Format: proto.JSON})
			case 2:
				if node, id, ok := pickConn(t); ok {
					b.step(node, Event{Kind: EventDisconnect, Conn: id, Code: 1000})
				}
			case 3:
				if node, id, ok := pickConn(t); ok {
					room := rooms.Draw(t, "room")
					key := fmt.Sprintf("%s/%d/%s", node, id, room)
					if !joinedOnce[key] && rapid.Bool().Draw(t, "since") {
						since := rapid.Uint64Range(0, b.seq).Draw(t, "since-offset")
						b.step(node, Event{Kind: EventFrame, Conn: id, Payload: fmt.Appendf(nil, `{"type":"join","room":%q,"since":%d}`, room, since)})
					} else {
						b.step(node, Event{Kind: EventFrame, Conn: id, Payload: fmt.Appendf(nil, `{"type":"join","room":%q}`, room)})
					}
					joinedOnce[key] = true
				}
			case 4:
				if node, id, ok := pickConn(t); ok {
					b.step(node, Event{Kind: EventFrame, Conn: id, Payload: fmt.Appendf(nil, `{"type":"leave","room":%q}`, rooms.Draw(t, "room"))})
				}
			case 5:
				if node, id, ok := pickConn(t); ok {
					b.step(node, Event{Kind: EventFrame, Conn: id, Payload: fmt.Appendf(nil, `{"type":"chat","room":%q,"content":"x","id":"c"}`, rooms.Draw(t, "room"))})
				}
			case 6: // let some of the cluster's traffic through, in a random fair order
				for n := rapid.IntRange(0, 8).Draw(t, "deliveries"); n > 0 && len(b.queue) > 0; n-- {
					idx := b.deliverable()
					b.deliverAt(rapid.SampledFrom(idx).Draw(t, "next"))
				}
			}
		}
		for len(b.queue) > 0 {
			idx := b.deliverable()
			b.deliverAt(rapid.SampledFrom(idx).Draw(t, "next"))
		}
		// every node's heartbeat: the per-user limit counts a node's connections once it
		// was heard from after the user's newest one
		b.heartbeat()

		// the truth, from the hubs' own local connections
		online := map[string]int{}
		inRoom := map[string]map[string]bool{}
		localConns := map[string]map[nodeConn]bool{} // per node: every connection elsewhere
		for _, n := range nodes {
			localConns[n] = map[nodeConn]bool{}
		}
		for _, n := range nodes {
			for id, c := range b.hubs[n].conns {
				online[c.user.id]++
				for _, m := range c.rooms {
					if inRoom[m.room.name] == nil {
						inRoom[m.room.name] = map[string]bool{}
					}
					inRoom[m.room.name][c.user.id] = true
				}
				for _, other := range nodes {
					if other != n {
						localConns[other][nodeConn{n, id}] = true
					}
				}
			}
		}
		wantOnline := []string{}
		for u, n := range online {
			wantOnline = append(wantOnline, u)
			if n > cfg.MaxPerUser {
				t.Fatalf("%s holds %d connections over the limit %d", u, n, cfg.MaxPerUser)
			}
		}
		slices.Sort(wantOnline)
		for _, n := range nodes {
			h := b.hubs[n]
			if got := append([]string{}, h.sortedUsers()...); !slices.Equal(got, wantOnline) {
				t.Fatalf("%s: online %v, truth %v", n, got, wantOnline)
			}
			for _, name := range []string{"r1", "r2"} {
				want := []string{}
				for u := range inRoom[name] {
					want = append(want, u)
				}
				slices.Sort(want)
				r := h.rooms[name]
				if r == nil {
					if len(want) > 0 {
						t.Fatalf("%s: no room %s, truth %v", n, name, want)
					}
					continue
				}
				if got := r.appendUsers([]string{}); !slices.Equal(got, want) {
					t.Fatalf("%s: %s members %v, truth %v", n, name, got, want)
				}
			}
			got := map[nodeConn]bool{}
			for k := range h.peers.(*cluster).remotes {
				got[k] = true
			}
			if d := cmp.Diff(localConns[n], got, cmp.AllowUnexported(nodeConn{})); d != "" {
				t.Fatalf("%s: remote connections (-truth +view):\n%s", n, d)
			}
		}
		// offsets per (connection, room) strictly increase within each membership: a
		// connection that left and joined again without since may get, live, a chat it saw
		// in its earlier membership (the cluster's delivery of it was still on its way)
		for key, frames := range b.got {
			last := map[string]uint64{}
			for _, f := range frames {
				if j := joinedRoom.FindStringSubmatch(f); j != nil {
					delete(last, j[1])
					continue
				}
				m := chatOffset.FindStringSubmatch(f)
				if m == nil {
					continue
				}
				off, _ := strconv.ParseUint(m[2], 10, 64)
				if off <= last[m[1]] {
					t.Fatalf("%s: %s offset %d after %d\n%s", key, m[1], off, last[m[1]], strings.Join(frames, "\n"))
				}
				last[m[1]] = off
			}
		}
	})
}
