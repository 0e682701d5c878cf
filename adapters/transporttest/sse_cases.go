package transporttest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
)

// RunSSE runs the suite's cases that make sense over Server-Sent Events (PROTOCOL.md
// §12) against the SSE transport newTransport builds: the same rules as over a
// WebSocket, a close code arriving as the stream's last `closed` event. (The frame
// rules of §5 and §11 have no SSE counterpart: a client's messages come in POSTs.)
func RunSSE(t *testing.T, newTransport Factory) {
	cases := []struct {
		name string
		run  func(*testing.T, Factory)
	}{
		{"ConnectedFirst", testSSEConnectedFirst},
		{"JoinAndChatAcrossClients", testSSEJoinAndChat},
		{"PingsKeepAReaderAlive", testSSEPings},
		{"AtCapacity4003", testSSECapacity},
		{"PerUserReplace4000", testSSEReplace},
		{"IdentifyRefusalsNeverStream", testSSEIdentify},
		{"ShutdownCloses1001", testSSEShutdown},
		{"SlowConsumer4008", testSSESlowConsumer},
		{"HeadersOver16KiB431", testSSEHeaderLimit},
		{"OriginRuleWhateverIdentifies", testSSEOrigin},
		{"MaxConnsPerIP503", testSSEMaxConnsPerIP},
		{"DrainInBatches", testSSEDrain},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newTransport) })
	}
}

// sseStatus sends GET path with extra header lines on a new connection and returns the
// answer's status (and headers) without waiting for a stream's body.
func (s *Server) sseStatus(path string, extra ...string) *http.Response {
	s.t.Helper()
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		s.t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(timeout))
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n", path)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	nc.Write([]byte(b.String()))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

func testSSEConnectedFirst(t *testing.T, f Factory) {
	s := StartSSE(t, f, node.Options{})
	for path, user := range map[string]string{"/sse?user=ann": "ann", "/sse/bob": "bob"} {
		st := s.DialSSE(path)
		if h := st.Response.Header; st.Response.StatusCode != http.StatusOK || h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" {
			t.Fatalf("GET %s: %s %v", path, st.Response.Status, h)
		}
		e := st.Next()
		m := e.JSON(t)
		if e.ID != 1 || m["type"] != "connected" || m["user_id"] != user || m["conn_id"] == nil || m["session"] == nil {
			t.Fatalf("GET %s: first event %+v", path, e)
		}
	}
}

func testSSEJoinAndChat(t *testing.T, f Factory) {
	s := StartSSE(t, f, node.Options{})
	ann, _ := s.OpenSSE("/sse?user=ann")
	bob, _ := s.OpenSSE("/sse?user=bob")
	ann.Send(`{"type":"join","room":"lobby"}`)
	if m := ann.ReadType("joined"); m["room"] != "lobby" || m["offset"] != float64(0) || m["recovered"] != false {
		t.Fatalf("joined %v", m)
	}
	ann.ReadType("user_joined")
	bob.Send(`{"type":"join","room":"lobby","id":"j1"}`, `{"type":"chat","room":"lobby","content":"hello ann"}`)
	bob.ReadType("ack", "joined", "user_joined")
	for _, st := range []*Stream{ann, bob} {
		if m := st.ReadType("chat", "user_joined"); m["sender"] != "bob" || m["content"] != "hello ann" || m["room"] != "lobby" {
			t.Fatalf("chat %v", m)
		}
	}
}

// testSSEPings: `: ping` comments (no id) come every ping interval, and a client that
// takes them is not idle (it has no pong to send).
func testSSEPings(t *testing.T, f Factory) {
	s := StartSSE(t, f, node.Options{PingInterval: 40 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	st, _ := s.OpenSSE("/sse?user=ann")
	pings := 0
	for end := time.Now().Add(600 * time.Millisecond); time.Now().Before(end); pings++ {
		if e := st.Next(); e.Data != "" || e.Comment != "ping" || e.ID != 0 {
			t.Fatalf("got %+v on an idle stream, want `: ping` comments only", e)
		}
	}
	if pings < 5 {
		t.Fatalf("%d pings in 600ms at a 40ms interval", pings)
	}
}

func testSSECapacity(t *testing.T, f Factory) {
	s := StartSSE(t, f, node.Options{Core: core.Config{MaxConns: 1}})
	s.OpenSSE("/sse?user=a")
	b := s.DialSSE("/sse?user=b")
	if b.Response.StatusCode != http.StatusOK {
		t.Fatalf("over max-conns: %s, want 200 then closed", b.Response.Status)
	}
	b.ExpectClosed(4003, "Server at capacity")
}

func testSSEReplace(t *testing.T, f Factory) {
	s := StartSSE(t, f, node.Options{Core: core.Config{MaxPerUser: 1}})
	old, _ := s.OpenSSE("/sse?user=ann")
	s.OpenSSE("/sse?user=ann")
	old.ExpectClosed(4000, "Replaced by new connection")
}

func testSSEIdentify(t *testing.T, f Factory) {
	s := StartSSE(t, f, node.Options{Identify: func(r *http.Request) (core.Identity, error) {
		if r.URL.Query().Get("token") != "good" {
			return core.Identity{}, &node.HTTPError{Status: 401, Code: "unauthorized", Message: "bad token"}
		}
		return core.Identity{User: "ann"}, nil
	}})
	resp := s.sseStatus("/sse?token=bad")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("a bad token: %s %q, want 401 JSON", resp.Status, resp.Header.Get("Content-Type"))
	}
	if _, m := s.OpenSSE("/sse?token=good"); m["user_id"] != "ann" {
		t.Fatalf("identified as %v", m["user_id"])
	}
}

func testSSEShutdown(t *testing.T, f Factory) {
	s := StartSSE(t, f, node.Options{})
	a, _ := s.OpenSSE("/sse?user=a")
	b, _ := s.OpenSSE("/sse?user=b")
	done := make(chan struct{})
	go func() { defer close(done); s.Shutdown() }()
	a.ExpectClosed(1001, "Server shutting down")
	b.ExpectClosed(1001, "Server shutting down")
	<-done
	if resp := s.sseStatus("/sse?user=late"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after shutdown: %s", resp.Status)
	}
}

// testSSESlowConsumer: a stream whose client stops reading is closed 4008 while a
// reading stream gets every message; the bytes queued never pass the limit.
func testSSESlowConsumer(t *testing.T, f Factory) {
	const limit = 64 << 10
	s := StartSSE(t, f, node.Options{SendQueueBytes: limit})
	d := &net.Dialer{Control: smallReceiveBuffer}
	slow, err := d.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte("GET /sse?user=slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	WaitFor(t, "the slow stream", func() bool { return s.Node.Stats().Live == 1 })
	reader, _ := s.OpenSSE("/sse?user=reader")
	content := strings.Repeat("z", 4000)
	sent := 0
	for s.Node.Stats().SlowConsumers == 0 {
		if sent > 20000 {
			t.Fatal("the stream that stopped reading was never closed")
		}
		s.Admin(core.AdminRequest{Op: core.AdminBroadcast, Content: content})
		sent++
		if m := reader.ReadType("broadcast"); m["content"] != content {
			t.Fatalf("the reading stream got %v", m)
		}
	}
	if st := s.Node.Stats(); st.PeakConnQueue > limit || st.SlowConsumers != 1 {
		t.Fatalf("peak queue %d (limit %d), %d slow consumers", st.PeakConnQueue, limit, st.SlowConsumers)
	}
	// The slow client reads again: after what the kernel held, the closed event says why.
	br := bufio.NewReader(slow)
	slow.SetReadDeadline(time.Now().Add(timeout))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			// The close event may be lost with the bytes a full socket never took; the
			// node's grace then aborts the response. Either way the stream ended.
			break
		}
		if strings.Contains(line, `"type":"closed"`) {
			if !strings.Contains(line, `"code":4008,"reason":"Slow consumer"`) {
				t.Fatalf("closed event %q", line)
			}
			break
		}
	}
	WaitFor(t, "the slow stream to finish", func() bool { return s.Node.Stats().Live == 1 })
	t.Logf("%d broadcasts sent before the slow stream was closed", sent)
}

func testSSEHeaderLimit(t *testing.T, f Factory) {
	s := StartSSE(t, f, node.Options{})
	if resp := s.sseStatus("/sse?user=u", "X-Filler: "+strings.Repeat("a", 17<<10)); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("17 KiB of headers answered %s", resp.Status)
	}
	st := s.DialSSE("/sse?user=u", "X-Filler", strings.Repeat("c", 15<<10))
	if st.Response.StatusCode != http.StatusOK {
		t.Fatalf("15 KiB of headers answered %s", st.Response.Status)
	}
}

func testSSEOrigin(t *testing.T, f Factory) {
	s := StartSSE(t, f, node.Options{
		Identify:       func(*http.Request) (core.Identity, error) { return core.Identity{User: "ann"}, nil },
		AllowedOrigins: []string{"https://*.example.com"},
	})
	for origin, status := range map[string]int{
		"http://evil.example": http.StatusForbidden, "null": http.StatusForbidden,
		"http://" + s.Addr: http.StatusOK, "https://app.example.com": http.StatusOK, // the request's own host, an allowed one
	} {
		st := s.DialSSE("/sse", "Origin", origin)
		if st.Response.StatusCode != status {
			t.Fatalf("Origin %s answered %s, want %d", origin, st.Response.Status, status)
		}
		st.Close()
	}
}

func testSSEMaxConnsPerIP(t *testing.T, f Factory) {
	s := StartSSE(t, f, node.Options{MaxConnsPerIP: 2})
	a, _ := s.OpenSSE("/sse?user=a")
	s.OpenSSE("/sse?user=b")
	resp := s.sseStatus("/sse?user=c")
	retryAfter(t, &Answer{Response: resp}, "a third stream from one address")
	a.Close()
	WaitFor(t, "the closed stream to free its place", func() bool { return s.Node.Stats().Live == 1 })
	s.OpenSSE("/sse?user=c")
}

func testSSEDrain(t *testing.T, f Factory) {
	const conns, rate = 30, 20
	s := StartSSE(t, f, node.Options{Core: core.Config{MaxPerUser: conns}})
	streams := make([]*Stream, conns)
	for i := range streams {
		streams[i], _ = s.OpenSSE("/sse?user=d")
	}
	start := time.Now()
	if n := s.Node.Drain(rate); n != conns {
		t.Fatalf("Drain reported %d connections, want %d", n, conns)
	}
	retryAfter(t, &Answer{Response: s.sseStatus("/sse?user=late")}, "a stream while draining")
	var mu sync.Mutex
	var first, last time.Duration
	var wg sync.WaitGroup
	for _, st := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.ExpectClosed(1001, "Server shutting down")
			d := time.Since(start)
			mu.Lock()
			if first == 0 || d < first {
				first = d
			}
			last = max(last, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if spread := last - first; spread < time.Second {
		t.Fatalf("30 streams closed within %v: not in batches of 20 per second", spread)
	}
}
