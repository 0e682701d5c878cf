package natsbroker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-ws/switchboard/core"
)

func chatsOf(got []core.ClusterEvent, room string) []core.RemoteChat {
	var out []core.RemoteChat
	for _, c := range only[core.RemoteChat](got) {
		if c.Room == room {
			out = append(out, c)
		}
	}
	return out
}

func TestChatOneOrderOnEveryNode(t *testing.T) {
	ns := startNATS(t)
	const room, per = "team.ops:1", 40 // a '.' in the name must survive the subject mapping
	nodes := []*testNode{connectNode(t, ns, "a", 100), connectNode(t, ns, "b", 100), connectNode(t, ns, "c", 100)}
	for i, n := range nodes {
		n.ConnOpened(fmt.Sprint("u", i), uint64(i+1), time.Now().UnixNano())
		n.RoomCount(room, fmt.Sprint("u", i), 1)
	}
	for _, n := range nodes { // every node has seen every other node's room presence
		n.in.waitFor(t, "presence", func(got []core.ClusterEvent) bool { return len(only[core.RemoteRoomPresence](got)) == 2 })
	}
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range per {
				n.PublishChat(room, fmt.Sprint("u", i), fmt.Appendf(nil, "%d-%d", i, k), time.Now(), 0, "")
			}
		}()
	}
	wg.Wait()
	var orders [][]string
	for _, n := range nodes {
		got := n.in.waitFor(t, "all chats", func(got []core.ClusterEvent) bool { return len(chatsOf(got, room)) == 3*per })
		var order []string
		last := uint64(0)
		for _, c := range chatsOf(got, room) {
			if c.Offset <= last {
				t.Fatalf("offset %d after %d", c.Offset, last)
			}
			last = c.Offset
			order = append(order, fmt.Sprintf("%d:%s:%s", c.Offset, c.Sender, c.Content))
		}
		orders = append(orders, order)
	}
	for i := 1; i < len(orders); i++ {
		if d := cmp.Diff(orders[0], orders[i]); d != "" {
			t.Fatalf("node %d saw another order (-a +other):\n%s", i, d)
		}
	}
	// each sender's chats keep their order
	for i := range nodes {
		k := 0
		for _, c := range chatsOf(nodes[0].in.waitFor(t, "", func([]core.ClusterEvent) bool { return true }), room) {
			if c.Sender == fmt.Sprint("u", i) {
				if want := fmt.Sprintf("%d-%d", i, k); string(c.Content) != want {
					t.Fatalf("sender u%d: got %q, want %q", i, c.Content, want)
				}
				k++
			}
		}
	}
}

func TestPublishedAnswersWithOffset(t *testing.T) {
	ns := startNATS(t)
	a := connectNode(t, ns, "a", 10)
	a.PublishChat("r", "server", []byte("x"), time.Now(), 7, "")
	a.PublishChat("r", "server", []byte("y"), time.Now(), 8, "")
	got := a.in.waitFor(t, "acks", func(got []core.ClusterEvent) bool { return len(only[core.RemotePublished](got)) == 2 })
	acks := only[core.RemotePublished](got)
	if acks[0].Ref != 7 || acks[1].Ref != 8 || acks[0].Offset == 0 || acks[1].Offset <= acks[0].Offset || acks[0].Failed {
		t.Fatalf("acks %+v", acks)
	}
	if len(chatsOf(got, "r")) != 0 {
		t.Fatal("a node without connections in the room got its chats")
	}
}

func recoverOn(t *testing.T, n *testNode, conn uint64, room string, since uint64) core.RemoteRecovered {
	t.Helper()
	n.Recover(conn, room, since)
	var rec core.RemoteRecovered
	n.in.waitFor(t, "recovered", func(got []core.ClusterEvent) bool {
		for _, r := range only[core.RemoteRecovered](got) {
			if r.Conn == core.ConnID(conn) {
				rec = r
				return true
			}
		}
		return false
	})
	return rec
}

func contents(chats []core.ClusterChat) []string {
	out := []string{}
	for _, c := range chats {
		out = append(out, string(c.Content))
	}
	return out
}

func TestRecoverOnAnotherNodeReportsOnlyTrueGaps(t *testing.T) {
	ns := startNATS(t)
	const history = 5
	a := connectNode(t, ns, "a", history)
	b := connectNode(t, ns, "b", history)
	a.ConnOpened("ann", 1, time.Now().UnixNano())
	a.RoomCount("r", "ann", 1)
	for i := 1; i <= 13; i++ {
		a.PublishChat("r", "ann", fmt.Append(nil, i), time.Now(), 0, "")
		a.PublishChat("other", "ann", []byte("noise"), time.Now(), 0, "") // offsets of r are not contiguous
	}
	got := a.in.waitFor(t, "chats", func(got []core.ClusterEvent) bool { return len(chatsOf(got, "r")) == 13 })
	offs := map[int]uint64{0: 0}
	for i, c := range chatsOf(got, "r") {
		offs[i+1] = c.Offset
	}
	for _, tc := range []struct {
		since int
		want  []string
		gap   bool
	}{
		{13, []string{}, false},
		{10, []string{"11", "12", "13"}, false},
		{8, []string{"9", "10", "11", "12", "13"}, false}, // exactly history after since
		{7, []string{"9", "10", "11", "12", "13"}, true},  // chat 8 is beyond the history
		{0, []string{"9", "10", "11", "12", "13"}, true},
	} {
		rec := recoverOn(t, b, uint64(100+tc.since), "r", offs[tc.since])
		if rec.Gap != tc.gap || !cmp.Equal(contents(rec.Chats), tc.want) {
			t.Errorf("since chat %d: gap %v chats %v; want gap %v chats %v", tc.since, rec.Gap, contents(rec.Chats), tc.gap, tc.want)
		}
		if rec.Offset != offs[13] {
			t.Errorf("since chat %d: covered up to %d, want %d", tc.since, rec.Offset, offs[13])
		}
	}
	// a room never used: nothing, no gap
	if rec := recoverOn(t, b, 999, "empty", 0); rec.Gap || len(rec.Chats) != 0 {
		t.Fatalf("empty room: %+v", rec)
	}
}

func TestPresenceAcrossNodesAndExpiry(t *testing.T) {
	ns := startNATS(t)
	a := connectNodeExpiry(t, ns, "a", 10, time.Second)
	b := connectNodeExpiry(t, ns, "b", 10, time.Second)
	a.ConnOpened("ann", 1, 111)
	a.ConnOpened("ann", 2, 222)
	a.RoomCount("lobby", "ann", 2)
	a.ConnClosed("ann", 2)
	a.RoomCount("lobby", "ann", 1)
	b.in.waitFor(t, "ann on b", func(got []core.ClusterEvent) bool {
		rp := only[core.RemoteRoomPresence](got)
		return len(rp) > 0 && rp[len(rp)-1].Count == 1
	})
	// a node that starts later learns the state from a snapshot
	c := connectNodeExpiry(t, ns, "c", 10, time.Second)
	got := c.in.waitFor(t, "snapshot on c", func(got []core.ClusterEvent) bool {
		return len(only[core.RemoteConn](got)) == 1 && len(only[core.RemoteRoomPresence](got)) == 1
	})
	if cn := only[core.RemoteConn](got)[0]; cn.Node != "a" || cn.User != "ann" || cn.Conn != 1 || cn.Order != 111 || !cn.Open {
		t.Fatalf("conn on c: %+v", cn)
	}
	if rp := only[core.RemoteRoomPresence](got)[0]; rp.Node != "a" || rp.Room != "lobby" || rp.User != "ann" || rp.Count != 1 {
		t.Fatalf("room presence on c: %+v", rp)
	}
	// a dies without a word: the others drop it once, after the expiry
	a.kill()
	for _, n := range []*testNode{b, c} {
		got := n.in.waitFor(t, "a gone", func(got []core.ClusterEvent) bool {
			conns := only[core.RemoteConn](got)
			last := conns[len(conns)-1]
			return last.Node == "a" && last.Conn == 1 && !last.Open
		})
		if k := n.knownNodes(); k != 1 {
			t.Fatalf("%d other nodes known after a died, want 1", k)
		}
		rp := only[core.RemoteRoomPresence](got)
		if last := rp[len(rp)-1]; last.Count != 0 || last.User != "ann" {
			t.Fatalf("ann still in lobby: %+v", last)
		}
		conns := only[core.RemoteConn](got)
		if last := conns[len(conns)-1]; last.Open || last.Conn != 1 {
			t.Fatalf("ann's conn still open: %+v", last)
		}
	}
	// b shuts down cleanly: c drops it at once (bye), with nothing to announce
	b.ConnOpened("bob", 5, 1)
	c.in.waitFor(t, "bob", func(got []core.ClusterEvent) bool { return len(only[core.RemoteConn](got)) == 3 })
	b.Close()
	got = c.in.waitFor(t, "b gone", func(got []core.ClusterEvent) bool { return len(only[core.RemoteConn](got)) == 4 })
	if k := c.knownNodes(); k != 0 {
		t.Fatalf("%d other nodes known after b left, want 0", k)
	}
	if conns := only[core.RemoteConn](got); conns[len(conns)-1].User != "bob" || conns[len(conns)-1].Open {
		t.Fatalf("bob not closed: %+v", conns[len(conns)-1])
	}
}

func TestPrivateBroadcastSystemKick(t *testing.T) {
	ns := startNATS(t)
	a := connectNode(t, ns, "a", 10)
	b := connectNode(t, ns, "b", 10)
	c := connectNode(t, ns, "c", 10)
	b.ConnOpened("ann", 1, 1)
	c.ConnOpened("bob", 1, 1)
	a.ConnOpened("bob", 2, 2)
	for _, n := range []*testNode{a, b, c} {
		n.in.waitFor(t, "conns", func(got []core.ClusterEvent) bool { return len(only[core.RemoteConn](got)) >= 1 })
	}
	a.Private("bob", "ann", []byte("hi ann"), time.Now(), true)
	a.Broadcast("bob", []byte("all"), "ann", time.Now())
	a.System("lobby", []byte("notice"), time.Now())
	a.Kick("ann")
	a.Seat("ann", "vault:1", true)
	a.Seat("ann", "vault:1", false)
	want := map[*testNode][]string{
		b: {"private ann copy=false", "broadcast exclude=ann", "system lobby", "kick ann", "seat ann vault:1", "unseat ann vault:1"},
		c: {"private bob copy=true", "broadcast exclude=ann", "system lobby"},
	}
	for n, w := range want {
		got := n.in.waitFor(t, "notices", func(got []core.ClusterEvent) bool { return len(only[core.RemoteSystem](got)) == 1 })
		if len(w) > 3 {
			got = n.in.waitFor(t, "unseat", func(got []core.ClusterEvent) bool { return len(only[core.RemoteSeat](got)) == 2 })
		}
		var seen []string
		for _, ev := range got {
			switch in := ev.(type) {
			case core.RemotePrivate:
				if in.Sender != "bob" || in.To != "ann" || string(in.Content) != "hi ann" || in.Node != "a" {
					t.Fatalf("private %+v", in)
				}
				who := in.To
				if in.Copy {
					who = in.Sender
				}
				seen = append(seen, fmt.Sprintf("private %s copy=%v", who, in.Copy))
			case core.RemoteBroadcast:
				seen = append(seen, "broadcast exclude="+in.Exclude)
			case core.RemoteSystem:
				seen = append(seen, "system "+in.Room)
			case core.RemoteKick:
				seen = append(seen, "kick "+in.User)
			case core.RemoteSeat:
				op := "seat"
				if in.Leave {
					op = "unseat"
				}
				seen = append(seen, op+" "+in.User+" "+in.Room)
			}
		}
		if d := cmp.Diff(w, seen); d != "" {
			t.Errorf("%s (-want +got):\n%s", n.NodeID(), d)
		}
	}
	// the origin delivers its own share itself: nothing comes back to a
	if got := a.in.waitFor(t, "", func([]core.ClusterEvent) bool { return true }); len(only[core.RemotePrivate](got))+len(only[core.RemoteBroadcast](got)) != 0 {
		t.Fatalf("a got its own notices back: %s", summary(got))
	}
}

func TestNATSRestartLosesNothingPublishedAfter(t *testing.T) {
	ns := startNATS(t)
	a := connectNode(t, ns, "a", 100)
	b := connectNode(t, ns, "b", 100)
	for i, n := range []*testNode{a, b} {
		n.ConnOpened("u", uint64(i+1), 1)
		n.RoomCount("r", "u", 1)
	}
	a.in.waitFor(t, "b in r", func(got []core.ClusterEvent) bool { return len(only[core.RemoteRoomPresence](got)) == 1 })
	for i := range 10 {
		a.PublishChat("r", "u", fmt.Append(nil, "before", i), time.Now(), 0, "")
	}
	for _, n := range []*testNode{a, b} {
		n.in.waitFor(t, "before", func(got []core.ClusterEvent) bool { return len(chatsOf(got, "r")) == 10 })
	}
	ns.stop()
	for _, n := range []*testNode{a, b} {
		n.in.waitFor(t, "degraded", func([]core.ClusterEvent) bool { return n.Degraded() })
	}
	ns.start()
	for _, n := range []*testNode{a, b} {
		n.in.waitFor(t, "link back", func([]core.ClusterEvent) bool { return !n.Degraded() })
	}
	for i := range 10 {
		b.PublishChat("r", "u", fmt.Append(nil, "after", i), time.Now(), 0, "")
	}
	for _, n := range []*testNode{a, b} {
		got := n.in.waitFor(t, "after", func(got []core.ClusterEvent) bool { return len(chatsOf(got, "r")) == 20 })
		last := uint64(0)
		for i, c := range chatsOf(got, "r") {
			want := fmt.Sprint("before", i)
			if i >= 10 {
				want = fmt.Sprint("after", i-10)
			}
			if string(c.Content) != want || c.Offset <= last {
				t.Fatalf("%s chat %d: %q at %d (last %d)", n.NodeID(), i, c.Content, c.Offset, last)
			}
			last = c.Offset
		}
	}
	// presence survived: no node was expired across the restart
	for _, c := range only[core.RemoteConn](a.in.waitFor(t, "", func([]core.ClusterEvent) bool { return true })) {
		if !c.Open {
			t.Fatalf("a expired b: %+v", c)
		}
	}
}

func TestLargePresenceTravelsInParts(t *testing.T) {
	ns := startNATS(t)
	a := connectNode(t, ns, "a", 10)
	b := connectNode(t, ns, "b", 10)
	const n = 2*opsPerMessage + 500 // more than two messages' worth, as batches and as a snapshot
	for i := range n {
		a.ConnOpened(fmt.Sprint("user-", i), uint64(i+1), int64(i))
	}
	b.in.waitFor(t, "batches on b", func(got []core.ClusterEvent) bool { return len(only[core.RemoteConn](got)) == n })
	c := connectNode(t, ns, "c", 10)
	got := c.in.waitFor(t, "snapshot on c", func(got []core.ClusterEvent) bool { return len(only[core.RemoteConn](got)) == n })
	seen := map[core.ConnID]bool{}
	for _, in := range only[core.RemoteConn](got) {
		if !in.Open || in.Node != "a" || seen[in.Conn] {
			t.Fatalf("conn %+v (seen %v)", in, seen[in.Conn])
		}
		seen[in.Conn] = true
	}
}

func TestCutLinkCatchesUpWithoutGapOrDuplicate(t *testing.T) {
	ns := startNATS(t)
	a := connectNode(t, ns, "a", 100)
	b := connectNode(t, ns, "b", 100)
	b.ConnOpened("u", 1, 1)
	b.RoomCount("r", "u", 1)
	a.in.waitFor(t, "b in r", func(got []core.ClusterEvent) bool { return len(only[core.RemoteRoomPresence](got)) == 1 })
	a.PublishChat("r", "a", []byte("0"), time.Now(), 0, "")
	b.in.waitFor(t, "first", func(got []core.ClusterEvent) bool { return len(chatsOf(got, "r")) == 1 })

	id, err := b.nc.GetClientID()
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.srv.DisconnectClientByID(id); err != nil { // the server drops b's link
		t.Fatal(err)
	}
	for i := 1; i <= 30; i++ { // some of these are stored while b is away
		a.PublishChat("r", "a", fmt.Append(nil, i), time.Now(), 0, "")
	}
	b.in.waitFor(t, "all", func(got []core.ClusterEvent) bool { return len(chatsOf(got, "r")) >= 31 })
	time.Sleep(200 * time.Millisecond) // anything extra would be a duplicate
	got := b.in.waitFor(t, "", func([]core.ClusterEvent) bool { return true })
	chats := chatsOf(got, "r")
	if len(chats) != 31 {
		t.Fatalf("b got %d chats: %s", len(chats), summary(got))
	}
	for i, c := range chats {
		if string(c.Content) != fmt.Sprint(i) || i > 0 && c.Offset <= chats[i-1].Offset {
			t.Fatalf("chat %d: %q at %d", i, c.Content, c.Offset)
		}
	}
	if gaps := only[core.RemoteRoomGap](got); len(gaps) != 0 {
		t.Fatalf("gap reported though the stream holds everything: %+v", gaps)
	}
}

func TestChatRightAfterAJoinReachesTheJoiner(t *testing.T) {
	ns := startNATS(t)
	a := connectNode(t, ns, "a", 10)
	b := connectNode(t, ns, "b", 10)
	const rooms = 60
	for i := range rooms {
		// b's subscription is still on its way to the server when a's chat is stored
		room := fmt.Sprint("r", i)
		b.RoomCount(room, "u", 1)
		a.PublishChat(room, "a", []byte(room), time.Now(), 0, "")
	}
	b.in.waitFor(t, "every chat", func(got []core.ClusterEvent) bool { return len(only[core.RemoteChat](got)) >= rooms })
	time.Sleep(100 * time.Millisecond)
	got := b.in.waitFor(t, "", func([]core.ClusterEvent) bool { return true })
	seen := map[string]bool{}
	for _, c := range only[core.RemoteChat](got) {
		if seen[c.Room] || string(c.Content) != c.Room {
			t.Fatalf("chat %q in %s (twice: %v)", c.Content, c.Room, seen[c.Room])
		}
		seen[c.Room] = true
	}
}

func TestRoomSubscriptionEndsWithTheLastLocalMember(t *testing.T) {
	ns := startNATS(t)
	a := connectNode(t, ns, "a", 10)
	b := connectNode(t, ns, "b", 10)
	b.RoomCount("r", "u", 2)
	b.RoomCount("other", "u", 1)
	a.PublishChat("r", "a", []byte("1"), time.Now(), 0, "")
	b.in.waitFor(t, "first", func(got []core.ClusterEvent) bool { return len(chatsOf(got, "r")) == 1 })
	b.RoomCount("r", "u", 1) // one connection left: still subscribed
	a.PublishChat("r", "a", []byte("2"), time.Now(), 0, "")
	b.in.waitFor(t, "second", func(got []core.ClusterEvent) bool { return len(chatsOf(got, "r")) == 2 })
	b.RoomCount("r", "u", 0)
	b.mu.Lock()
	subs := len(b.bySub)
	b.mu.Unlock()
	if subs != 1 {
		t.Fatalf("%d room subscriptions, want only other's", subs)
	}
	a.PublishChat("r", "a", []byte("3"), time.Now(), 0, "")
	a.PublishChat("other", "a", []byte("barrier"), time.Now(), 0, "") // stored after 3
	got := b.in.waitFor(t, "barrier", func(got []core.ClusterEvent) bool { return len(chatsOf(got, "other")) == 1 })
	if n := len(chatsOf(got, "r")); n != 2 {
		t.Fatalf("b got %d chats of r after its last member left", n)
	}
}

// The room stream is limited per room (§10.2): History+1 chats (a node serves History),
// each for HistoryTTL; a dedupe name published twice is stored once and both answers
// carry the first offset.
func TestStreamLimitsPerRoom(t *testing.T) {
	ns := startNATS(t)
	ib := newInbox()
	b, err := Connect(Options{URL: ns.url(), NodeID: "a", History: 3, HistoryTTL: time.Second, DedupeWindow: time.Minute,
		Heartbeat: 100 * time.Millisecond, Expiry: testExpiry, RequestTimeout: 2 * time.Second}, ib.deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a := &testNode{b, ib}
	ib.waitFor(t, "link up", func([]core.ClusterEvent) bool { return !b.Degraded() })
	st, err := b.js.Stream(context.Background(), streamName)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if cfg.MaxMsgsPerSubject != 4 || cfg.MaxAge != time.Second || cfg.Duplicates != time.Second {
		t.Fatalf("stream limits: %d per room, max age %v, duplicates %v", cfg.MaxMsgsPerSubject, cfg.MaxAge, cfg.Duplicates)
	}
	for i := range 6 {
		a.PublishChat("r", "ann", fmt.Append(nil, i), time.Now(), uint64(i+1), "")
	}
	a.PublishChat("r", "ann", []byte("x"), time.Now(), 100, "ann\x00r\x00x")
	a.PublishChat("r", "ann", []byte("x"), time.Now(), 101, "ann\x00r\x00x") // a resend, as from another node
	got := a.in.waitFor(t, "acks", func(got []core.ClusterEvent) bool { return len(only[core.RemotePublished](got)) == 8 })
	offsets := map[uint64]uint64{}
	for _, p := range only[core.RemotePublished](got) {
		offsets[p.Ref] = p.Offset
	}
	if offsets[100] == 0 || offsets[101] != offsets[100] {
		t.Fatalf("dedupe: offsets %d and %d, want the first twice", offsets[100], offsets[101])
	}
	if rec := recoverOn(t, a, 1, "r", 0); !rec.Gap || !cmp.Equal(contents(rec.Chats), []string{"4", "5", "x"}) {
		t.Fatalf("recovered gap %v %v, want the newest 3 and a gap", rec.Gap, contents(rec.Chats))
	}
	time.Sleep(1500 * time.Millisecond) // past MaxAge
	if rec := recoverOn(t, a, 2, "r", 0); len(rec.Chats) != 0 {
		t.Fatalf("expired chats still served: %v", contents(rec.Chats))
	}
	// a client that saw the last chat before it expired: its position is gone with the
	// room's stream, which it is told
	if rec := recoverOn(t, a, 3, "r", offsets[100]); !rec.Gap || len(rec.Chats) != 0 {
		t.Fatalf("since an expired chat: gap %v chats %v", rec.Gap, contents(rec.Chats))
	}
}

// The stream deleted under running nodes (an operator, or a NATS store lost without a
// restart the nodes saw) is noticed from the first publish that finds no stream or from
// JetStream's advisory: it is created again, as a new epoch, announced before any chat
// of it, and the chat that found no stream is stored and delivered in it.
func TestStreamCreatedAgainIsANewEpoch(t *testing.T) {
	ns := startNATS(t)
	a := connectNode(t, ns, "a", 10)
	a.ConnOpened("u", 1, 1)
	a.RoomCount("r", "u", 1)
	for i := range 3 {
		a.PublishChat("r", "u", fmt.Append(nil, i), time.Now(), 0, "")
	}
	got := a.in.waitFor(t, "chats", func(got []core.ClusterEvent) bool { return len(chatsOf(got, "r")) == 3 })
	epochs := only[core.RemoteEpoch](got)
	if len(epochs) != 1 || epochs[0].Epoch == "" {
		t.Fatalf("epochs %+v", epochs)
	}
	if err := a.js.DeleteStream(context.Background(), streamName); err != nil {
		t.Fatal(err)
	}
	a.PublishChat("r", "u", []byte("new"), time.Now(), 9, "")
	got = a.in.waitFor(t, "the chat in a new epoch", func(got []core.ClusterEvent) bool { return len(only[core.RemotePublished](got)) == 1 })
	epochs = only[core.RemoteEpoch](got)
	if len(epochs) != 2 || epochs[1].Epoch == epochs[0].Epoch {
		t.Fatalf("epochs %+v", epochs)
	}
	if p := only[core.RemotePublished](got)[0]; p.Offset != 1 || p.Failed {
		t.Fatalf("published %+v", p)
	}
	got = a.in.waitFor(t, "delivered", func(got []core.ClusterEvent) bool { return len(chatsOf(got, "r")) == 4 })
	var afterEpoch bool
	for _, ev := range got {
		switch in := ev.(type) {
		case core.RemoteEpoch:
			afterEpoch = afterEpoch || in.Epoch == epochs[1].Epoch
		case core.RemoteChat:
			if string(in.Content) == "new" && (!afterEpoch || in.Offset != 1) {
				t.Fatalf("chat %+v delivered before its epoch (%v)", in, afterEpoch)
			}
		}
	}
}
