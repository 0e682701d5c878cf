package sse

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchboard-ws/switchboard/adapters/auth"
	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/transporttest"
	"github.com/switchboard-ws/switchboard/core"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// factory serves the SSE endpoints with opts.
func factory(opts Options) transporttest.Factory {
	return func(t *testing.T, n *node.Node) (http.Handler, func()) { return New(n, opts), func() {} }
}

func start(t *testing.T, opts node.Options) *transporttest.Server {
	return transporttest.StartSSE(t, factory(Options{}), opts)
}

// The transport suite's cases that apply to an event stream.
func TestTransport(t *testing.T) { transporttest.RunSSE(t, factory(Options{})) }

// POST /sse/send: several newline-separated messages are 202 {"accepted":N}; acks and
// every other reply (errors about them too) arrive on the stream, in order, with ids
// 2, 3, … .
func TestSendRepliesOnStream(t *testing.T) {
	s := start(t, node.Options{})
	ann, _ := s.OpenSSE("/sse?user=ann")
	status, m := s.PostSSE(ann.Session, "application/json; charset=utf-8",
		`{"type":"join","room":"r","id":"j1"}`+"\r\n\n"+`{"type":"chat","room":"r","content":"hi","id":"c1"}`+"\n"+`{"type":"nope"}`)
	if status != http.StatusAccepted || m["accepted"] != 3.0 {
		t.Fatalf("POST: %d %v, want 202 accepted 3", status, m)
	}
	var got []string
	want := []string{"joined", "user_joined", "ack", "chat", "ack", "error"}
	for id := 2; len(got) < len(want); {
		e := ann.Next()
		if e.Data == "" {
			continue
		}
		if e.ID != id {
			t.Fatalf("event %s has id %d, want %d", e.Data, e.ID, id)
		}
		id++
		got = append(got, e.JSON(t)["type"].(string))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("stream: %v, want %v", got, want)
	}
}

// The refusals of §12: 415, 401 (none, forged), 413 with nothing taken, 410.
func TestSendRefusals(t *testing.T) {
	s := start(t, node.Options{MaxMessageBytes: 100, Core: core.Config{MaxMessageBytes: 100}})
	ann, _ := s.OpenSSE("/sse?user=ann")
	ping := `{"type":"ping"}`
	for _, tc := range []struct {
		name, session, ct, body string
		status                  int
		code                    string
	}{
		{"wrong content type", ann.Session, "text/plain", ping, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"no content type", ann.Session, "", ping, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"no session", "", "application/json", ping, http.StatusUnauthorized, "unauthorized"},
		{"garbage session", "abc", "application/json", ping, http.StatusUnauthorized, "unauthorized"},
		{"forged session", forge(ann.Session), "application/json", ping, http.StatusUnauthorized, "unauthorized"},
		{"a message over the limit", ann.Session, "application/json", ping + "\n" + `{"type":"ping","id":"` + strings.Repeat("x", 100) + `"}`, http.StatusRequestEntityTooLarge, "too_large"},
		{"101 messages", ann.Session, "application/json", strings.Repeat(ping+"\n", 101), http.StatusRequestEntityTooLarge, "too_large"},
	} {
		status, m := s.PostSSE(tc.session, tc.ct, tc.body)
		if status != tc.status || m["error"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, m, tc.status, tc.code)
		}
	}
	// None of the refused bodies was taken: the next events answer the next body.
	if status, m := s.PostSSE(ann.Session, "application/json", strings.Repeat(`{"type":"ping","id":"p"}`+"\n", 100)); status != http.StatusAccepted || m["accepted"] != 100.0 {
		t.Fatalf("100 messages: %d %v", status, m)
	}
	if m := ann.ReadType("pong"); len(m) != 1 {
		t.Errorf("first answer %v", m)
	}
	if m := ann.ReadType("ack"); m["id"] != "p" {
		t.Errorf("ack %v", m)
	}
	// A stream that ended: 410.
	ann.Close()
	transporttest.WaitFor(t, "the stream to end", func() bool { return s.Node.Stats().Live == 0 })
	if status, m := s.PostSSE(ann.Session, "application/json", ping); status != http.StatusGone || m["error"] != "gone" {
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

// A session for another node is unknown on a node with no forwarder; one signed with
// another process's key is forged.
func TestSessionOfAnotherNode(t *testing.T) {
	a := start(t, node.Options{})
	b := start(t, node.Options{Core: core.Config{NodeID: "other"}})
	c := start(t, node.Options{})
	ann, _ := a.OpenSSE("/sse?user=ann")
	if status, _ := b.PostSSE(ann.Session, "application/json", `{"type":"ping"}`); status != http.StatusUnauthorized {
		t.Errorf("another node's session on a node with no forwarder: %d, want 401", status)
	}
	if status, _ := c.PostSSE(ann.Session, "application/json", `{"type":"ping"}`); status != http.StatusUnauthorized {
		t.Errorf("a session of another key: %d, want 401", status)
	}
}

// With a key every node shares, a node tells a forged session (401) from one of a
// stream whose node is gone (410) on its own.
func TestSharedKey(t *testing.T) {
	key := []byte("a key every node of the cluster is configured with")
	a := transporttest.StartSSE(t, factory(Options{Key: key}), node.Options{Core: core.Config{NodeID: "a"}})
	b := transporttest.StartSSE(t, factory(Options{Key: key}), node.Options{Core: core.Config{NodeID: "b"}})
	ann, _ := a.OpenSSE("/sse?user=ann")
	if status, _ := b.PostSSE(ann.Session, "application/json", `{"type":"ping"}`); status != http.StatusGone {
		t.Errorf("a stream of a node that cannot be reached: %d, want 410", status)
	}
	if status, _ := b.PostSSE(forge(ann.Session), "application/json", `{"type":"ping"}`); status != http.StatusUnauthorized {
		t.Errorf("forged: %d, want 401", status)
	}
}

// Rate and rooms limits answer on the stream as over a WebSocket.
func TestRateAndRooms(t *testing.T) {
	s := start(t, node.Options{Core: core.Config{MaxRoomsPerConn: 1, Rate: 1, Burst: 3}})
	st, _ := s.OpenSSE("/sse?user=ann")
	st.Send(`{"type":"join","room":"a","id":"1"}`, `{"type":"join","room":"b","id":"2"}`)
	if m := st.ReadType("error", "joined", "user_joined", "ack"); m["code"] != "limit_exceeded" || m["id"] != "2" {
		t.Errorf("second room: %v", m)
	}
	st.Send(`{"type":"ping"}`, `{"type":"ping"}`)
	if m := st.ReadType("error", "pong"); m["code"] != "rate_limited" {
		t.Errorf("over the burst: %v", m)
	}
}

// Identity as for /ws, without the auth message: with tokens required and none in the
// request, 401; an invalid user id, 400.
func TestIdentity(t *testing.T) {
	j := start(t, node.Options{
		Identify: func(*http.Request) (core.Identity, error) { return core.Identity{}, auth.ErrAuthMessage },
		Tokens:   noTokens{},
	})
	if st := j.DialSSE("/sse"); st.Response.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %s, want 401", st.Response.Status)
	}
	s := start(t, node.Options{})
	if st := s.DialSSE("/sse?user=bad%20name"); st.Response.StatusCode != http.StatusBadRequest {
		t.Errorf("invalid user: %s, want 400", st.Response.Status)
	}
}

// Each path takes its own method only.
func TestMethods(t *testing.T) {
	s := start(t, node.Options{})
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodGet, "/sse/send", "POST"},
		{http.MethodPost, "/sse", "GET"},
		{http.MethodPut, "/sse/ann", "GET"},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+s.Addr+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %s Allow %q, want 405 Allow %s", tc.method, tc.path, resp.Status, resp.Header.Get("Allow"), tc.allow)
		}
	}
}

type noTokens struct{}

func (noTokens) VerifyConnection(string) (core.Identity, error) {
	return core.Identity{}, auth.ErrAuthMessage
}
func (noTokens) VerifyRoom(string) (core.Identity, error) {
	return core.Identity{}, auth.ErrAuthMessage
}

// BenchmarkFanout: a WebSocket sender's chat to a room of SSE streams, end to end (see
// transporttest.BenchFanoutSSE); compare with adapters/nethttp's BenchmarkFanout.
func BenchmarkFanout(b *testing.B) {
	transporttest.BenchFanoutSSE(b, func(_ testing.TB, n *node.Node) (http.Handler, func()) {
		return New(n, Options{}), func() {}
	}, func(_ testing.TB, n *node.Node) (http.Handler, func()) {
		return nethttp.New(n), func() {}
	})
}

// BenchmarkIdle: heap and stacks per idle stream (run with -benchtime=1x); compare with
// adapters/nethttp's and adapters/epoll's BenchmarkIdle.
func BenchmarkIdle(b *testing.B) {
	transporttest.BenchIdle(b, func(_ testing.TB, n *node.Node) (http.Handler, func()) {
		return New(n, Options{}), func() {}
	}, "/sse", false, 2000)
}

// Over HTTP/2, where the socket cannot be taken, the stream is written through the
// ResponseWriter: the same events, ids and session, and it ends with the node.
func TestHTTP2Stream(t *testing.T) {
	n := node.New(node.Options{PingInterval: 30 * time.Millisecond})
	h := New(n, Options{})
	mux := http.NewServeMux()
	mux.Handle("/sse", h)
	mux.Handle("/sse/send", h)
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()
	resp, err := client.Get(srv.URL + "/sse?user=ann")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /sse: %s %d %v", resp.Proto, resp.StatusCode, resp.Header)
	}
	br := bufio.NewReader(resp.Body)
	next := func() (id, data string) {
		t.Helper()
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			switch line = strings.TrimSuffix(line, "\n"); {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			case line == "" && data != "":
				return id, data
			}
		}
	}
	id, data := next()
	var connected struct{ Type, Session string }
	if json.Unmarshal([]byte(data), &connected); id != "1" || connected.Type != "connected" || connected.Session == "" {
		t.Fatalf("first event %s %s", id, data)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/sse/send", strings.NewReader(`{"type":"ping","id":"p"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SessionHeader, connected.Session)
	if r, err := client.Do(req); err != nil || r.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	if id, data := next(); id != "2" || data != `{"type":"pong"}` {
		t.Fatalf("second event %s %s", id, data)
	}
	if id, data := next(); id != "3" || data != `{"type":"ack","id":"p"}` {
		t.Fatalf("third event %s %s", id, data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go n.Shutdown(ctx)
	if _, data := next(); data != `{"type":"closed","code":1001,"reason":"Server shutting down"}` {
		t.Fatalf("last event %s", data)
	}
	<-n.Drained()
	client.CloseIdleConnections()
}
