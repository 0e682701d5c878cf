package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// These tests start the real program — run() with flags, on 127.0.0.1:0 — and talk to it
// as users would: a WebSocket client library that is not the server's
// (github.com/coder/websocket), plain HTTP for the admin API, /metrics and /healthz,
// and a real SIGTERM for the shutdown.

const wait = 10 * time.Second // generous, only to avoid hangs

var listeningRE = regexp.MustCompile(`^listening on (http://\S+)$`)

// instance is one running run().
type instance struct {
	t      testing.TB
	url    string        // http://127.0.0.1:PORT
	wsURL  string        // ws://127.0.0.1:PORT
	exited chan struct{} // closed when run returned
	code   int           // run's exit code, once exited is closed
	stderr *syncBuffer
	client *http.Client
}

// syncBuffer is a bytes buffer run() logs into while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the program with args (plus --addr 127.0.0.1:0) and waits for its
// "listening on" line.
func start(t testing.TB, args ...string) *instance {
	t.Helper()
	pr, pw := io.Pipe()
	in := &instance{t: t, exited: make(chan struct{}), stderr: &syncBuffer{}, client: &http.Client{Timeout: wait}}
	args = append([]string{"--addr", "127.0.0.1:0"}, args...)
	go func() {
		in.code = run(args, func(string) string { return "" }, pw, in.stderr)
		pw.Close()
		close(in.exited)
	}()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		m := listeningRE.FindStringSubmatch(line)
		if !ok || m == nil {
			t.Fatalf("first stdout line %q, want `listening on http://HOST:PORT`; stderr:\n%s", line, in.stderr.String())
		}
		in.url = m[1]
		in.wsURL = "ws" + strings.TrimPrefix(in.url, "http")
	case <-in.exited:
		t.Fatalf("run exited %d before listening; stderr:\n%s", in.code, in.stderr.String())
	case <-time.After(wait):
		t.Fatal("no `listening on` line")
	}
	t.Cleanup(func() {
		select {
		case <-in.exited:
		default:
			in.stop()
		}
		in.client.CloseIdleConnections()
	})
	return in
}

// stop sends the process SIGTERM, as an operator would, and returns run's exit code.
// (TestMain keeps a SIGTERM subscription of its own, so a signal that arrives when no
// server listens is ignored instead of ending the test binary.)
func (in *instance) stop() int {
	in.t.Helper()
	return in.stopWith(syscall.SIGTERM)
}

// stopWith sends sig (SIGTERM or SIGINT) and returns run's exit code.
func (in *instance) stopWith(sig syscall.Signal) int {
	in.t.Helper()
	select {
	case <-in.exited:
		return in.code
	default:
	}
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		in.t.Fatal(err)
	}
	select {
	case <-in.exited:
		return in.code
	case <-time.After(2 * wait):
		in.t.Fatalf("run did not return after SIGTERM; stderr:\n%s", in.stderr.String())
		return -1
	}
}

func (in *instance) http(method, path, body string, hdr ...string) (int, string) {
	in.t.Helper()
	req, err := http.NewRequest(method, in.url+path, strings.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json") // as every admin client must (PROTOCOL.md §11)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := in.client.Do(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// expectJSON checks an answer's status and that its body equals want as JSON.
func (in *instance) expectJSON(method, path, body string, status int, want string, hdr ...string) {
	in.t.Helper()
	code, got := in.http(method, path, body, hdr...)
	if code != status {
		in.t.Fatalf("%s %s: status %d, want %d (%s)", method, path, code, status, got)
	}
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		in.t.Fatalf("%s %s: body %q is not JSON", method, path, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		in.t.Fatalf("bad want %q", want)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		in.t.Fatalf("%s %s:\n got %s\nwant %s", method, path, gb, wb)
	}
}

// eventually polls GET path until ok(body) holds; generous deadline, no timing claim.
func (in *instance) eventually(path string, ok func(string) bool) {
	in.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		code, body := in.http("GET", path, "")
		if code == 200 && ok(body+"\n") { // http trims; lines end in \n again

			return
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("GET %s never satisfied the test; last answer %d:\n%s", path, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// client is one WebSocket connection.
type client struct {
	t    testing.TB
	c    *websocket.Conn
	name string
}

func (in *instance) dial(path string, hdr http.Header) (*client, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, in.wsURL+path, &websocket.DialOptions{HTTPHeader: hdr, HTTPClient: in.client})
	if err != nil {
		return nil, resp, err
	}
	return &client{t: in.t, c: c, name: path}, resp, nil
}

// connect dials path and returns the client with its `connected` frame read.
func (in *instance) connect(path string) (*client, map[string]any) {
	in.t.Helper()
	cl, _, err := in.dial(path, nil)
	if err != nil {
		in.t.Fatalf("dial %s: %v", path, err)
	}
	in.t.Cleanup(func() { cl.c.CloseNow() })
	return cl, cl.expect("connected")
}

func (cl *client) send(msg string) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := cl.c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		cl.t.Fatalf("%s: write: %v", cl.name, err)
	}
}

func (cl *client) read() (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	typ, data, err := cl.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		cl.t.Fatalf("%s: binary frame on switchboard.json", cl.name)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		cl.t.Fatalf("%s: frame %q is not a JSON object", cl.name, data)
	}
	return m, nil
}

// expect reads until a frame of type typ, failing on anything but presence noise.
func (cl *client) expect(typ string) map[string]any {
	cl.t.Helper()
	for {
		m, err := cl.read()
		if err != nil {
			cl.t.Fatalf("%s: waiting for %s: %v", cl.name, typ, err)
		}
		if m["type"] == typ {
			return m
		}
		switch m["type"] {
		case "joined", "user_joined", "user_left", "ack":
			continue // order against them is not what these tests check
		}
		cl.t.Fatalf("%s: got %v while waiting for %s", cl.name, m, typ)
	}
}

// expectClose reads until the connection ends and checks the close code and reason.
func (cl *client) expectClose(code websocket.StatusCode, reason string) {
	cl.t.Helper()
	for {
		_, err := cl.read()
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			cl.t.Fatalf("%s: connection ended with %v, want close %d %q", cl.name, err, code, reason)
		}
		if ce.Code != code || ce.Reason != reason {
			cl.t.Fatalf("%s: closed %d %q, want %d %q", cl.name, ce.Code, ce.Reason, code, reason)
		}
		return
	}
}

// closing reads cl in the background until its connection ends and returns that end,
// so the client answers the server's close frame as a live peer would.
func (cl *client) closing() <-chan error {
	ch := make(chan error, 1)
	go func() {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
			_, _, err := cl.c.Read(ctx)
			cancel()
			if err != nil {
				ch <- err
				return
			}
		}
	}()
	return ch
}

// checkClose checks that err is a close with code and reason.
func checkClose(t *testing.T, name string, err error, code websocket.StatusCode, reason string) {
	t.Helper()
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
		t.Errorf("%s: connection ended with %v, want close %d %q", name, err, code, reason)
	}
}

func transports() []string {
	if runtime.GOOS == "linux" {
		return []string{"goroutine", "epoll"}
	}
	return []string{"goroutine"}
}

// TestServe walks one server through PROTOCOL.md §1–§6 as seen from outside, on each
// transport: pages, health, handshakes, room chat, every admin route, metrics, a kick,
// and the SIGTERM shutdown.
func TestServe(t *testing.T) {
	for _, transport := range transports() {
		t.Run(transport, func(t *testing.T) {
			in := start(t, "--transport", transport, "--node-id", "test-node")

			if code, body := in.http("GET", "/healthz", ""); code != 200 || body != "ok" {
				t.Fatalf("/healthz: %d %q", code, body)
			}
			for path, marker := range map[string]string{
				"/": "Switchboard", "/switchboard.js": "export class Switchboard", "/dashboard": "dashboard",
			} {
				if code, body := in.http("GET", path, ""); code != 200 || !strings.Contains(body, marker) {
					t.Fatalf("GET %s: %d, marker %q missing", path, code, marker)
				}
			}

			// Handshakes the server must refuse without upgrading.
			for _, tc := range []struct {
				path   string
				hdr    http.Header
				status int
				code   string
			}{
				{"/ws?user=bad%20name", nil, 400, "bad_request"},
				{"/ws?user=ann", http.Header{"Origin": {"https://evil.example"}}, 403, "forbidden"},
			} {
				_, resp, err := in.dial(tc.path, tc.hdr)
				if err == nil || resp == nil || resp.StatusCode != tc.status {
					t.Fatalf("dial %s: err %v resp %v, want HTTP %d", tc.path, err, resp, tc.status)
				}
				var body struct{ Error, Message string }
				_ = json.NewDecoder(resp.Body).Decode(&body)
				if body.Error != tc.code || body.Message == "" {
					t.Fatalf("dial %s: body %+v, want error %q with a message", tc.path, body, tc.code)
				}
			}

			// A same-origin browser and a guest are let in (and stay connected).
			browser, _, err := in.dial("/ws?user=carol", http.Header{"Origin": {in.url}})
			if err != nil {
				t.Fatalf("same-origin handshake refused: %v", err)
			}
			t.Cleanup(func() { browser.c.CloseNow() })
			if m := browser.expect("connected"); m["user_id"] != "carol" {
				t.Fatalf("carol: %v", m)
			}
			guestCl, guest := in.connect("/ws")
			if u, _ := guest["user_id"].(string); !strings.HasPrefix(u, "guest-") {
				t.Fatalf("guest connected as %v", guest)
			}

			ann, hello := in.connect("/ws?user=ann")
			if hello["user_id"] != "ann" || hello["conn_id"] == nil || hello["timestamp"] == nil {
				t.Fatalf("connected frame %v", hello)
			}
			bob, hello := in.connect("/ws/bob")
			if hello["user_id"] != "bob" {
				t.Fatalf("/ws/bob connected as %v", hello)
			}

			ann.send(`{"type":"join","room":"lobby","id":"j1"}`)
			if m := ann.expect("user_joined"); m["room"] != "lobby" || m["user_id"] != "ann" {
				t.Fatalf("ann's own user_joined: %v", m)
			}
			bob.send(`{"type":"join","room":"lobby"}`)
			m := ann.expect("user_joined")
			if m["user_id"] != "bob" || !equalList(m["members"], "ann", "bob") {
				t.Fatalf("ann sees bob join: %v", m)
			}
			bob.expect("user_joined")
			bob.send(`{"type":"chat","room":"lobby","content":"hi ann","sender":"mallory"}`)
			m = ann.expect("chat")
			if m["sender"] != "bob" || m["content"] != "hi ann" || m["offset"] != 1.0 {
				t.Fatalf("chat at ann: %v", m)
			}
			bob.expect("chat")

			// The admin API, loopback without a token.
			in.expectJSON("GET", "/api/stats", "", 200,
				`{"total_connections":4,"unique_users":4,"max_connections":10000,"rooms":1,"node_id":"test-node"}`)
			code, body := in.http("GET", "/api/users", "")
			var users struct {
				Users []string
				Total int
			}
			if json.Unmarshal([]byte(body), &users); code != 200 || users.Total != 4 || !contains(users.Users, "ann") || !contains(users.Users, "bob") {
				t.Fatalf("/api/users: %d %s", code, body)
			}
			in.expectJSON("GET", "/api/rooms", "", 200, `{"rooms":[{"name":"lobby","members":2}],"total":1}`)
			in.expectJSON("GET", "/api/rooms/lobby/members", "", 200, `{"room":"lobby","members":["ann","bob"]}`)
			in.expectJSON("POST", "/api/rooms/lobby/publish", `{"content":"from ops"}`, 200, `{"delivered":2,"offset":2}`)
			if m := ann.expect("chat"); m["sender"] != "server" || m["content"] != "from ops" || m["offset"] != 2.0 {
				t.Fatalf("published chat: %v", m)
			}
			bob.expect("chat")
			in.expectJSON("POST", "/api/users/ann/send", `{"content":"psst"}`, 200, `{"delivered":1}`)
			if m := ann.expect("private"); m["content"] != "psst" || m["to"] != "ann" {
				t.Fatalf("admin private: %v", m)
			}
			in.expectJSON("POST", "/api/broadcast", `{"content":"all hands","exclude":"bob"}`, 200, `{"delivered":3}`)
			if m := ann.expect("broadcast"); m["sender"] != "server" || m["content"] != "all hands" {
				t.Fatalf("admin broadcast: %v", m)
			}
			in.expectJSON("POST", "/api/system", `{"content":"lobby notice","room":"lobby"}`, 200, `{"delivered":2}`)
			if m := bob.expect("system"); m["content"] != "lobby notice" || m["room"] != "lobby" {
				t.Fatalf("system: %v", m)
			}
			ann.expect("system")
			code, body = in.http("POST", "/api/users/zed/send", `{"content":"x"}`)
			if code != 404 {
				t.Fatalf("send to offline user: %d %s", code, body)
			}
			if code, body := in.http("POST", "/api/broadcast", `{"content":`); code != 400 || !strings.Contains(body, `"error":"bad_request"`) {
				t.Fatalf("bad JSON: %d %s", code, body)
			}
			if code, _ := in.http("GET", "/api/broadcast", ""); code != 405 {
				t.Fatalf("GET /api/broadcast: %d, want 405", code)
			}

			// /metrics: the Prometheus text with the names of §6. The room gauge follows
			// the node's periodic sweep, so it is polled for.
			in.eventually("/metrics", func(body string) bool {
				return strings.Contains(body, "\nswitchboard_connections 4\n") && strings.Contains(body, "\nswitchboard_rooms 1\n")
			})
			_, body = in.http("GET", "/metrics", "")
			for _, want := range []string{
				"\nswitchboard_messages_received_total ", "\nswitchboard_messages_delivered_total ",
				"\nswitchboard_closes_total{code=\"1000\"} ", "\ngo_goroutines ", "\nprocess_resident_memory_bytes ",
			} {
				if !strings.Contains(body, want) {
					t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
				}
			}

			// A kick closes every connection of the user 4009 Kicked.
			in.expectJSON("POST", "/api/users/bob/disconnect", "", 200, `{"closed":1}`)
			bob.expectClose(4009, "Kicked")
			if m := ann.expect("user_left"); m["user_id"] != "bob" {
				t.Fatalf("user_left: %v", m)
			}

			// SIGTERM: every client is closed 1001 and run returns 0. The clients read
			// meanwhile, so they answer the close frame as live peers do.
			closings := map[string]<-chan error{"ann": ann.closing(), "carol": browser.closing(), "guest": guestCl.closing()}
			if code := in.stop(); code != 0 {
				t.Fatalf("exit code %d after SIGTERM; stderr:\n%s", code, in.stderr.String())
			}
			for name, ch := range closings {
				checkClose(t, name, <-ch, websocket.StatusGoingAway, "Server shutting down")
			}
			if _, _, err := in.dial("/ws?user=late", nil); err == nil {
				t.Fatal("a connection was accepted after shutdown")
			}
		})
	}
}

func TestJWTAndAdminToken(t *testing.T) {
	secret := "test-secret"
	in := start(t, "--auth", "jwt", "--jwt-secret", secret, "--admin-token", "ops-token")

	// (A handshake with no token at all is upgraded and waits for `auth`: access_test.go.)
	_, resp, err := in.dial("/ws?user=ann", http.Header{"Authorization": {"Bearer not-a-token"}})
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("bad token: err %v resp %v, want 401", err, resp)
	}
	var body struct{ Error, Message string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if body.Error != "unauthorized" || body.Message == "" {
		t.Fatalf("401 body %+v", body)
	}
	sign := func(key string, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for name, tok := range map[string]string{
		"wrong key": sign("other", jwt.MapClaims{"sub": "ann"}),
		"expired":   sign(secret, jwt.MapClaims{"sub": "ann", "exp": time.Now().Add(-time.Minute).Unix()}),
	} {
		if _, resp, err := in.dial("/ws?token="+tok, nil); err == nil || resp == nil || resp.StatusCode != 401 {
			t.Fatalf("%s: err %v resp %v, want 401", name, err, resp)
		}
	}
	dora, hello := in.connect("/ws?token=" + sign(secret, jwt.MapClaims{"sub": "dora", "exp": time.Now().Add(time.Hour).Unix()}))
	if hello["user_id"] != "dora" {
		t.Fatalf("token user: %v", hello)
	}

	in.expectJSON("GET", "/api/stats", "", 401, `{"error":"unauthorized","message":"a valid Authorization: Bearer token is required"}`)
	code, body2 := in.http("GET", "/api/users", "", "Authorization", "Bearer ops-token")
	if code != 200 || !strings.Contains(body2, `"dora"`) {
		t.Fatalf("with token: %d %s", code, body2)
	}
	closed := dora.closing()
	if code := in.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	checkClose(t, "dora", <-closed, websocket.StatusGoingAway, "Server shutting down")
}

func TestHealthzDuringShutdown(t *testing.T) {
	// Not observable from outside without racing the listener; the handler is checked directly.
	s := &server{}
	for _, tc := range []struct {
		stopping bool
		code     int
		body     string
	}{{false, 200, "ok"}, {true, 503, "draining"}} {
		s.stopping.Store(tc.stopping)
		w := &recorder{header: http.Header{}}
		s.healthz(w, nil)
		if w.code != tc.code || w.body.String() != tc.body {
			t.Errorf("stopping=%v: %d %q", tc.stopping, w.code, w.body.String())
		}
	}
}

type recorder struct {
	header http.Header
	code   int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) { r.code = code }

func TestListenFailure(t *testing.T) {
	in := start(t)
	addr := strings.TrimPrefix(in.url, "http://")
	var stderr syncBuffer
	code := run([]string{"--addr", addr}, func(string) string { return "" }, io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "address already in use") {
		t.Fatalf("second server on %s: exit %d, stderr %q", addr, code, stderr.String())
	}
	// SIGINT (Ctrl-C) ends the first one as cleanly as SIGTERM.
	if code := in.stopWith(syscall.SIGINT); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func equalList(v any, want ...string) bool {
	l, ok := v.([]any)
	if !ok || len(l) != len(want) {
		return false
	}
	for i := range l {
		if l[i] != want[i] {
			return false
		}
	}
	return true
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestLimitsFromFlags checks that each limit flag of PROTOCOL.md §1 reaches the server:
// what a client sees when it crosses --max-per-user, --max-conns, --max-rooms-per-conn,
// --allow-client-broadcast, --rate/--burst, --history and --max-message-bytes.
func TestLimitsFromFlags(t *testing.T) {
	for _, transport := range transports() {
		t.Run(transport, func(t *testing.T) {
			in := start(t, "--transport", transport, "--max-conns", "4", "--max-per-user", "1",
				"--max-rooms-per-conn", "1", "--allow-client-broadcast=false", "--history", "2",
				"--max-message-bytes", "200", "--rate", "0.001", "--burst", "6")

			// --max-per-user 1: a second tab replaces the first.
			ann1, _ := in.connect("/ws?user=ann")
			ann, _ := in.connect("/ws?user=ann")
			ann1.expectClose(4000, "Replaced by new connection")

			// --max-conns 4: ann, u2, u3, u4 fill the server; u5 is accepted, then closed.
			u2, _ := in.connect("/ws?user=u2")
			_, _ = in.connect("/ws?user=u3")
			u4, _ := in.connect("/ws?user=u4")
			u5, _, err := in.dial("/ws?user=u5", nil)
			if err != nil {
				t.Fatalf("u5 handshake: %v", err)
			}
			t.Cleanup(func() { u5.c.CloseNow() })
			u5.expectClose(4003, "Server at capacity")

			// --max-rooms-per-conn 1, --allow-client-broadcast=false; six messages of
			// burst, then rate_limited (--rate 0.001 refills nothing during the test).
			ann.send(`{"type":"join","room":"r1","id":"1"}`)
			if m := ann.expect("ack"); m["id"] != "1" {
				t.Fatalf("join ack %v", m)
			}
			ann.send(`{"type":"join","room":"r2","id":"2"}`)
			if m := ann.expect("error"); m["code"] != "limit_exceeded" || m["id"] != "2" {
				t.Fatalf("second room: %v", m)
			}
			ann.send(`{"type":"broadcast","content":"all","id":"3"}`)
			if m := ann.expect("error"); m["code"] != "forbidden" || m["id"] != "3" {
				t.Fatalf("client broadcast: %v", m)
			}
			for i := 1; i <= 3; i++ {
				ann.send(`{"type":"chat","room":"r1","content":"m"}`)
				if m := ann.expect("chat"); m["offset"] != float64(i) {
					t.Fatalf("chat %d: %v", i, m)
				}
			}
			ann.send(`{"type":"ping","id":"7"}`)
			if m := ann.expect("error"); m["code"] != "rate_limited" || m["id"] != "7" {
				t.Fatalf("seventh message: %v", m)
			}

			// --history 2: offsets 1–3 were sent, only 2 and 3 are held.
			u4.send(`{"type":"join","room":"r1","since":0}`)
			if m := u4.expect("error"); m["code"] != "history_gap" || m["room"] != "r1" {
				t.Fatalf("recovery from 0: %v", m)
			}
			for _, want := range []float64{2, 3} {
				if m := u4.expect("chat"); m["offset"] != want {
					t.Fatalf("replayed %v, want offset %v", m, want)
				}
			}

			// --max-message-bytes 200: a bigger frame closes 1009.
			u2.send(`{"type":"ping","pad":"` + strings.Repeat("x", 250) + `"}`)
			u2.expectClose(websocket.StatusMessageTooBig, "")
		})
	}
}

// TestIdleTimeoutFromFlag: a client that sends nothing (not even pongs: it never reads)
// for --idle-timeout is closed 1001 "Idle timeout".
func TestIdleTimeoutFromFlag(t *testing.T) {
	in := start(t, "--idle-timeout", "1s", "--ping-interval", "300ms")
	quiet, _ := in.connect("/ws?user=quiet")
	// Reading would answer the server's pings, so wait (without reading) until the
	// server has let the connection go, then read what it said.
	in.eventually("/api/stats", func(body string) bool { return strings.Contains(body, `"total_connections":0`) })
	quiet.expectClose(websocket.StatusGoingAway, "Idle timeout")
}

// TestAllowedOriginsFromFlag: --allowed-origins lets listed browser origins in; others
// still get 403.
func TestAllowedOriginsFromFlag(t *testing.T) {
	in := start(t, "--allowed-origins", "https://*.example.com, http://localhost:3000")
	for origin, ok := range map[string]bool{
		"https://app.example.com": true,
		"http://localhost:3000":   true,
		"https://example.com":     false,
		"https://evil.test":       false,
	} {
		cl, resp, err := in.dial("/ws?user=ann", http.Header{"Origin": {origin}})
		if ok {
			if err != nil {
				t.Fatalf("Origin %s refused: %v", origin, err)
			}
			cl.expect("connected")
			cl.c.Close(websocket.StatusNormalClosure, "")
			continue
		}
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("Origin %s: err %v resp %v, want 403", origin, err, resp)
		}
	}
}
