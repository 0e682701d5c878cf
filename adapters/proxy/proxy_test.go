package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/proxy"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backend is the application's side, served by the test: it records every call and
// answers by the rules of the test.
type backend struct {
	*httptest.Server
	mu       sync.Mutex
	calls    []map[string]any // hook → body, in order ("hook" added)
	newConns atomic.Int32
	delay    atomic.Int64 // ns slept before every answer
}

func newBackend(t *testing.T, answer func(hook string, body map[string]any) (int, any)) *backend {
	b := &backend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("bad hook request %s %s: %v", r.Method, r.URL, err)
		}
		hook := strings.TrimPrefix(r.URL.Path, "/sb/")
		body["hook"] = hook
		b.mu.Lock()
		b.calls = append(b.calls, body)
		b.mu.Unlock()
		if d := b.delay.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		status, a := answer(hook, body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(a)
	}))
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.newConns.Add(1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func (b *backend) seen() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

// server is a node with the proxy hooks on the nethttp transport.
type server struct {
	*httptest.Server
	n      *node.Node
	client *http.Client
}

func startServer(t *testing.T, backendURL string, connect bool, opts node.Options) *server {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	hooks := proxy.New(proxy.Options{URL: backendURL + "/sb", Client: client, Connect: connect})
	if opts.Core.MaxConns == 0 {
		opts.Core = core.DefaultConfig()
	}
	opts.Core.Namespaces = map[string]core.Namespace{
		"":        {},
		"support": {Join: core.JoinProxy, Publish: core.PublishProxy},
		"team":    {Join: core.JoinGrant},
	}
	opts.Hooks = hooks
	n := node.New(opts)
	s := &server{Server: httptest.NewServer(nethttp.New(n)), n: n, client: client}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Shutdown(ctx)
		s.Close()
		client.CloseIdleConnections()
	})
	return s
}

type wsClient struct {
	t    *testing.T
	ws   *websocket.Conn
	ctx  context.Context
	kind websocket.MessageType
}

func (s *server) dial(t *testing.T, path string, hdr http.Header, subprotocol string) (*wsClient, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	o := &websocket.DialOptions{HTTPHeader: hdr}
	kind := websocket.MessageText
	if subprotocol != "" {
		o.Subprotocols = []string{subprotocol}
		kind = websocket.MessageBinary
	}
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+path, o)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { ws.CloseNow() })
	return &wsClient{t: t, ws: ws, ctx: ctx, kind: kind}, resp, nil
}

func (c *wsClient) send(msg string) {
	c.t.Helper()
	b := []byte(msg)
	if c.kind == websocket.MessageBinary {
		b = jsonToMsgpack(c.t, msg)
	}
	if err := c.ws.Write(c.ctx, c.kind, b); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next frame as compact JSON (MessagePack rendered as its JSON form).
func (c *wsClient) next() string {
	c.t.Helper()
	_, data, err := c.ws.Read(c.ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	f := proto.JSON
	if c.kind == websocket.MessageBinary {
		f = proto.Msgpack
	}
	js, err := proto.ToJSON(f, data)
	if err != nil {
		c.t.Fatal(err)
	}
	return string(js)
}

// expect reads frames until one contains want, failing on frames of type error that
// were not expected.
func (c *wsClient) expect(want string) string {
	c.t.Helper()
	for {
		f := c.next()
		if strings.Contains(f, want) {
			return f
		}
		if strings.Contains(f, `"type":"error"`) {
			c.t.Fatalf("got %s while waiting for %s", f, want)
		}
	}
}

func TestProxyEveryHook(t *testing.T) {
	be := newBackend(t, func(hook string, body map[string]any) (int, any) {
		switch hook {
		case "connect":
			if q, _ := body["query"].(string); q == "session=bad" {
				return 401, map[string]string{"error": "unauthorized"}
			}
			return 200, map[string]any{"user_id": "ann", "rooms": []string{"team:*"}}
		case "join":
			if body["room"] == "support:vip" {
				return 200, map[string]any{"allow": false, "code": "vip_only", "message": "for VIPs"}
			}
			return 200, map[string]any{"allow": true}
		case "publish":
			if body["content"] == "spam" {
				return 200, map[string]any{"allow": false}
			}
			return 200, map[string]any{"allow": true, "content": strings.ToUpper(body["content"].(string))}
		case "rpc":
			if body["method"] == "fail" {
				return 200, map[string]any{"error": map[string]string{"code": "bad_input", "message": "no"}}
			}
			return 200, map[string]any{"result": map[string]any{"echo": body["data"], "by": body["user_id"]}}
		}
		return 404, nil
	})
	s := startServer(t, be.URL, true, node.Options{})

	// connect: the headers sent (only those), the raw query, the remote address.
	hdr := http.Header{"Cookie": {"sid=42"}, "User-Agent": {"test-agent"}}
	c, _, err := s.dial(t, "/ws?session=good&x=1", hdr, "")
	if err != nil {
		t.Fatal(err)
	}
	if f := c.next(); !strings.Contains(f, `"type":"connected","user_id":"ann"`) {
		t.Fatalf("first frame %s", f)
	}
	call := be.seen()[0]
	headers := call["headers"].(map[string]any)
	if call["hook"] != "connect" || call["query"] != "session=good&x=1" || headers["Cookie"] != "sid=42" ||
		headers["User-Agent"] != "test-agent" || len(headers) != 2 || !strings.HasPrefix(call["remote_addr"].(string), "127.0.0.1:") {
		t.Fatalf("connect body %v", call)
	}
	// The grants the backend gave hold (team: join grant).
	c.send(`{"type":"join","room":"team:1","id":"t1"}`)
	c.expect(`{"type":"ack","id":"t1"}`)

	// join allowed, then a chat rewritten, a chat refused, an rpc and its error.
	c.send(`{"type":"join","room":"support:1","id":"j1"}`)
	c.send(`{"type":"chat","room":"support:1","content":"hi","id":"c1"}`)
	c.send(`{"type":"chat","room":"support:1","content":"spam","id":"c2"}`)
	c.send(`{"type":"rpc","id":"r1","method":"echo","data":{"n":[1,2]}}`)
	c.send(`{"type":"rpc","id":"r2","method":"fail"}`)
	c.send(`{"type":"join","room":"support:vip","id":"j2"}`)
	c.expect(`{"type":"ack","id":"j1"}`)
	if f := c.expect(`"type":"chat"`); !strings.Contains(f, `"content":"HI"`) {
		t.Errorf("rewritten chat %s", f)
	}
	c.expect(`{"type":"ack","id":"c1","offset":1}`)
	for _, want := range []string{
		`{"type":"error","code":"forbidden","message":"you may not publish in this room","id":"c2"}`,
		`{"type":"rpc_result","id":"r1","result":{"by":"ann","echo":{"n":[1,2]}}}`,
		`{"type":"error","code":"bad_input","message":"no","id":"r2"}`,
		`{"type":"error","code":"vip_only","message":"for VIPs","id":"j2"}`,
	} {
		if f := c.next(); f != want {
			t.Errorf("got %s, want %s", f, want)
		}
	}
	var bodies []string
	for _, call := range be.seen()[1:] {
		delete(call, "conn_id")
		b, _ := json.Marshal(call)
		bodies = append(bodies, string(b))
	}
	want := []string{
		`{"hook":"join","room":"support:1","user_id":"ann"}`,
		`{"content":"hi","hook":"publish","room":"support:1","type":"chat","user_id":"ann"}`,
		`{"content":"spam","hook":"publish","room":"support:1","type":"chat","user_id":"ann"}`,
		`{"data":{"n":[1,2]},"hook":"rpc","method":"echo","user_id":"ann"}`,
		`{"data":null,"hook":"rpc","method":"fail","user_id":"ann"}`,
		`{"hook":"join","room":"support:vip","user_id":"ann"}`,
	}
	if strings.Join(bodies, "\n") != strings.Join(want, "\n") {
		t.Errorf("hook bodies\n%s\nwant\n%s", strings.Join(bodies, "\n"), strings.Join(want, "\n"))
	}

	// MessagePack: the same value in, the same value out.
	m, _, err := s.dial(t, "/ws", nil, proto.SubprotocolMsgpack)
	if err != nil {
		t.Fatal(err)
	}
	m.next()
	m.send(`{"type":"rpc","id":"m1","method":"echo","data":{"a":[1,"x",true,null]}}`)
	if f := m.next(); f != `{"type":"rpc_result","id":"m1","result":{"by":"ann","echo":{"a":[1,"x",true,null]}}}` {
		t.Errorf("msgpack rpc_result %s", f)
	}

	// A 401 from connect is HTTP 401 to the client, never upgraded.
	if _, resp, err := s.dial(t, "/ws?session=bad", nil, ""); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Errorf("refused connect: %v %v", resp, err)
	}
	// Keep-alive: every call so far went over very few connections.
	if k := be.newConns.Load(); k > 3 {
		t.Errorf("%d connections to the backend for %d calls: keep-alive not reused", k, len(be.seen()))
	}
}

func TestProxyBackendDown(t *testing.T) {
	be := newBackend(t, func(string, map[string]any) (int, any) { return 200, nil })
	url := be.URL
	be.Close() // nothing listens there now

	s := startServer(t, url, true, node.Options{})
	if _, resp, err := s.dial(t, "/ws", nil, ""); err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("connect with the backend down: %v %v, want HTTP 503", resp, err)
	}

	s2 := startServer(t, url, false, node.Options{})
	c, _, err := s2.dial(t, "/ws?user=bob", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	c.next()
	c.send(`{"type":"join","room":"support:1","id":"j1"}`)
	c.send(`{"type":"rpc","id":"r1","method":"x"}`)
	c.send(`{"type":"join","room":"lobby","id":"j2"}`) // not proxied: works
	for _, want := range []string{
		`{"type":"error","code":"unavailable","message":"the backend failed or did not answer in time","id":"j1"}`,
		`{"type":"error","code":"unavailable","message":"the backend failed or did not answer in time","id":"r1"}`,
	} {
		if f := c.next(); f != want {
			t.Errorf("got %s, want %s", f, want)
		}
	}
	c.expect(`{"type":"ack","id":"j2"}`)
}

func TestProxyBadAnswers(t *testing.T) {
	be := newBackend(t, func(hook string, body map[string]any) (int, any) {
		switch body["room"] {
		case "support:500":
			return 500, map[string]any{"allow": true}
		case "support:403":
			return 403, nil // a 403 to join is a failure, not a refusal
		}
		return 200, "not an object"
	})
	s := startServer(t, be.URL, false, node.Options{})
	c, _, err := s.dial(t, "/ws?user=cy", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	c.next()
	for _, room := range []string{"support:500", "support:403", "support:json"} {
		c.send(fmt.Sprintf(`{"type":"join","room":%q,"id":%q}`, room, room))
		if f := c.next(); !strings.HasPrefix(f, `{"type":"error","code":"unavailable"`) || !strings.Contains(f, room) {
			t.Errorf("%s: %s", room, f)
		}
	}
}

// TestProxyLatency measures what a loopback backend adds to a join and a chat (the
// closing note quotes its log): proxied against not proxied, p50 and p99.
func TestProxyLatency(t *testing.T) {
	be := newBackend(t, func(hook string, body map[string]any) (int, any) {
		return 200, map[string]any{"allow": true}
	})
	cfg := core.DefaultConfig()
	cfg.MaxRoomsPerConn, cfg.Rate = 0, 0 // a join per round, as fast as they come
	s := startServer(t, be.URL, false, node.Options{Core: cfg})
	c, _, err := s.dial(t, "/ws?user=dee", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	c.next()
	const rounds = 300
	measure := func(first, then string) (p50, p99 time.Duration) {
		var d []time.Duration
		for i := range rounds {
			start := time.Now()
			c.send(fmt.Sprintf(first, i))
			c.expect(fmt.Sprintf(then, i))
			d = append(d, time.Since(start))
		}
		slices.Sort(d)
		return d[len(d)/2], d[len(d)*99/100]
	}
	c.send(`{"type":"join","room":"support:chat","id":"x"}`)
	c.expect(`{"type":"ack","id":"x"}`)
	c.send(`{"type":"join","room":"plain","id":"y"}`)
	c.expect(`{"type":"ack","id":"y"}`)
	j50, j99 := measure(`{"type":"join","room":"support:%d","id":"j%[1]d"}`, `{"type":"ack","id":"j%d"}`)
	pj50, pj99 := measure(`{"type":"join","room":"plain%d","id":"j%[1]d"}`, `{"type":"ack","id":"j%d"}`)
	c50, c99 := measure(`{"type":"chat","room":"support:chat","content":"m","id":"c%d"}`, `"id":"c%d","offset"`)
	pc50, pc99 := measure(`{"type":"chat","room":"plain","content":"m","id":"c%d"}`, `"id":"c%d","offset"`)
	t.Logf("join:    proxied p50 %v p99 %v; not proxied p50 %v p99 %v; added p50 %v p99 %v", j50, j99, pj50, pj99, j50-pj50, j99-pj99)
	t.Logf("publish: proxied p50 %v p99 %v; not proxied p50 %v p99 %v; added p50 %v p99 %v", c50, c99, pc50, pc99, c50-pc50, c99-pc99)
	if j99 > node.DefaultHookTimeout || c99 > node.DefaultHookTimeout {
		t.Errorf("a proxied request took longer than the hook timeout")
	}
}

func jsonToMsgpack(t *testing.T, js string) []byte {
	t.Helper()
	b, err := proto.AppendJSONAsMsgpack(nil, []byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A slow backend delays only the requests waiting on it: while one connection's join
// hangs in the backend, another's proxied joins are answered at loopback speed, and the
// slow one is unavailable at --proxy-timeout.
func TestProxySlowBackendOthersUnaffected(t *testing.T) {
	release := make(chan struct{})
	be := newBackend(t, func(hook string, body map[string]any) (int, any) {
		if body["room"] == "support:slow" {
			<-release
		}
		return 200, map[string]any{"allow": true}
	})
	defer close(release) // before the backend's Close, which waits for its handlers
	s := startServer(t, be.URL, false, node.Options{HookTimeout: 500 * time.Millisecond})
	slow, _, err := s.dial(t, "/ws?user=slow", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	slow.next()
	fast, _, err := s.dial(t, "/ws?user=fast", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	fast.next()
	start := time.Now()
	slow.send(`{"type":"join","room":"support:slow","id":"s"}`)
	slow.send(`{"type":"ping","id":"p"}`)
	var worst time.Duration
	for i := range 20 {
		t0 := time.Now()
		fast.send(fmt.Sprintf(`{"type":"join","room":"support:f%d","id":"f%[1]d"}`, i))
		fast.expect(fmt.Sprintf(`{"type":"ack","id":"f%d"}`, i))
		worst = max(worst, time.Since(t0))
	}
	if f := slow.next(); f != `{"type":"error","code":"unavailable","message":"the backend failed or did not answer in time","id":"s"}` {
		t.Errorf("slow join: %s", f)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("slow join answered after %v, before the timeout", d)
	}
	if f := slow.next(); f != `{"type":"pong"}` {
		t.Errorf("after the slow join: %s", f)
	}
	if worst > 200*time.Millisecond {
		t.Errorf("a join beside the slow one took %v", worst)
	}
	t.Logf("beside a backend call hanging until the timeout, 20 proxied joins took at most %v each", worst)
}
