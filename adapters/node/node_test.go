package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"go.uber.org/goleak"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testLink is a transport without sockets: when woken it writes everything queued into
// a buffer (unless stalled), and finishes the connection once its close frame is out.
type testLink struct {
	mu       sync.Mutex
	c        *Conn
	batch    Batch
	wire     bytes.Buffer
	stalled  bool // a peer that stopped reading: nothing is written
	finished bool
	aborted  bool
}

func (l *testLink) Wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished || l.c == nil {
		return
	}
	closing := l.c.Pull(&l.batch)
	if l.stalled {
		return
	}
	var n int
	for _, b := range l.batch.Buffers(nil, 1024) {
		l.wire.Write(b)
		n += len(b)
	}
	l.c.Written(&l.batch, n)
	if closing && l.batch.Empty() {
		l.finished = true
		l.c.Finished(&l.batch)
	}
}

func (l *testLink) TryFlush() { l.Wake() }

func (l *testLink) Abort() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.finished {
		l.finished, l.aborted = true, true
		l.c.Finished(&l.batch)
	}
}

type wsFrame struct {
	op      ws.OpCode
	payload string
}

// frames decodes what was written so far.
func (l *testLink) frames(t *testing.T) []wsFrame {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := bytes.NewReader(l.wire.Bytes())
	var out []wsFrame
	for r.Len() > 0 {
		h, err := ws.ReadHeader(r) // server frames are unmasked, so the payload follows as is
		if err != nil {
			t.Fatalf("bad server frame: %v", err)
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatalf("short server frame: %v", err)
		}
		out = append(out, wsFrame{h.OpCode, string(payload)})
	}
	return out
}

func (l *testLink) isFinished() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.finished
}

func attach(t *testing.T, n *Node, user string, f proto.Format) (*Conn, *testLink) {
	t.Helper()
	l := &testLink{}
	l.mu.Lock()
	c, err := n.Attach(Handshake{Identity: core.Identity{User: user}, Format: f}, l)
	if err != nil {
		t.Fatal(err)
	}
	l.c = c
	l.mu.Unlock()
	c.Start()
	return c, l
}

// waitFor polls cond; the timeout only keeps a broken test from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func hasFrame(t *testing.T, l *testLink, substr string) bool {
	for _, f := range l.frames(t) {
		if strings.Contains(f.payload, substr) {
			return true
		}
	}
	return false
}

func closeOf(t *testing.T, l *testLink) (uint16, string, bool) {
	for _, f := range l.frames(t) {
		if f.op == ws.OpClose {
			if len(f.payload) < 2 {
				return 1005, "", true
			}
			return binary.BigEndian.Uint16([]byte(f.payload)), f.payload[2:], true
		}
	}
	return 0, "", false
}

func shutdown(t testing.TB, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestConnectedThenChatAcrossConnections(t *testing.T) {
	n := New(Options{})
	defer shutdown(t, n)
	a, la := attach(t, n, "ann", proto.JSON)
	b, lb := attach(t, n, "bob", proto.Msgpack)
	waitFor(t, "connected frames", func() bool {
		return hasFrame(t, la, `"type":"connected"`) && len(lb.frames(t)) == 1
	})
	a.Seen()
	a.Receive([]byte(`{"type":"join","room":"r"}`))
	b.Receive(must(t, proto.Msgpack, `{"type":"join","room":"r"}`))
	a.Receive([]byte(`{"type":"chat","room":"r","content":"hi all"}`))
	waitFor(t, "chat on both", func() bool {
		return hasFrame(t, la, `"content":"hi all"`) && hasFrame(t, lb, "hi all")
	})
	if op := lb.frames(t)[0].op; op != ws.OpBinary {
		t.Fatalf("msgpack connection got opcode %v", op)
	}
	if op := la.frames(t)[0].op; op != ws.OpText {
		t.Fatalf("json connection got opcode %v", op)
	}
}

// must encodes a JSON request as the MessagePack map a msgpack client would send.
func must(t *testing.T, f proto.Format, jsonReq string) []byte {
	t.Helper()
	// Only the shapes used here: {"type":"join","room":R}.
	var b []byte
	b = append(b, 0x82, 0xa4)
	b = append(b, "type"...)
	b = append(b, 0xa4)
	b = append(b, "join"...)
	b = append(b, 0xa4)
	b = append(b, "room"...)
	b = append(b, 0xa1, 'r')
	return b
}

func TestSlowConsumerClosed4008OthersUnaffected(t *testing.T) {
	const limit = 4096
	n := New(Options{SendQueueBytes: limit, Core: core.Config{AllowClientBroadcast: true}})
	defer shutdown(t, n)
	fast, lf := attach(t, n, "fast", proto.JSON)
	slow, ls := attach(t, n, "slow", proto.JSON)
	waitFor(t, "connected", func() bool { return len(lf.frames(t)) == 1 && len(ls.frames(t)) == 1 })
	ls.mu.Lock()
	ls.stalled = true
	ls.mu.Unlock()
	fast.Receive([]byte(`{"type":"join","room":"r"}`))
	slow.Receive([]byte(`{"type":"join","room":"r"}`))
	content := strings.Repeat("x", 200)
	const messages = 1000
	for i := 0; i < messages; i++ {
		fast.Receive([]byte(`{"type":"chat","room":"r","content":"` + content + `"}`))
	}
	waitFor(t, "all chat messages at the fast reader", func() bool {
		lf.mu.Lock()
		defer lf.mu.Unlock()
		return strings.Count(lf.wire.String(), content) >= messages
	})
	waitFor(t, "slow consumer closed", func() bool { return n.Stats().SlowConsumers == 1 })
	if got := slow.CloseCode(); got != core.CloseSlowConsumer {
		t.Fatalf("slow reader closed with %d", got)
	}
	if peak := n.Stats().PeakConnQueue; peak > limit {
		t.Fatalf("a connection queued %d bytes, limit %d", peak, limit)
	}
	// The reader comes back: what it finds ends with 4008 "Slow consumer".
	ls.mu.Lock()
	ls.stalled = false
	ls.mu.Unlock()
	ls.Wake()
	code, reason, ok := closeOf(t, ls)
	if !ok || code != 4008 || reason != "Slow consumer" {
		t.Fatalf("close %d %q %v", code, reason, ok)
	}
	waitFor(t, "user_left for the slow user", func() bool { return hasFrame(t, lf, `"type":"user_left"`) })
}

func TestPeerCloseEchoedAndHubTold(t *testing.T) {
	n := New(Options{})
	defer shutdown(t, n)
	a, la := attach(t, n, "ann", proto.JSON)
	_, lb := attach(t, n, "bob", proto.JSON)
	a.Receive([]byte(`{"type":"join","room":"r"}`))
	waitFor(t, "connected", func() bool { return len(lb.frames(t)) == 1 && len(la.frames(t)) >= 2 })
	a.Close(1000, "")
	waitFor(t, "echo and finish", la.isFinished)
	if code, _, ok := closeOf(t, la); !ok || code != 1000 {
		t.Fatalf("echo %d %v", code, ok)
	}
	waitFor(t, "ann gone from stats", func() bool {
		r, err := n.Admin(context.Background(), core.AdminRequest{Op: core.AdminStats})
		return err == nil && r.Stats.TotalConnections == 1
	})
}

func TestIdleTimeoutAndPings(t *testing.T) {
	n := New(Options{PingInterval: 20 * time.Millisecond, IdleTimeout: 150 * time.Millisecond})
	defer shutdown(t, n)
	_, l := attach(t, n, "ann", proto.JSON)
	waitFor(t, "idle close", l.isFinished)
	code, reason, _ := closeOf(t, l)
	if code != 1001 || reason != "Idle timeout" {
		t.Fatalf("close %d %q", code, reason)
	}
	pings := 0
	for _, f := range l.frames(t) {
		if f.op == ws.OpPing {
			pings++
		}
	}
	if pings == 0 {
		t.Fatal("no server ping before the idle timeout")
	}
}

func TestShutdownClosesEveryConnection1001(t *testing.T) {
	n := New(Options{})
	var links []*testLink
	for _, u := range []string{"a", "b", "c"} {
		_, l := attach(t, n, u, proto.JSON)
		links = append(links, l)
	}
	waitFor(t, "connected", func() bool { return n.Stats().Live == 3 })
	shutdown(t, n)
	for _, l := range links {
		code, reason, ok := closeOf(t, l)
		if !ok || code != 1001 || reason != "Server shutting down" {
			t.Fatalf("close %d %q %v", code, reason, ok)
		}
		if frames := l.frames(t); frames[0].op != ws.OpText {
			t.Fatalf("queued frame not written before the close: %v", frames)
		}
	}
	if _, err := n.Attach(Handshake{Identity: core.Identity{User: "late"}, Format: proto.JSON}, &testLink{}); err != ErrShuttingDown {
		t.Fatalf("attach after shutdown: %v", err)
	}
}

func TestShutdownOutOfTimeAborts(t *testing.T) {
	n := New(Options{})
	_, l := attach(t, n, "a", proto.JSON)
	l.mu.Lock()
	l.stalled = true
	l.mu.Unlock()
	waitFor(t, "attached", func() bool { return n.Stats().Live == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := n.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("shutdown: %v", err)
	}
	if !l.aborted {
		t.Fatal("stalled connection not aborted")
	}
	if q := n.Stats().QueuedBytes; q != 0 {
		t.Fatalf("%d bytes still counted as queued", q)
	}
}

func TestCapacityCloses4003(t *testing.T) {
	n := New(Options{Core: core.Config{MaxConns: 1}})
	defer shutdown(t, n)
	attach(t, n, "a", proto.JSON)
	_, l := attach(t, n, "b", proto.JSON)
	waitFor(t, "refused", l.isFinished)
	if code, reason, _ := closeOf(t, l); code != 4003 || reason != "Server at capacity" {
		t.Fatalf("close %d %q", code, reason)
	}
}

func TestFanoutSharesOneFramePerFormat(t *testing.T) {
	n := New(Options{Core: core.Config{AllowClientBroadcast: true}})
	defer shutdown(t, n)
	var conns []*Conn
	var links []*testLink
	for _, u := range []string{"a", "b", "c"} {
		c, l := attach(t, n, u, proto.JSON)
		l.mu.Lock()
		l.stalled = true // keep frames queued so we can look at them
		l.mu.Unlock()
		conns, links = append(conns, c), append(links, l)
	}
	conns[0].Receive([]byte(`{"type":"broadcast","content":"all"}`))
	var firsts []*byte
	waitFor(t, "broadcast queued everywhere", func() bool {
		firsts = firsts[:0]
		for i, c := range conns {
			links[i].mu.Lock()
			c.Pull(&links[i].batch)
			if l := links[i].batch.list; l != nil && len(l.f) >= 2 {
				firsts = append(firsts, &l.f[len(l.f)-1].b[0])
			}
			links[i].mu.Unlock()
		}
		return len(firsts) == 3
	})
	if firsts[0] != firsts[1] || firsts[1] != firsts[2] {
		t.Fatal("recipients got copies of the frame instead of one shared encoding")
	}
	for _, l := range links {
		l.mu.Lock()
		l.stalled = false
		l.mu.Unlock()
	}
}

type countingMetrics struct {
	mu                                 sync.Mutex
	opened, received, delivered, rooms int
	closed                             map[uint16]int
}

func (m *countingMetrics) ConnOpened() { m.mu.Lock(); m.opened++; m.mu.Unlock() }
func (m *countingMetrics) ConnClosed(code uint16) {
	m.mu.Lock()
	m.closed[code]++
	m.mu.Unlock()
}
func (m *countingMetrics) Received()       { m.mu.Lock(); m.received++; m.mu.Unlock() }
func (m *countingMetrics) Delivered(n int) { m.mu.Lock(); m.delivered += n; m.mu.Unlock() }
func (m *countingMetrics) Rooms(n int)     { m.mu.Lock(); m.rooms = n; m.mu.Unlock() }

func TestMetrics(t *testing.T) {
	m := &countingMetrics{closed: map[uint16]int{}}
	n := New(Options{Metrics: m, PingInterval: 20 * time.Millisecond})
	a, la := attach(t, n, "ann", proto.JSON)
	_, lb := attach(t, n, "bob", proto.JSON)
	a.Receive([]byte(`{"type":"join","room":"r"}`))
	a.Receive([]byte(`{"type":"chat","room":"r","content":"x"}`))
	waitFor(t, "chat", func() bool { return hasFrame(t, la, `"type":"chat"`) && len(lb.frames(t)) == 1 })
	waitFor(t, "room gauge", func() bool { m.mu.Lock(); defer m.mu.Unlock(); return m.rooms == 1 })
	a.Close(1000, "")
	waitFor(t, "ann finished", la.isFinished)
	shutdown(t, n)
	m.mu.Lock()
	defer m.mu.Unlock()
	// Delivered: connected ×2, joined, user_joined, chat.
	if m.opened != 2 || m.received != 2 || m.delivered != 5 || m.closed[1000] != 1 || m.closed[1001] != 1 {
		t.Fatalf("metrics %+v", m)
	}
}

// TestRefusedIdentityClosed4001: a user id the hub refuses (an embedding application's
// Identify can return anything) closes the connection 4001 Unauthorized, the protocol's
// code for a refused identity, and sends nothing before the close frame.
func TestRefusedIdentityClosed4001(t *testing.T) {
	n := New(Options{})
	defer shutdown(t, n)
	_, l := attach(t, n, "not a valid id!", proto.JSON)
	waitFor(t, "the close frame", func() bool { _, _, ok := closeOf(t, l); return ok })
	code, reason, _ := closeOf(t, l)
	if code != core.CloseUnauthorized || reason != core.ReasonUnauthorized {
		t.Fatalf("closed %d %q, want 4001 Unauthorized", code, reason)
	}
	if fs := l.frames(t); len(fs) != 1 {
		t.Fatalf("frames before the close: %+v", fs)
	}
}
