package natsbroker

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/core"
)

// Recovery in a cluster (PROTOCOL.md §10.2, §10.4): what clients see when NATS restarts,
// loses its store, or stays away for longer than the history, seen through real
// WebSocket clients of real nodes.

// gather collects what c receives until enough says so or the time is up (no failure:
// the caller reports what is missing, with counts).
func (c *client) gather(within time.Duration, enough func([]map[string]any) bool) []map[string]any {
	var got []map[string]any
	deadline := time.After(within)
	for !enough(got) {
		select {
		case m := <-c.in:
			got = append(got, m)
		case <-c.done:
			return got
		case <-deadline:
			return got
		}
	}
	return got
}

func ofType(got []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, m := range got {
		if m["type"] == typ {
			out = append(out, m)
		}
	}
	return out
}

func firstOf(got []map[string]any, types ...string) map[string]any {
	for _, m := range got {
		if slices.Contains(types, m["type"].(string)) {
			return m
		}
	}
	return nil
}

func countType(typ string, n int) func([]map[string]any) bool {
	return func(got []map[string]any) bool { return len(ofType(got, typ)) >= n }
}

func waitLinks(t *testing.T, degraded bool, nodes ...*clusterNode) {
	t.Helper()
	for _, cn := range nodes {
		deadline := time.Now().Add(waitLong)
		for cn.link.Degraded() != degraded {
			if time.Now().After(deadline) {
				t.Fatalf("%s: degraded %v, want %v", cn.name, cn.link.Degraded(), degraded)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// joinEpoch joins room and returns the epoch its joined frame names.
func (c *client) joinEpoch(room string) string {
	c.t.Helper()
	c.send(`{"type":"join","room":%q,"id":"j"}`, room)
	m := c.next("joined", "user_joined")
	c.next("ack", "user_joined")
	return m["epoch"].(string)
}

// senderOrder checks that chats keep, for each sender, the order of their content's
// number (content "<sender>-<n>"), and that offsets grow.
func senderOrder(t *testing.T, who string, chats []map[string]any) {
	t.Helper()
	next := map[string]int{}
	last := 0.0
	for _, m := range chats {
		var n int
		var sender string
		if _, err := fmt.Sscanf(m["content"].(string), "%s %d", &sender, &n); err != nil {
			t.Fatalf("%s: content %q", who, m["content"])
		}
		if n != next[sender] {
			t.Fatalf("%s: %s's chat %d where %d was due (order %v)", who, sender, n, next[sender], contentsOf(chats))
		}
		next[sender]++
		if off := m["offset"].(float64); off <= last {
			t.Fatalf("%s: offset %v after %v", who, off, last)
		} else {
			last = off
		}
	}
}

func contentsOf(ms []map[string]any) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprint(m["content"]))
	}
	return out
}

// NATS comes back with an empty store: the stream is created again and numbers from 1.
// The nodes take that as a new epoch: members are told (history_gap), every chat acked
// after it is delivered, and a client coming back with a position of the old epoch learns
// that it is unknown. Before epochs came from the stream, 0 of the 20 chats were delivered
// (their offsets were at or below what the nodes had delivered before).
func TestClusterNATSRestartOnAnEmptyStoreIsANewEpoch(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, defaultCore(), "n0", "n1")
	ann, bob := dial(t, nodes[0], "ann"), dial(t, nodes[1], "bob")
	epoch := ann.joinEpoch("r")
	if e := bob.joinEpoch("r"); e != epoch || epoch == "cluster" {
		t.Fatalf("epochs %q and %q: want the stream's, the same on both nodes", epoch, e)
	}
	ann.waitMembers("r", "ann", "bob")
	bob.waitMembers("r", "ann", "bob")
	var lastOld float64
	for i := range 5 {
		ann.send(`{"type":"chat","room":"r","content":"old %d"}`, i)
	}
	for _, c := range []*client{ann, bob} {
		for range 5 {
			lastOld = c.next("chat", "user_joined")["offset"].(float64)
		}
	}

	ns.stop()
	waitLinks(t, true, nodes...)
	ns.wipe()
	ns.start()
	waitLinks(t, false, nodes...)

	const n = 20
	for i := range n {
		c := []*client{ann, bob}[i%2]
		c.send(`{"type":"chat","room":"r","content":"%s %d","id":"c%d"}`, c.name, i/2, i)
	}
	for _, c := range []*client{ann, bob} {
		got := c.gather(5*time.Second, func(got []map[string]any) bool {
			return len(ofType(got, "chat")) >= n && len(ofType(got, "ack")) >= n/2
		})
		chats, acks := ofType(got, "chat"), ofType(got, "ack")
		if len(chats) != n || len(acks) != n/2 {
			t.Fatalf("%s: %d of %d chats delivered, %d of %d acked (got %v)", c.name, len(chats), n, len(acks), n/2, got)
		}
		if first := firstOf(got, "chat", "error"); first["code"] != "history_gap" || first["room"] != "r" {
			t.Fatalf("%s: first %v, want history_gap: the offsets restart", c.name, first)
		}
		senderOrder(t, c.name, chats)
		if chats[0]["offset"].(float64) != 1 {
			t.Fatalf("%s: the new epoch's first chat has offset %v", c.name, chats[0]["offset"])
		}
		for _, a := range acks {
			if a["offset"].(float64) < 1 || a["offset"].(float64) > n {
				t.Fatalf("%s: ack %v", c.name, a)
			}
		}
	}

	// a tab that saw the old epoch comes back: its position is unknown, it gets everything
	eve := dial(t, nodes[1], "eve")
	eve.send(`{"type":"join","room":"r","since":%d,"epoch":%q}`, int(lastOld), epoch)
	got := eve.gather(5*time.Second, countType("chat", n))
	var joined map[string]any
	for _, m := range got {
		if m["type"] == "joined" {
			joined = m
		}
	}
	if joined == nil || joined["epoch"] == epoch || joined["recovered"] != false || joined["offset"].(float64) != n {
		t.Fatalf("eve's joined %v (old epoch %q)", joined, epoch)
	}
	if gaps := ofType(got, "error"); len(gaps) != 1 || gaps[0]["code"] != "history_gap" {
		t.Fatalf("eve: %v", gaps)
	}
	if chats := ofType(got, "chat"); len(chats) != n {
		t.Fatalf("eve recovered %d of %d", len(chats), n)
	}
}

// More chats than the history are sent while NATS is down; when it is back, the
// sender's node stores them (in order) while its room subscription is already restored.
// Every one reaches every member of that node, with no gap. Before the window checks
// paged through the stream and let live chats count, the node's catch-up read the newest
// History+1 chats, declared a gap, and dropped the live ones as duplicates.
func TestClusterOutageLongerThanTheHistory(t *testing.T) {
	ns := startNATS(t)
	cfg := defaultCore()
	cfg.History = 100
	nodes := startCluster(t, ns, cfg, "n0", "n1")
	ann, bob, cat := dial(t, nodes[0], "ann"), dial(t, nodes[0], "bob"), dial(t, nodes[1], "cat")
	for _, c := range []*client{ann, bob, cat} {
		c.join("r")
	}
	for _, c := range []*client{ann, bob, cat} {
		c.waitMembers("r", "ann", "bob", "cat")
	}
	ann.send(`{"type":"chat","room":"r","content":"before"}`)
	for _, c := range []*client{ann, bob, cat} {
		c.next("chat", "user_joined")
	}

	ns.stop()
	waitLinks(t, true, nodes...)
	const n = 300
	for i := range n {
		ann.send(`{"type":"chat","room":"r","content":"ann %d","id":"c%d"}`, i, i)
	}
	ns.start()
	waitLinks(t, false, nodes...)

	for _, c := range []*client{ann, bob} {
		got := c.gather(10*time.Second, countType("chat", n))
		chats := ofType(got, "chat")
		if len(chats) != n {
			t.Fatalf("%s: %d of %d chats delivered (%d gaps)", c.name, len(chats), n, len(ofType(got, "error")))
		}
		if gaps := ofType(got, "error"); len(gaps) != 0 {
			t.Fatalf("%s: %v though every chat came", c.name, gaps)
		}
		senderOrder(t, c.name, chats)
		if c == ann {
			if acks := ofType(c.gather(5*time.Second, countType("ack", n-len(ofType(got, "ack")))), "ack"); len(acks)+len(ofType(got, "ack")) != n {
				t.Fatalf("ann: %d of %d acks", len(acks)+len(ofType(got, "ack")), n)
			}
		}
	}
	// cat's node may have come back after the chats were stored, and the stream keeps
	// only the newest History+1: then it is told, never silently left behind
	got := cat.gather(10*time.Second, countType("chat", n))
	chats := ofType(got, "chat")
	if len(chats) < n && len(ofType(got, "error")) == 0 {
		t.Fatalf("cat: %d of %d chats and no history_gap", len(chats), n)
	}
	senderOrder(t, cat.name, renumber(chats))
}

// renumber lets senderOrder check a suffix: each sender's first chat sets its start.
func renumber(chats []map[string]any) []map[string]any {
	first := map[string]int{}
	out := make([]map[string]any, 0, len(chats))
	for _, m := range chats {
		var sender string
		var n int
		fmt.Sscanf(m["content"].(string), "%s %d", &sender, &n)
		if _, ok := first[sender]; !ok {
			first[sender] = n
		}
		c := map[string]any{"offset": m["offset"], "content": fmt.Sprintf("%s %d", sender, n-first[sender])}
		out = append(out, c)
	}
	return out
}

// One sender's chats, sent while NATS is down, are stored in the order sent, also when
// NATS comes back on an empty store (so the first attempts find no stream and every one
// is sent again). Before the pending chats were a FIFO, their resends walked a Go map.
func TestClusterSenderOrderAcrossAnOutage(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, defaultCore(), "n0", "n1")
	ann, bob := dial(t, nodes[0], "ann"), dial(t, nodes[1], "bob")
	ann.join("r")
	bob.join("r")
	ann.waitMembers("r", "ann", "bob")
	bob.waitMembers("r", "ann", "bob")

	ns.stop()
	waitLinks(t, true, nodes...)
	const n = 30
	for i := range n {
		ann.send(`{"type":"chat","room":"r","content":"ann %d","id":"c%d"}`, i, i)
	}
	ns.wipe()
	ns.start()
	waitLinks(t, false, nodes...)
	for _, c := range []*client{ann, bob} {
		got := c.gather(10*time.Second, countType("chat", n))
		chats := ofType(got, "chat")
		if len(chats) != n {
			t.Fatalf("%s: %d of %d chats delivered", c.name, len(chats), n)
		}
		senderOrder(t, c.name, chats)
	}
}

// Ephemeral room events (§10.3) cross nodes: every other connection in the room gets
// one, the sender's other tabs on any node included, the sender's own tab not; they take
// no offset and are never replayed.
func TestClusterRoomEventsReachOtherNodes(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, defaultCore(), "n0", "n1")
	ann1, cat := dial(t, nodes[0], "ann"), dial(t, nodes[0], "cat")
	ann2, bob := dial(t, nodes[1], "ann"), dial(t, nodes[1], "bob")
	dan := dial(t, nodes[1], "dan") // on n1, not in the room
	all := []*client{ann1, cat, ann2, bob}
	for _, c := range all {
		c.join("r")
	}
	for _, c := range all {
		c.waitMembers("r", "ann", "bob", "cat")
	}
	ann1.send(`{"type":"event","room":"r","event":"typing","content":"on","id":"e1"}`)
	if m := ann1.next("ack", "user_joined"); m["id"] != "e1" || m["offset"] != nil {
		t.Fatalf("ann1: %v", m)
	}
	for _, c := range []*client{cat, ann2, bob} {
		m := c.next("event", "user_joined")
		if m["room"] != "r" || m["sender"] != "ann" || m["event"] != "typing" || m["content"] != "on" || m["offset"] != nil || m["timestamp"] == nil {
			t.Fatalf("%s: %v", c.name, m)
		}
	}
	// nothing more anywhere: the sender's tab did not get its own event, dan is elsewhere
	ann1.send(`{"type":"ping"}`)
	ann1.next("pong", "user_joined")
	dan.send(`{"type":"ping"}`)
	dan.next("pong")
	// a tab joining with since gets chats only, never events
	eve := dial(t, nodes[1], "eve")
	eve.send(`{"type":"join","room":"r","since":0}`)
	got := eve.gather(time.Second, countType("joined", 1))
	if j := ofType(got, "joined"); len(j) != 1 || j[0]["offset"].(float64) != 0 {
		t.Fatalf("eve: %v", got)
	}
	eve.send(`{"type":"ping"}`)
	for _, m := range eve.gather(5*time.Second, countType("pong", 1)) {
		if m["type"] == "event" {
			t.Fatalf("eve got a replayed event %v", m)
		}
	}
}

// A chat id repeated by the same user to the same room, on ANY node, within the dedupe
// window is stored and delivered once; both acks carry the first offset (§10.4).
func TestClusterChatIDDedupedOnAnyNode(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, defaultCore(), "n0", "n1")
	ann1, ann2, bob := dial(t, nodes[0], "ann"), dial(t, nodes[1], "ann"), dial(t, nodes[1], "bob")
	for _, c := range []*client{ann1, ann2, bob} {
		c.join("r")
	}
	for _, c := range []*client{ann1, ann2, bob} {
		c.waitMembers("r", "ann", "bob")
	}
	ann1.send(`{"type":"chat","room":"r","content":"once","id":"x1"}`)
	first := ann1.next("ack", "chat", "user_joined")
	// the client reconnected to n1 and resends the chat it had no ack for
	ann2.send(`{"type":"chat","room":"r","content":"once","id":"x1"}`)
	again := ann2.next("ack", "chat", "user_joined")
	if first["offset"] == nil || again["offset"] != first["offset"] {
		t.Fatalf("acks %v and %v: want the first offset twice", first, again)
	}
	// another id of ann's, and the same id from bob, are new chats
	ann2.send(`{"type":"chat","room":"r","content":"second","id":"x2"}`)
	bob.send(`{"type":"chat","room":"r","content":"bob's","id":"x1"}`)
	got := bob.gather(5*time.Second, countType("chat", 3))
	if chats := contentsOf(ofType(got, "chat")); !slices.Equal(chats, []string{"once", "second", "bob's"}) && !slices.Equal(chats, []string{"once", "bob's", "second"}) {
		t.Fatalf("bob got %v, want once, second and bob's, each once", chats)
	}
	bob.send(`{"type":"ping"}`)
	for _, m := range bob.gather(2*time.Second, countType("pong", 1)) {
		if m["type"] == "chat" {
			t.Fatalf("bob got %v more", m)
		}
	}
}

// A link that stalls (no byte moves, nothing is closed) is noticed from missing pongs
// within a few heartbeats: the node reports itself degraded, and does not expire the
// other nodes it cannot hear meanwhile. Before the ping interval followed the heartbeat,
// nats.go's default (2 minutes, 2 outstanding) took about 4 minutes, and the node expired
// every other node after its expiry.
func TestClusterStalledLinkIsNoticed(t *testing.T) {
	ns := startNATS(t)
	px := startProxy(t, fmt.Sprintf("127.0.0.1:%d", ns.port))
	nodes := startClusterWith(t, defaultCore(), func(name string) Options {
		url := ns.url()
		if name == "n0" {
			url = px.url()
		}
		return Options{URL: url, NodeID: name, History: 100, Heartbeat: 100 * time.Millisecond,
			Expiry: time.Second, RequestTimeout: 2 * time.Second}
	}, "n0", "n1")
	ann, bob := dial(t, nodes[0], "ann"), dial(t, nodes[1], "bob")
	ann.join("r")
	bob.join("r")
	ann.waitMembers("r", "ann", "bob")
	bob.waitMembers("r", "ann", "bob")

	began := time.Now()
	px.set(proxyStall)
	waitLinks(t, true, nodes[0])
	noticed := time.Since(began)
	t.Logf("stalled link reported degraded after %v (heartbeat 100ms)", noticed.Round(10*time.Millisecond))
	if noticed > 2*time.Second {
		t.Fatalf("stall noticed after %v", noticed)
	}
	// past the expiry: n0 heard nobody, but the silence was its own link's
	time.Sleep(1500 * time.Millisecond)
	ann.send(`{"type":"members","room":"r"}`)
	if m := ann.next("members", "user_joined"); fmt.Sprint(m["members"]) != "[ann bob]" {
		t.Fatalf("n0 expired n1 while its own link was stalled: %v", m)
	}
	px.set(proxyForward)
	waitLinks(t, false, nodes[0])
	bob.waitMembers("r", "ann", "bob") // n1 had expired the silent n0; it learns of ann again
	bob.send(`{"type":"chat","room":"r","content":"back"}`)
	if m := ann.next("chat", "user_joined", "user_left"); m["content"] != "back" {
		t.Fatalf("ann: %v", m)
	}
}

// A node dies with one of a user's tabs; the tab reconnects to another node before the
// dead one expires. The dead node's connection does not count against --max-per-user:
// the user's live older tab stays open. Before, the limit counted it and closed the live
// tab with 4000.
func TestClusterDeadNodeDoesNotCountAgainstThePerUserLimit(t *testing.T) {
	ns := startNATS(t)
	cfg := defaultCore()
	cfg.MaxPerUser = 2
	nodes := startClusterExpiry(t, ns, cfg, time.Second, "n0", "n1")
	older := dial(t, nodes[0], "dan")
	gone := dial(t, nodes[1], "dan")
	deadline := time.Now().Add(waitLong)
	for { // n0 knows of dan's tab on n1
		rep, err := nodes[0].node.Admin(context.Background(), core.AdminRequest{Op: core.AdminStats})
		if err == nil && rep.Stats.TotalConnections == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n0 never saw dan's second tab: %+v %v", rep.Stats, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)  // a few heartbeats: n1 is known alive since
	nodes[1].link.kill()                // n1 dies without a word, as with kill -9
	gone.ws.CloseNow()                  // and its clients lose their connection
	again := dial(t, nodes[0], "dan")   // the tab comes back, on n0, at once
	time.Sleep(1500 * time.Millisecond) // past n1's expiry
	select {
	case <-older.done:
		code, reason := older.closed()
		t.Fatalf("the live older tab was closed %d %q", code, reason)
	default:
	}
	for _, c := range []*client{older, again} {
		c.send(`{"type":"ping"}`)
		c.next("pong")
	}
	rep, err := nodes[0].node.Admin(context.Background(), core.AdminRequest{Op: core.AdminStats})
	if err != nil || rep.Stats.TotalConnections != 2 {
		t.Fatalf("stats %+v %v", rep.Stats, err)
	}
	// the limit still holds: a third tab closes the oldest
	third := dial(t, nodes[0], "dan")
	if code, reason := older.closed(); code != 4000 || reason != "Too many connections" {
		t.Fatalf("older closed %d %q", code, reason)
	}
	third.send(`{"type":"ping"}`)
	third.next("pong")
}
