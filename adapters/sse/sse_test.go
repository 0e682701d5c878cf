package sse

import (
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchboard-ws/switchboard/adapters/auth"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func defaults() node.Options { return node.Options{Core: core.DefaultConfig()} }

// GET /sse: 200 text/event-stream, no-cache; the first event is connected (id 1) with
// the user of ?user= or the path, and a session.
func TestStreamOpens(t *testing.T) {
	s := start(t, defaults(), Options{})
	for path, user := range map[string]string{"/sse?user=ann": "ann", "/sse/bob": "bob"} {
		c := s.dial(path)
		if c.resp.StatusCode != 200 || c.resp.Header.Get("Content-Type") != "text/event-stream" || c.resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("GET %s: %d %v", path, c.resp.StatusCode, c.resp.Header)
		}
		e := c.next()
		m := e.json(t)
		if e.id != 1 || m["type"] != "connected" || m["user_id"] != user || m["conn_id"] == nil {
			t.Errorf("GET %s: first event %+v", path, e)
		}
		if sess, _ := m["session"].(string); len(sess) < 20 {
			t.Errorf("GET %s: session %q", path, m["session"])
		}
	}
	if c := s.dial("/sse?user=bad%20name"); c.resp.StatusCode != http.StatusBadRequest {
		t.Errorf("invalid user: %d, want 400", c.resp.StatusCode)
	}
}

// POST /sse/send: several newline-separated messages are 202 {"accepted":N}; acks and
// every other reply arrive on the stream, in order, with ids 2, 3, … .
func TestSendRepliesOnStream(t *testing.T) {
	s := start(t, defaults(), Options{})
	ann, _ := s.open("/sse?user=ann")
	bob, _ := s.open("/sse?user=bob")
	status, m := s.post(ann.session, "application/json; charset=utf-8",
		`{"type":"join","room":"r","id":"j1"}`+"\r\n\n"+`{"type":"chat","room":"r","content":"hi","id":"c1"}`+"\n"+`{"type":"nope"}`)
	if status != http.StatusAccepted || m["accepted"] != 3.0 {
		t.Fatalf("POST: %d %v, want 202 accepted 3", status, m)
	}
	var got []string
	want := []string{"joined", "user_joined", "ack", "chat", "ack", "error"}
	for id := 2; len(got) < len(want); id++ {
		e := ann.next()
		if e.data == "" {
			id--
			continue
		}
		if e.id != id {
			t.Fatalf("event %s has id %d, want %d", e.data, e.id, id)
		}
		got = append(got, e.json(t)["type"].(string))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("stream: %v, want %v", got, want)
	}
	// Another connection (a WebSocket would do the same) gets the room's chat.
	if st, _ := s.post(bob.session, "application/json", `{"type":"join","room":"r"}`); st != http.StatusAccepted {
		t.Fatalf("bob's join: %d", st)
	}
	s.post(ann.session, "application/json", `{"type":"chat","room":"r","content":"to bob"}`)
	if m := bob.nextType("chat", "joined", "user_joined"); m["content"] != "to bob" || m["sender"] != "ann" {
		t.Errorf("bob got %v", m)
	}
}

// The refusals of §12: 415, 401 (none, forged), 413 with nothing taken, 410.
func TestSendRefusals(t *testing.T) {
	opts := defaults()
	opts.MaxMessageBytes = 100
	opts.Core.MaxMessageBytes = 100
	s := start(t, opts, Options{})
	ann, _ := s.open("/sse?user=ann")
	ping := `{"type":"ping"}`
	cases := []struct {
		name, session, ct, body string
		status                  int
		code                    string
	}{
		{"wrong content type", ann.session, "text/plain", ping, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"no content type", ann.session, "", ping, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"no session", "", "application/json", ping, http.StatusUnauthorized, "unauthorized"},
		{"garbage session", "abc", "application/json", ping, http.StatusUnauthorized, "unauthorized"},
		{"forged session", forge(ann.session), "application/json", ping, http.StatusUnauthorized, "unauthorized"},
		{"a message over the limit", ann.session, "application/json", ping + "\n" + `{"type":"ping","id":"` + strings.Repeat("x", 100) + `"}`, http.StatusRequestEntityTooLarge, "too_large"},
		{"101 messages", ann.session, "application/json", strings.Repeat(ping+"\n", 101), http.StatusRequestEntityTooLarge, "too_large"},
	}
	for _, tc := range cases {
		status, m := s.post(tc.session, tc.ct, tc.body)
		if status != tc.status || m["error"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, m, tc.status, tc.code)
		}
	}
	// None of the refused bodies was taken: the next event answers the next message.
	if status, m := s.post(ann.session, "application/json", strings.Repeat(`{"type":"ping","id":"p"}`+"\n", 100)); status != http.StatusAccepted || m["accepted"] != 100.0 {
		t.Fatalf("100 messages: %d %v", status, m)
	}
	if m := ann.nextType("pong"); len(m) != 1 {
		t.Errorf("first answer %v", m)
	}
	if m := ann.nextType("ack"); m["id"] != "p" {
		t.Errorf("ack %v", m)
	}
	// A stream that ended: 410.
	ann.close()
	transportWait(t, "the stream to end", func() bool { return s.node.Stats().Live == 0 })
	if status, m := s.post(ann.session, "application/json", ping); status != http.StatusGone || m["error"] != "gone" {
		t.Errorf("ended stream: %d %v, want 410", status, m)
	}
}

// forge changes one character of a session's signature.
func forge(session string) string {
	b := []byte(session)
	i := len(b) - 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// A session signed with another key, or for another node, is unknown on a single node.
func TestSessionOfAnotherNode(t *testing.T) {
	a := start(t, defaults(), Options{})
	opts := defaults()
	opts.Core.NodeID = "other"
	b := start(t, opts, Options{})
	ann, _ := a.open("/sse?user=ann")
	if status, _ := b.post(ann.session, "application/json", `{"type":"ping"}`); status != http.StatusUnauthorized {
		t.Errorf("another node's session on a node with no forwarder: %d, want 401", status)
	}
	// Same node id, another process's key: forged.
	c := start(t, defaults(), Options{})
	if status, _ := c.post(ann.session, "application/json", `{"type":"ping"}`); status != http.StatusUnauthorized {
		t.Errorf("a session of another key: %d, want 401", status)
	}
}

// `: ping` comments come every ping interval, and keep the stream from the idle
// timeout: a stream that takes its bytes is alive.
func TestPingKeepsStreamAlive(t *testing.T) {
	opts := defaults()
	opts.PingInterval, opts.IdleTimeout = 40*time.Millisecond, 200*time.Millisecond
	s := start(t, opts, Options{})
	c, _ := s.open("/sse?user=ann")
	deadline := time.Now().Add(600 * time.Millisecond)
	pings := 0
	for time.Now().Before(deadline) {
		e := c.next()
		if e.data != "" {
			t.Fatalf("event %s on an idle stream", e.data)
		}
		if e.comment != "ping" || e.id != 0 {
			t.Fatalf("comment %+v, want `: ping` with no id", e)
		}
		pings++
	}
	if pings < 5 {
		t.Errorf("%d pings in 600ms at a 40ms interval", pings)
	}
}

// Over --max-conns a stream is answered 200, then gets its closed 4003 event and ends;
// over --max-per-user the user's oldest stream gets closed 4000.
func TestLimitsCloseWithEvent(t *testing.T) {
	opts := defaults()
	opts.Core.MaxConns = 2
	opts.Core.MaxPerUser = 1
	s := start(t, opts, Options{})
	first, _ := s.open("/sse?user=ann")
	bob, _ := s.open("/sse?user=bob")
	over := s.dial("/sse?user=cy")
	if over.resp.StatusCode != http.StatusOK {
		t.Fatalf("over max-conns: %d, want 200", over.resp.StatusCode)
	}
	e := over.next()
	if m := e.json(t); m["type"] != "closed" || m["code"] != 4003.0 || m["reason"] != core.ReasonAtCapacity || e.id != 1 {
		t.Errorf("over max-conns: %+v", e)
	}
	over.expectEnd()

	bob.close()
	transportWait(t, "bob's stream to end", func() bool { return s.node.Stats().Live == 1 })
	s.open("/sse?user=ann")
	m := first.nextType("closed")
	if m["code"] != 4000.0 || m["reason"] != "Replaced by new connection" {
		t.Errorf("replaced stream: %v", m)
	}
	first.expectEnd()
}

// Rate and rooms limits answer on the stream as over a WebSocket.
func TestRateAndRooms(t *testing.T) {
	opts := defaults()
	opts.Core.MaxRoomsPerConn = 1
	opts.Core.Rate, opts.Core.Burst = 1, 3
	s := start(t, opts, Options{})
	c, _ := s.open("/sse?user=ann")
	s.post(c.session, "application/json", `{"type":"join","room":"a","id":"1"}`+"\n"+`{"type":"join","room":"b","id":"2"}`)
	if m := c.nextType("error", "joined", "user_joined", "ack"); m["code"] != "limit_exceeded" || m["id"] != "2" {
		t.Errorf("second room: %v", m)
	}
	s.post(c.session, "application/json", `{"type":"ping"}`+"\n"+`{"type":"ping"}`)
	if m := c.nextType("error", "pong"); m["code"] != "rate_limited" {
		t.Errorf("over the burst: %v", m)
	}
}

// Identity and Origin as for /ws: a foreign Origin 403; with tokens required and no
// token, 401 (there is no auth message here).
func TestHandshakeRules(t *testing.T) {
	s := start(t, defaults(), Options{})
	if c := s.dial("/sse?user=ann", "Origin", "https://evil.example"); c.resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin: %d, want 403", c.resp.StatusCode)
	}
	opts := defaults()
	opts.Identify = func(*http.Request) (core.Identity, error) { return core.Identity{}, auth.ErrAuthMessage }
	opts.Tokens = noTokens{}
	j := start(t, opts, Options{})
	c := j.dial("/sse")
	if c.resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", c.resp.StatusCode)
	}
}

type noTokens struct{}

func (noTokens) VerifyConnection(string) (core.Identity, error) {
	return core.Identity{}, auth.ErrAuthMessage
}
func (noTokens) VerifyRoom(string) (core.Identity, error) {
	return core.Identity{}, auth.ErrAuthMessage
}

// A stream whose client stops reading is closed like a slow consumer (4008), and the
// node lets it go; other streams are not slowed.
func TestSlowStream(t *testing.T) {
	opts := defaults()
	opts.SendQueueBytes = 64 << 10
	s := start(t, opts, Options{})
	stalled := stalledStream(t, s)
	fast, _ := s.open("/sse?user=fast")
	content := strings.Repeat("x", 8<<10)
	deadline := time.Now().Add(timeout)
	for s.node.Stats().SlowConsumers == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stalled stream was never closed")
		}
		if _, err := s.node.Admin(t.Context(), core.AdminRequest{Op: core.AdminBroadcast, Content: content}); err != nil {
			t.Fatal(err)
		}
		if m := fast.nextType("broadcast"); m["content"] != content {
			t.Fatal("the fast stream lost a broadcast")
		}
	}
	stalled.Close()
	transportWait(t, "the slow stream to finish", func() bool { return s.node.Stats().Live == 1 })
}

// stalledStream opens a stream over a socket with a small receive buffer that is never
// read.
func stalledStream(t *testing.T, s *server) net.Conn {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.Write([]byte("GET /sse?user=stalled HTTP/1.1\r\nHost: x\r\n\r\n"))
	transportWait(t, "the stalled stream to connect", func() bool { return s.node.Stats().Live >= 1 })
	return conn
}

func transportWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
