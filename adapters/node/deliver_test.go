package node

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// shardCounts are the delivery paths every test here runs: all on the owner, and a
// fork-join over four shards (rounds of inlineFanout recipients or more).
var shardCounts = []int{1, 4}

// fanoutMembers is enough members that one chat to a room is a fanned-out round.
const fanoutMembers = inlineFanout + 44

// joinAll joins every connection to rooms and waits until the hub counts them all.
func joinAll(t *testing.T, n *Node, conns []*Conn, rooms ...string) {
	t.Helper()
	for _, c := range conns {
		for _, r := range rooms {
			c.Receive([]byte(`{"type":"join","room":"` + r + `"}`))
		}
	}
	waitFor(t, "every member in every room", func() bool {
		reply, err := n.Admin(context.Background(), core.AdminRequest{Op: core.AdminRooms})
		if err != nil || len(reply.Rooms) != len(rooms) {
			return false
		}
		for _, r := range reply.Rooms {
			if r.Members != len(conns) {
				return false
			}
		}
		return true
	})
}

type chatFrame struct {
	Type    string `json:"type"`
	Room    string `json:"room"`
	Content string `json:"content"`
	Offset  uint64 `json:"offset"`
	ID      string `json:"id"`
	Code    string `json:"code"`
}

// decoded is what l was sent: its chats and the messages with an id, and its close
// frame as type "close".
func decoded(t *testing.T, l *testLink) []chatFrame {
	t.Helper()
	var out []chatFrame
	for _, f := range l.frames(t) {
		var m chatFrame
		switch f.op {
		case ws.OpClose:
			m.Type = "close"
		case ws.OpText:
			if !strings.Contains(f.payload[:min(len(f.payload), 40)], `"type":"chat"`) && !strings.Contains(f.payload, `"id"`) {
				continue // presence and the rest: not looked at, not decoded
			}
			if err := json.Unmarshal([]byte(f.payload), &m); err != nil {
				t.Fatalf("bad frame %q: %v", f.payload, err)
			}
		default:
			continue
		}
		out = append(out, m)
	}
	return out
}

// TestShardedFanoutEveryMessageOnceInOrder: many connections in two rooms, three senders
// chatting at once; one member stops reading. Every other member gets every chat exactly
// once, each room's offsets strictly increasing (the hub's order), and no close; the one
// that stopped is closed 4008 "Slow consumer" and the others see it leave.
func TestShardedFanoutEveryMessageOnceInOrder(t *testing.T) {
	for _, shards := range shardCounts {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			const limit = 8 << 10
			n := New(Options{DeliveryShards: shards, SendQueueBytes: limit, PingInterval: -1, IdleTimeout: -1})
			defer shutdown(t, n)
			conns := make([]*Conn, fanoutMembers)
			links := make([]*testLink, fanoutMembers)
			for i := range conns {
				conns[i], links[i] = attach(t, n, fmt.Sprintf("u%d", i), proto.JSON)
			}
			joinAll(t, n, conns, "a", "b")
			slow, ls := conns[7], links[7]
			ls.mu.Lock()
			ls.stalled = true
			ls.mu.Unlock()

			const senders, perSender = 3, 40
			pad := strings.Repeat("x", 150)
			var wg sync.WaitGroup
			for s := 0; s < senders; s++ {
				wg.Add(1)
				go func(c *Conn) {
					defer wg.Done()
					for j := 0; j < perSender; j++ {
						room := "ab"[j%2 : j%2+1]
						c.Receive(fmt.Appendf(nil, `{"type":"chat","room":%q,"content":"%d-%d-%s"}`, room, c.ID, j, pad))
					}
				}(conns[len(conns)-1-s])
			}
			wg.Wait()
			const total = senders * perSender
			got := func(l *testLink) int { l.mu.Lock(); defer l.mu.Unlock(); return strings.Count(l.wire.String(), pad) }
			for i, l := range links {
				if l != ls {
					waitFor(t, fmt.Sprintf("every chat at member %d", i), func() bool { return got(l) >= total })
				}
			}
			waitFor(t, "the slow consumer closed", func() bool { return n.Stats().SlowConsumers == 1 })
			if code := slow.CloseCode(); code != core.CloseSlowConsumer {
				t.Fatalf("slow member closed %d", code)
			}
			// The reader comes back (within the close grace): what it finds ends with 4008.
			ls.mu.Lock()
			ls.stalled = false
			ls.mu.Unlock()
			ls.Wake()
			if code, reason, ok := closeOf(t, ls); !ok || code != core.CloseSlowConsumer || reason != core.ReasonSlowConsumer {
				t.Fatalf("slow member's close %d %q %v", code, reason, ok)
			}
			for i, l := range links {
				if l == ls {
					continue
				}
				seen := map[string]bool{}
				last := map[string]uint64{}
				for _, m := range decoded(t, l) {
					switch m.Type {
					case "close":
						t.Fatalf("member %d closed", i)
					case "chat":
						if seen[m.Content] {
							t.Fatalf("member %d got %q twice", i, m.Content[:8])
						}
						seen[m.Content] = true
						if m.Offset <= last[m.Room] {
							t.Fatalf("member %d: room %s offset %d after %d", i, m.Room, m.Offset, last[m.Room])
						}
						last[m.Room] = m.Offset
					}
				}
				if len(seen) != total {
					t.Fatalf("member %d got %d distinct chats, want %d", i, len(seen), total)
				}
			}
			if peak := n.Stats().PeakConnQueue; peak > limit {
				t.Fatalf("a connection queued %d bytes, limit %d", peak, limit)
			}
			waitFor(t, "user_left for the slow member", func() bool { return hasFrame(t, links[0], `"type":"user_left"`) })
			waitFor(t, "nothing left queued", func() bool { return n.Stats().QueuedBytes == 0 })
		})
	}
}

// gateMetrics holds the owner goroutine in Received while gate is armed, so that what is
// posted meanwhile arrives in the owner's next round all at once.
type gateMetrics struct {
	nopMetrics
	armed   chan struct{}
	release chan struct{}
}

func (m *gateMetrics) Received() {
	select {
	case <-m.armed:
		<-m.release
	default:
	}
}

// TestShardedCloseAfterDeliveries: in one round, a member's failed request (error), its
// chat to a room of hundreds (ack, and the chat to everyone) and then an admin disconnect
// of its user. The close frame comes after the error and the ack, never before them.
func TestShardedCloseAfterDeliveries(t *testing.T) {
	for _, shards := range shardCounts {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			gate := &gateMetrics{armed: make(chan struct{}, 1), release: make(chan struct{})}
			n := New(Options{DeliveryShards: shards, Metrics: gate, PingInterval: -1, IdleTimeout: -1})
			defer shutdown(t, n)
			conns := make([]*Conn, fanoutMembers)
			links := make([]*testLink, fanoutMembers)
			for i := range conns {
				conns[i], links[i] = attach(t, n, fmt.Sprintf("u%d", i), proto.JSON)
			}
			joinAll(t, n, conns, "a")
			x, lx := conns[3], links[3]

			gate.armed <- struct{}{}
			x.Receive([]byte(`{"type":"chat","room":"a","content":"first"}`)) // holds the owner
			waitFor(t, "the owner held", func() bool { return len(gate.armed) == 0 })
			x.Receive([]byte(`{"type":"nope","id":"x0"}`))
			x.Receive([]byte(`{"type":"chat","room":"a","content":"last words","id":"x1"}`))
			kicked := make(chan error, 1)
			go func() {
				_, err := n.Admin(context.Background(), core.AdminRequest{Op: core.AdminDisconnect, User: "u3"})
				kicked <- err
			}()
			waitFor(t, "one batch posted", func() bool {
				n.inbox.mu.Lock()
				defer n.inbox.mu.Unlock()
				return len(n.inbox.events) == 3
			})
			close(gate.release)
			if err := <-kicked; err != nil {
				t.Fatal(err)
			}
			waitFor(t, "u3 finished", lx.isFinished)
			var order []string
			for _, m := range decoded(t, lx) {
				switch {
				case m.Type == "error" && m.ID == "x0", m.Type == "ack" && m.ID == "x1", m.Type == "close":
					order = append(order, m.Type)
				case m.Type == "chat" && m.Content == "last words":
					order = append(order, "chat")
				}
			}
			if want := "error chat ack close"; strings.Join(order, " ") != want && strings.Join(order, " ") != "error ack chat close" {
				t.Fatalf("u3 got %v, want %s", order, want)
			}
			if code, reason, _ := closeOf(t, lx); code != core.CloseKicked || reason != core.ReasonKicked {
				t.Fatalf("u3 closed %d %q", code, reason)
			}
			for i, l := range links {
				if l != lx {
					waitFor(t, fmt.Sprintf("the last words at member %d", i), func() bool { return hasFrame(t, l, `"content":"last words"`) })
				}
			}
		})
	}
}
