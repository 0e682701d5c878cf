package core

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// bus stands in for the cluster link (adapters/nats) in memory: it carries every hub's
// ActionCluster to the other hubs as EventCluster, in order, and sequences room chats
// with one counter, as JetStream does. It lets the core's cluster rules be tested without
// NATS, deterministically.
type bus struct {
	t       tb
	cfg     Config
	hubs    map[string]*Hub
	names   []string // the live nodes
	queue   []queued
	seq     uint64
	log     map[string][]ClusterChat // every chat ever sequenced, per room
	dedupe  map[string]uint64        // DedupeID → its offset, as the stream's duplicate window
	history int
	now     time.Time
	print   func(node string, a *Action) // when set, sees every action (transcripts)

	got     map[string][]string // "node/conn" → what it received, rendered
	closes  map[string]string   // "node/conn" → "code reason"
	replies []*AdminReply
}

// queued is one event on its way from one node (or "js", the sequencer) to another.
// Between one sender and one receiver, order is kept, as NATS keeps it.
type queued struct {
	node, from string
	ev         ClusterEvent
}

// tb is what the bus needs of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

func newBus(t tb, cfg Config, names ...string) *bus {
	b := &bus{t: t, cfg: cfg, hubs: map[string]*Hub{}, log: map[string][]ClusterChat{}, dedupe: map[string]uint64{},
		history: cfg.History, now: start, got: map[string][]string{}, closes: map[string]string{}}
	for _, n := range names {
		b.addNode(n)
	}
	return b
}

// addNode starts a hub named node on the bus.
func (b *bus) addNode(node string) {
	c := b.cfg
	c.NodeID, c.Cluster = node, true
	b.hubs[node] = New(c)
	b.names = append(b.names, node)
}

var timestamp = regexp.MustCompile(`,"timestamp":"[^"]*"`)

// step applies ev to node's hub at the bus clock (one millisecond later each time, so
// connection order is well defined) and routes its actions; settle must follow.
func (b *bus) step(node string, ev Event) {
	b.t.Helper()
	b.now = b.now.Add(time.Millisecond)
	ev.Now = b.now
	h := b.hubs[node]
	var out Outbox
	if err := h.Step(ev, &out); err != nil {
		b.t.Fatalf("%s: step %v: %v", node, ev.Kind, err)
	}
	if err := h.Verify(); err != nil {
		b.t.Fatalf("%s: after %v: %v", node, ev.Kind, err)
	}
	for i, a := range out.Actions {
		if b.print != nil {
			b.print(node, &out.Actions[i])
		}
		switch a.Kind {
		case ActionDeliver:
			s, err := renderMessage(a.Msg, proto.JSON)
			if err != nil {
				b.t.Fatal(err)
			}
			s = timestamp.ReplaceAllString(s, "")
			for _, id := range a.Targets {
				key := fmt.Sprintf("%s/%d", node, id)
				b.got[key] = append(b.got[key], s)
			}
		case ActionClose:
			b.closes[fmt.Sprintf("%s/%d", node, a.Conn)] = fmt.Sprintf("%d %s", a.Code, a.Reason)
		case ActionAdminReply:
			cp := *a.Reply
			b.replies = append(b.replies, &cp)
		case ActionCluster:
			b.carry(node, a.Cluster)
		}
	}
	out.Reset()
}

// carry turns one hub's cluster action into the events other hubs see.
func (b *bus) carry(from string, a ClusterAction) {
	others := func(ev ClusterEvent) {
		for _, n := range b.names {
			if n != from {
				b.queue = append(b.queue, queued{n, from, ev})
			}
		}
	}
	switch a := a.(type) {
	case ClusterPublish:
		if first, dup := b.dedupe[a.DedupeID]; dup && a.DedupeID != "" {
			if a.Ref != 0 { // stored once: acked with the first one's offset
				b.queue = append(b.queue, queued{from, "js", RemotePublished{Ref: a.Ref, Offset: first}})
			}
			return
		}
		b.seq++
		if a.DedupeID != "" {
			b.dedupe[a.DedupeID] = b.seq
		}
		b.log[a.Room] = append(b.log[a.Room], ClusterChat{Sender: a.Sender, Content: a.Content, Offset: b.seq, Time: a.Time})
		for _, n := range b.names { // the publisher's own hub too: it delivers the sequenced chat
			b.queue = append(b.queue, queued{n, "js", RemoteChat{Node: from, Room: a.Room, Sender: a.Sender, Content: a.Content, Offset: b.seq, Time: a.Time}})
		}
		if a.Ref != 0 {
			b.queue = append(b.queue, queued{from, "js", RemotePublished{Ref: a.Ref, Offset: b.seq}})
		}
	case ClusterPrivate:
		others(RemotePrivate{Node: from, Sender: a.Sender, To: a.To, Content: a.Content, Time: a.Time})
		if !a.NoCopy && a.Sender != a.To {
			others(RemotePrivate{Node: from, Sender: a.Sender, To: a.To, Copy: true, Content: a.Content, Time: a.Time})
		}
	case ClusterBroadcast:
		others(RemoteBroadcast{Node: from, Sender: a.Sender, Exclude: a.Exclude, Content: a.Content, Time: a.Time})
	case ClusterSystem:
		others(RemoteSystem{Node: from, Room: a.Room, Content: a.Content, Time: a.Time})
	case ClusterKick:
		others(RemoteKick{Node: from, User: a.User})
	case ClusterSeat:
		others(RemoteSeat{Node: from, User: a.User, Room: a.Room, Leave: a.Leave})
	case ClusterConnOpened:
		others(RemoteConn{Node: from, User: a.User, Conn: a.Conn, Order: a.Order, Open: true})
	case ClusterConnClosed:
		others(RemoteConn{Node: from, User: a.User, Conn: a.Conn})
	case ClusterRoomCount:
		others(RemoteRoomPresence{Node: from, Room: a.Room, User: a.User, Count: a.Count, Began: a.Began})
	case ClusterRoomMessage:
		others(RemoteRoomMessage{Node: from, Room: a.Room, Type: a.Type, Sender: a.Sender, Event: a.Event, Content: a.Content, Time: a.Time})
	case ClusterRecover:
		// answered when dequeued, from the log as it is then (History+1 kept, as the stream)
		b.queue = append(b.queue, queued{from, "js", RemoteRecovered{Room: a.Room, Conn: a.Conn, Offset: a.Since}})
	default:
		b.t.Fatalf("%s: unknown cluster action %T", from, a)
	}
}

// settle delivers everything queued, including what the deliveries cause.
func (b *bus) settle() {
	for len(b.queue) > 0 {
		b.deliverAt(0)
	}
}

// deliverable lists the queue positions that may go next: the first of each (sender,
// receiver) pair.
func (b *bus) deliverable() []int {
	var idx []int
	seen := map[[2]string]bool{}
	for i, q := range b.queue {
		k := [2]string{q.from, q.node}
		if !seen[k] {
			seen[k] = true
			idx = append(idx, i)
		}
	}
	return idx
}

// deliverAt delivers the queued event at position i.
func (b *bus) deliverAt(i int) {
	b.t.Helper()
	{
		q := b.queue[i]
		b.queue = slices.Delete(b.queue, i, i+1)
		if rec, ok := q.ev.(RemoteRecovered); ok {
			since := rec.Offset
			var after []ClusterChat
			for _, c := range b.log[rec.Room] {
				if c.Offset > since {
					after = append(after, c)
				}
			}
			if len(after) > b.history {
				rec.Gap, after = true, after[len(after)-b.history:]
			}
			rec.Chats = after
			if n := len(b.log[rec.Room]); n > 0 {
				rec.Offset = max(since, b.log[rec.Room][n-1].Offset)
			}
			q.ev = rec
		}
		b.step(q.node, Event{Kind: EventCluster, Cluster: q.ev})
	}
}

func (b *bus) connect(node string, id ConnID, user string) {
	b.step(node, Event{Kind: EventConnect, Conn: id, Identity: Identity{User: user}, Format: proto.JSON})
	b.settle()
}

func (b *bus) send(node string, id ConnID, payload string) {
	b.step(node, Event{Kind: EventFrame, Conn: id, Payload: []byte(payload)})
	b.settle()
}

func (b *bus) disconnect(node string, id ConnID) {
	b.step(node, Event{Kind: EventDisconnect, Conn: id, Code: 1000})
	b.settle()
}

func (b *bus) admin(node string, req AdminRequest) *AdminReply {
	b.t.Helper()
	n := len(b.replies)
	b.step(node, Event{Kind: EventAdmin, Admin: req})
	b.settle()
	if len(b.replies) != n+1 {
		b.t.Fatalf("admin %v: %d replies", req.Op, len(b.replies)-n)
	}
	return b.replies[n]
}

// take returns and forgets what node/conn received, dropping the connected greeting.
func (b *bus) take(node string, id ConnID) []string {
	key := fmt.Sprintf("%s/%d", node, id)
	got := b.got[key]
	delete(b.got, key)
	out := []string{}
	for _, s := range got {
		if !strings.HasPrefix(s, `{"type":"connected"`) {
			out = append(out, s)
		}
	}
	return out
}

func (b *bus) expect(node string, id ConnID, want ...string) {
	b.t.Helper()
	if want == nil {
		want = []string{}
	}
	if d := cmp.Diff(want, b.take(node, id)); d != "" {
		b.t.Errorf("%s/%d received (-want +got):\n%s", node, id, d)
	}
}

func TestClusterRoomAcrossNodes(t *testing.T) {
	b := newBus(t, defaultConfig(), "a", "b")
	b.connect("a", 1, "ann")
	b.connect("b", 1, "bob")
	b.send("a", 1, `{"type":"join","room":"r"}`)
	b.expect("a", 1, `{"type":"joined","room":"r","epoch":"cluster","offset":0,"recovered":false}`,
		`{"type":"user_joined","room":"r","user_id":"ann","members":["ann"]}`)
	b.send("b", 1, `{"type":"join","room":"r"}`)
	b.expect("b", 1, `{"type":"joined","room":"r","epoch":"cluster","offset":0,"recovered":false}`,
		`{"type":"user_joined","room":"r","user_id":"bob","members":["ann","bob"]}`)
	b.expect("a", 1, `{"type":"user_joined","room":"r","user_id":"bob","members":["ann","bob"]}`)

	b.send("a", 1, `{"type":"chat","room":"r","content":"hi","id":"1"}`)
	b.send("b", 1, `{"type":"chat","room":"r","content":"yo"}`)
	b.expect("a", 1, `{"type":"chat","room":"r","sender":"ann","content":"hi","offset":1}`,
		`{"type":"ack","id":"1","offset":1}`, // after the chat, as on a single node
		`{"type":"chat","room":"r","sender":"bob","content":"yo","offset":2}`)
	b.expect("b", 1, `{"type":"chat","room":"r","sender":"ann","content":"hi","offset":1}`,
		`{"type":"chat","room":"r","sender":"bob","content":"yo","offset":2}`)

	b.send("b", 1, `{"type":"members","room":"r"}`)
	b.send("b", 1, `{"type":"online"}`)
	b.expect("b", 1, `{"type":"members","room":"r","members":["ann","bob"]}`, `{"type":"online","users":["ann","bob"],"total":2}`)

	// a second tab of ann on b is no news; her last tab leaving is
	b.connect("b", 2, "ann")
	b.send("b", 2, `{"type":"join","room":"r"}`)
	b.expect("b", 2, `{"type":"joined","room":"r","epoch":"cluster","offset":2,"recovered":false}`)
	b.expect("b", 1)
	b.expect("a", 1)
	b.disconnect("a", 1)
	b.expect("b", 1)
	b.disconnect("b", 2)
	b.expect("b", 1, `{"type":"user_left","room":"r","user_id":"ann"}`)

	if rep := b.admin("a", AdminRequest{Op: AdminRooms}); !cmp.Equal(rep.Rooms, []RoomInfo{{Name: "r", Members: 1}}) {
		t.Fatalf("rooms on a (bob is on b): %+v", rep.Rooms)
	}
	b.disconnect("b", 1)
	if rep := b.admin("a", AdminRequest{Op: AdminRooms}); len(rep.Rooms) != 0 {
		t.Fatalf("room outlived everyone: %+v", rep.Rooms)
	}
}

func TestClusterPerUserLimitClosesOldestAnywhere(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxPerUser = 2
	b := newBus(t, cfg, "a", "b", "c")
	b.connect("a", 1, "ann")
	b.connect("b", 1, "ann")
	b.connect("c", 1, "ann")
	// each node counts another's connections once it was heard from since ann's newest
	// one: a live node within a heartbeat
	b.heartbeat()
	if d := cmp.Diff(map[string]string{"a/1": "4000 Too many connections"}, b.closes); d != "" {
		t.Fatalf("closes (-want +got):\n%s", d)
	}
	b.connect("a", 2, "ann")
	b.heartbeat()
	if got := b.closes["b/1"]; got != "4000 Too many connections" {
		t.Fatalf("b/1: %q; closes %v", got, b.closes)
	}
	rep := b.admin("c", AdminRequest{Op: AdminStats})
	if rep.Stats.TotalConnections != 2 || rep.Stats.UniqueUsers != 1 || rep.Stats.NodeID != "c" {
		t.Fatalf("stats %+v", rep.Stats)
	}

	cfg.MaxPerUser = 1
	b = newBus(t, cfg, "a", "b")
	b.connect("a", 1, "bob")
	b.connect("b", 7, "bob")
	if got := b.closes["a/1"]; got != "4000 Replaced by new connection" || len(b.closes) != 1 {
		t.Fatalf("closes %v", b.closes)
	}
}

func TestClusterPrivateBroadcastAndKick(t *testing.T) {
	b := newBus(t, defaultConfig(), "a", "b", "c")
	b.connect("a", 1, "ann")
	b.connect("a", 2, "ann")
	b.connect("b", 1, "bob")
	b.connect("c", 1, "ann")
	b.send("a", 1, `{"type":"private","to":"bob","content":"psst"}`)
	want := `{"type":"private","sender":"ann","to":"bob","content":"psst"}`
	b.expect("b", 1, want)
	b.expect("a", 2, want) // the sender's other tabs, wherever they are
	b.expect("c", 1, want)
	b.expect("a", 1)
	b.send("b", 1, `{"type":"private","to":"nobody","content":"x","id":"9"}`)
	b.expect("b", 1, `{"type":"error","code":"user_offline","message":"user is not online","id":"9"}`)

	b.send("b", 1, `{"type":"broadcast","content":"all"}`)
	for _, k := range []struct {
		n  string
		id ConnID
	}{{"a", 1}, {"a", 2}, {"b", 1}, {"c", 1}} {
		b.expect(k.n, k.id, `{"type":"broadcast","sender":"bob","content":"all"}`)
	}
	if rep := b.admin("b", AdminRequest{Op: AdminSendUser, User: "ann", Content: "hello"}); rep.Delivered != 3 {
		t.Fatalf("send delivered %d", rep.Delivered)
	}
	b.expect("c", 1, `{"type":"private","sender":"server","to":"ann","content":"hello"}`)
	b.expect("a", 1, `{"type":"private","sender":"server","to":"ann","content":"hello"}`)
	b.take("a", 2)
	if rep := b.admin("b", AdminRequest{Op: AdminBroadcast, Content: "x", Exclude: "ann"}); rep.Delivered != 1 {
		t.Fatalf("broadcast delivered %d", rep.Delivered)
	}
	b.expect("a", 1)
	if rep := b.admin("b", AdminRequest{Op: AdminDisconnect, User: "ann"}); rep.Closed != 3 {
		t.Fatalf("kick closed %d", rep.Closed)
	}
	if d := cmp.Diff(map[string]string{"a/1": "4009 Kicked", "a/2": "4009 Kicked", "c/1": "4009 Kicked"}, b.closes); d != "" {
		t.Fatalf("closes (-want +got):\n%s", d)
	}
	if rep := b.admin("b", AdminRequest{Op: AdminUsers}); !slices.Equal(rep.Users, []string{"bob"}) {
		t.Fatalf("users %v", rep.Users)
	}
}

func TestClusterRecoveryOnAnotherNode(t *testing.T) {
	cfg := defaultConfig()
	cfg.History = 3
	b := newBus(t, cfg, "a", "b")
	b.connect("a", 1, "ann")
	b.send("a", 1, `{"type":"join","room":"r"}`)
	for i := 1; i <= 4; i++ {
		b.send("a", 1, fmt.Sprintf(`{"type":"chat","room":"r","content":"%d"}`, i))
	}
	b.take("a", 1)
	// bob comes back on b with offset 2: chats 3 and 4, no gap
	b.connect("b", 1, "bob")
	b.send("b", 1, `{"type":"join","room":"r","since":2}`)
	// joined comes first (§10.1), the joiner's own user_joined after its replay
	b.expect("b", 1, `{"type":"joined","room":"r","epoch":"cluster","offset":4,"recovered":true}`,
		`{"type":"chat","room":"r","sender":"ann","content":"3","offset":3}`,
		`{"type":"chat","room":"r","sender":"ann","content":"4","offset":4}`,
		`{"type":"user_joined","room":"r","user_id":"bob","members":["ann","bob"]}`)
	// cat asks from 0: chat 1 is beyond the history
	b.connect("b", 2, "cat")
	b.send("b", 2, `{"type":"join","room":"r","since":0}`)
	got := b.take("b", 2)
	if len(got) != 6 || !strings.Contains(got[0], `"recovered":false`) || !strings.Contains(got[1], `"code":"history_gap"`) || !strings.Contains(got[2], `"offset":2`) || !strings.Contains(got[5], `"user_joined"`) {
		t.Fatalf("cat: %q", got)
	}
	b.take("a", 1)
	b.take("b", 1)

	// a chat sequenced while dan's recovery is out reaches dan once, in order
	b.connect("b", 3, "dan")
	b.step("b", Event{Kind: EventFrame, Conn: 3, Payload: []byte(`{"type":"join","room":"r","since":4}`)})
	b.step("a", Event{Kind: EventFrame, Conn: 1, Payload: []byte(`{"type":"chat","room":"r","content":"5"}`)})
	b.settle()
	b.send("a", 1, `{"type":"chat","room":"r","content":"6"}`)
	b.expect("b", 3, `{"type":"joined","room":"r","epoch":"cluster","offset":5,"recovered":true}`,
		`{"type":"chat","room":"r","sender":"ann","content":"5","offset":5}`,
		`{"type":"user_joined","room":"r","user_id":"dan","members":["ann","bob","cat","dan"]}`,
		`{"type":"chat","room":"r","sender":"ann","content":"6","offset":6}`)
	b.expect("b", 1, `{"type":"user_joined","room":"r","user_id":"dan","members":["ann","bob","cat","dan"]}`,
		`{"type":"chat","room":"r","sender":"ann","content":"5","offset":5}`,
		`{"type":"chat","room":"r","sender":"ann","content":"6","offset":6}`)
}

func TestClusterAdminPublishWaitsForItsOffset(t *testing.T) {
	b := newBus(t, defaultConfig(), "a", "b")
	b.connect("b", 1, "bob")
	b.connect("b", 2, "bob")
	b.send("b", 1, `{"type":"join","room":"r"}`)
	b.send("b", 2, `{"type":"join","room":"r"}`)
	b.take("b", 1)
	b.take("b", 2)
	rep := b.admin("a", AdminRequest{Op: AdminPublish, Room: "r", Content: "news", Ref: 5})
	if rep.Status != 200 || rep.Delivered != 2 || rep.Offset != 1 || rep.Ref != 5 {
		t.Fatalf("publish reply %+v", rep)
	}
	b.expect("b", 1, `{"type":"chat","room":"r","sender":"server","content":"news","offset":1}`)
	if rep := b.admin("a", AdminRequest{Op: AdminPublish, Room: "nowhere", Content: "x", Ref: 6}); rep.Delivered != 0 || rep.Offset != 0 {
		t.Fatalf("publish to no room %+v", rep)
	}
	if rep := b.admin("a", AdminRequest{Op: AdminSystem, Room: "r", Content: "sys"}); rep.Delivered != 2 {
		t.Fatalf("system delivered %d", rep.Delivered)
	}
	b.expect("b", 2, `{"type":"chat","room":"r","sender":"server","content":"news","offset":1}`, `{"type":"system","content":"sys","room":"r"}`)
}

func TestClusterNodeGoneAnnouncesLeaves(t *testing.T) {
	b := newBus(t, defaultConfig(), "a", "b")
	b.connect("a", 1, "ann")
	b.connect("b", 1, "bob")
	b.send("a", 1, `{"type":"join","room":"r"}`)
	b.send("b", 1, `{"type":"join","room":"r"}`)
	b.take("a", 1)
	// the link reports b's presence gone, as it does for a node that died
	for _, ev := range []ClusterEvent{
		RemoteRoomPresence{Node: "b", Room: "r", User: "bob"},
		RemoteConn{Node: "b", User: "bob", Conn: 1},
	} {
		b.step("a", Event{Kind: EventCluster, Cluster: ev})
	}
	b.expect("a", 1, `{"type":"user_left","room":"r","user_id":"bob"}`)
	if rep := b.admin("a", AdminRequest{Op: AdminStats}); rep.Stats.TotalConnections != 1 || rep.Stats.UniqueUsers != 1 {
		t.Fatalf("stats %+v", rep.Stats)
	}
}

// Server-side membership (PROTOCOL.md §8.3) reaches the user's connections on every node.
func TestClusterServerSideMembership(t *testing.T) {
	cfg := defaultConfig()
	cfg.Namespaces = map[string]Namespace{"vault": {Join: JoinNone}}
	b := newBus(t, cfg, "a", "b")
	b.connect("a", 1, "ann")
	b.connect("b", 1, "ann")
	b.connect("b", 2, "bob")
	if rep := b.admin("b", AdminRequest{Op: AdminJoinRoom, User: "ann", Room: "vault:1"}); rep.Status != 200 || rep.Joined != 2 {
		t.Fatalf("join: %+v", rep)
	}
	b.take("a", 1)
	b.take("b", 1)
	b.send("a", 1, `{"type":"chat","room":"vault:1","content":"here"}`)
	want := `{"type":"chat","room":"vault:1","sender":"ann","content":"here","offset":1}`
	b.expect("a", 1, want)
	b.expect("b", 1, want)
	b.expect("b", 2)
	if rep := b.admin("a", AdminRequest{Op: AdminJoinRoom, User: "nobody", Room: "vault:1"}); rep.Status != 404 {
		t.Fatalf("join of nobody: %+v", rep)
	}
	if rep := b.admin("a", AdminRequest{Op: AdminLeaveRoom, User: "ann", Room: "vault:1"}); rep.Left != 2 {
		t.Fatalf("leave: %+v", rep)
	}
	left := `{"type":"left","room":"vault:1","reason":"removed"}`
	b.expect("a", 1, left)
	b.expect("b", 1, left)
	if rep := b.admin("b", AdminRequest{Op: AdminRooms}); rep.Total != 0 {
		t.Fatalf("rooms after: %+v", rep.Rooms)
	}
}

// heartbeat tells every hub that every other node is alive, as their heartbeats do.
func (b *bus) heartbeat() {
	for _, from := range b.names {
		for _, n := range b.names {
			if n != from {
				b.queue = append(b.queue, queued{n, from, RemoteAlive{Node: from}})
			}
		}
	}
	b.settle()
}

// A node dies with a user's tab on it; the tab reconnects to another node before the
// dead one expires. The dead node's connection is not counted against the limit (it is
// never heard from again), so the user's live older tab stays; a live node's is counted
// from its next heartbeat on.
func TestClusterDeadNodeConnsDoNotCountAgainstTheLimit(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxPerUser = 2
	b := newBus(t, cfg, "a", "b")
	b.connect("a", 1, "dan")
	b.connect("b", 1, "dan")
	b.heartbeat()
	// b dies (it says nothing more); dan's tab there comes back on a
	b.connect("a", 2, "dan")
	if len(b.closes) != 0 {
		t.Fatalf("closes %v: a dead node's connection counted", b.closes)
	}
	// b expires: its connections close on a, and nothing else happens
	b.step("a", Event{Kind: EventCluster, Cluster: RemoteConn{Node: "b", User: "dan", Conn: 1}})
	b.settle()
	if rep := b.admin("a", AdminRequest{Op: AdminStats}); rep.Stats.TotalConnections != 2 || len(b.closes) != 0 {
		t.Fatalf("stats %+v, closes %v", rep.Stats, b.closes)
	}
	// a third local tab is over the limit at once: local connections always count (b,
	// dead, hears nothing of it in truth: only a's closes matter)
	b.connect("a", 3, "dan")
	delete(b.closes, "b/1")
	if d := cmp.Diff(map[string]string{"a/1": "4000 Too many connections"}, b.closes); d != "" {
		t.Fatalf("closes (-want +got):\n%s", d)
	}

	// the same with b alive: its heartbeat makes its connection count, the oldest goes
	b = newBus(t, cfg, "a", "b")
	b.connect("a", 1, "eve")
	b.connect("b", 1, "eve")
	b.heartbeat()
	b.connect("a", 2, "eve")
	if len(b.closes) != 0 {
		t.Fatalf("closes %v before b was heard from", b.closes)
	}
	b.heartbeat()
	if d := cmp.Diff(map[string]string{"a/1": "4000 Too many connections"}, b.closes); d != "" {
		t.Fatalf("closes (-want +got):\n%s", d)
	}
}

// epoch tells every hub that the cluster stream is epoch; the bus's sequence restarts
// with it, as a stream created again numbers from 1.
func (b *bus) epoch(epoch string) {
	b.seq, b.log, b.dedupe = 0, map[string][]ClusterChat{}, map[string]uint64{}
	for _, n := range b.names {
		b.step(n, Event{Kind: EventCluster, Cluster: RemoteEpoch{Epoch: epoch}})
	}
	b.settle()
}

func TestClusterNewEpochRestartsOffsetsAndTellsMembers(t *testing.T) {
	b := newBus(t, defaultConfig(), "a", "b")
	b.epoch("e1") // the first epoch is no news
	b.connect("a", 1, "ann")
	b.connect("b", 1, "bob")
	b.send("a", 1, `{"type":"join","room":"r"}`)
	b.send("b", 1, `{"type":"join","room":"r"}`)
	b.send("a", 1, `{"type":"chat","room":"r","content":"1"}`)
	b.send("a", 1, `{"type":"chat","room":"r","content":"2"}`)
	b.expect("a", 1, `{"type":"joined","room":"r","epoch":"e1","offset":0,"recovered":false}`,
		`{"type":"user_joined","room":"r","user_id":"ann","members":["ann"]}`,
		`{"type":"user_joined","room":"r","user_id":"bob","members":["ann","bob"]}`,
		`{"type":"chat","room":"r","sender":"ann","content":"1","offset":1}`,
		`{"type":"chat","room":"r","sender":"ann","content":"2","offset":2}`)
	b.take("b", 1)

	// the stream was lost: offsets restart, and the members are told before any new chat
	b.epoch("e2")
	b.send("b", 1, `{"type":"chat","room":"r","content":"new"}`)
	for _, node := range []string{"a", "b"} {
		b.expect(node, 1, `{"type":"error","code":"history_gap","message":"history no longer reaches back to since: some messages are lost","room":"r"}`,
			`{"type":"chat","room":"r","sender":"bob","content":"new","offset":1}`)
	}
	// a new tab learns the new epoch and offset, not the old epoch's last offset
	b.connect("a", 2, "cat")
	b.send("a", 2, `{"type":"join","room":"r"}`)
	b.expect("a", 2, `{"type":"joined","room":"r","epoch":"e2","offset":1,"recovered":false}`,
		`{"type":"user_joined","room":"r","user_id":"cat","members":["ann","bob","cat"]}`)
	// a tab coming back with a position of the old epoch is told it is unknown
	b.connect("b", 2, "dan")
	b.send("b", 2, `{"type":"join","room":"r","since":2,"epoch":"e1"}`)
	b.expect("b", 2, `{"type":"joined","room":"r","epoch":"e2","offset":1,"recovered":false}`,
		`{"type":"error","code":"history_gap","message":"history no longer reaches back to since: some messages are lost","room":"r"}`,
		`{"type":"chat","room":"r","sender":"bob","content":"new","offset":1}`,
		`{"type":"user_joined","room":"r","user_id":"dan","members":["ann","bob","cat","dan"]}`)
	// the same epoch again is no news
	b.take("a", 1)
	b.epoch("e2")
	b.expect("a", 1)
}

// What another node sends is input: a room message of a type that does not exist is
// dropped, never encoded.
func TestClusterUnknownRoomMessageTypeIsDropped(t *testing.T) {
	b := newBus(t, defaultConfig(), "a")
	b.connect("a", 1, "ann")
	b.send("a", 1, `{"type":"join","room":"r"}`)
	b.take("a", 1)
	b.step("a", Event{Kind: EventCluster, Cluster: RemoteRoomMessage{Node: "b", Room: "r", Type: proto.MessageType(proto.NumMessageTypes), Sender: "bob"}})
	b.expect("a", 1)
	b.step("a", Event{Kind: EventCluster, Cluster: RemoteRoomMessage{Node: "b", Room: "r", Type: proto.MsgEvent, Sender: "bob", Event: "typing"}})
	b.expect("a", 1, `{"type":"event","room":"r","sender":"bob","event":"typing","content":""}`)
}
