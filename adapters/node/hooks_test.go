package node

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

func proxyCore() core.Config {
	cfg := core.DefaultConfig()
	cfg.Namespaces = map[string]core.Namespace{
		"":        {},
		"support": {Join: core.JoinProxy, Publish: core.PublishProxy},
	}
	return cfg
}

func TestHooksJoinPublishRPC(t *testing.T) {
	hooks := &Hooks{
		Join: func(ctx context.Context, q JoinQuery) error {
			if q.User == "mallory" {
				return &Refusal{Code: "banned", Message: "not you"}
			}
			return nil
		},
		Publish: func(ctx context.Context, q PublishQuery) (string, bool, error) {
			if q.Content == "bad word" {
				return "", false, &Refusal{}
			}
			return strings.ToUpper(q.Content), true, nil
		},
		RPC: func(ctx context.Context, q RPCQuery) (json.RawMessage, error) {
			if q.Method == "panic" {
				panic("the application's bug")
			}
			if q.Method != "sum" {
				return nil, &Refusal{Code: "not_found", Message: "no such method"}
			}
			var xs []int
			if err := json.Unmarshal(q.Data, &xs); err != nil {
				return nil, err
			}
			s := 0
			for _, x := range xs {
				s += x
			}
			return json.Marshal(map[string]int{"sum": s})
		},
	}
	n := New(Options{Core: proxyCore(), Hooks: hooks})
	defer shutdown(t, n)
	a, la := attach(t, n, "ann", proto.JSON)
	m, lm := attach(t, n, "mallory", proto.JSON)
	waitFor(t, "connected", func() bool { return len(la.frames(t)) == 1 && len(lm.frames(t)) == 1 })

	a.Receive([]byte(`{"type":"join","room":"support:1","id":"j1"}`))
	a.Receive([]byte(`{"type":"chat","room":"support:1","content":"hello","id":"c1"}`))
	a.Receive([]byte(`{"type":"chat","room":"support:1","content":"bad word","id":"c2"}`))
	a.Receive([]byte(`{"type":"rpc","id":"r1","method":"sum","data":[1,2,3]}`))
	a.Receive([]byte(`{"type":"rpc","id":"r2","method":"nope"}`))
	a.Receive([]byte(`{"type":"rpc","id":"r3","method":"panic"}`))
	m.Receive([]byte(`{"type":"join","room":"support:1","id":"j2"}`))
	waitFor(t, "answers", func() bool { return hasFrame(t, la, `"id":"r3"`) && hasFrame(t, lm, `"id":"j2"`) })

	got := payloads(t, la)[1:]
	want := []string{
		`{"type":"joined","room":"support:1"`,
		`{"type":"user_joined"`,
		`{"type":"ack","id":"j1"}`,
		`"content":"HELLO","offset":1`,
		`{"type":"ack","id":"c1","offset":1}`,
		`{"type":"error","code":"forbidden","message":"you may not publish in this room","id":"c2"}`,
		`{"type":"rpc_result","id":"r1","result":{"sum":6}}`,
		`{"type":"error","code":"not_found","message":"no such method","id":"r2"}`,
		`{"type":"error","code":"unavailable","message":"the backend failed or did not answer in time","id":"r3"}`,
	}
	if len(got) != len(want) {
		t.Fatalf("ann got %d frames, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("frame %d = %s, want it to contain %s", i, got[i], want[i])
		}
	}
	if last := payloads(t, lm)[1]; last != `{"type":"error","code":"banned","message":"not you","id":"j2"}` {
		t.Errorf("mallory got %s", last)
	}
}

// slowJoins is a Join hook that blocks on support:slow, ignoring its context (the
// pool's timer must answer anyway), and allows everything else at once.
func slowJoins(release chan struct{}, calls *atomic.Int32) *Hooks {
	return &Hooks{Join: func(ctx context.Context, q JoinQuery) error {
		calls.Add(1)
		if q.Room == "support:slow" {
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
		}
		return nil
	}}
}

// A slow hook delays only the requests waiting on it (the same connection's, held in
// order); another connection's join is answered at once, and the slow one unavailable
// at HookTimeout.
func TestHooksSlowBackendOthersUnaffected(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	n := New(Options{Core: proxyCore(), Hooks: slowJoins(release, &calls), HookConcurrency: 2, HookTimeout: 300 * time.Millisecond})
	defer shutdown(t, n)
	defer close(release)
	slow, ls := attach(t, n, "slow", proto.JSON)
	fast, lf := attach(t, n, "fast", proto.JSON)
	waitFor(t, "connected", func() bool { return len(ls.frames(t)) == 1 && len(lf.frames(t)) == 1 })
	start := time.Now()
	slow.Receive([]byte(`{"type":"join","room":"support:slow","id":"s1"}`))
	slow.Receive([]byte(`{"type":"ping","id":"p1"}`)) // held behind the join
	waitFor(t, "the slow call running", func() bool { return calls.Load() == 1 })
	fastStart := time.Now()
	fast.Receive([]byte(`{"type":"join","room":"support:1","id":"f1"}`))
	waitFor(t, "fast's join", func() bool { return hasFrame(t, lf, `{"type":"ack","id":"f1"}`) })
	fastTook := time.Since(fastStart)
	if fastTook > 150*time.Millisecond {
		t.Errorf("fast's join took %v beside a slow backend call", fastTook)
	}
	if hasFrame(t, ls, `"id":"p1"`) {
		t.Fatal("slow's ping was answered before its join")
	}
	waitFor(t, "slow timed out", func() bool { return hasFrame(t, ls, `"id":"p1"`) })
	if d := time.Since(start); d < 300*time.Millisecond || d > 2*time.Second {
		t.Errorf("slow join answered after %v, want at the 300ms timeout", d)
	}
	got := payloads(t, ls)[1:]
	want := []string{
		`{"type":"error","code":"unavailable","message":"the backend failed or did not answer in time","id":"s1"}`,
		`{"type":"pong"}`, `{"type":"ack","id":"p1"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("slow got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("a join beside a blocked backend call took %v", fastTook)
}

// Calls beyond the workers and the queue are unavailable at once; a queued call's time
// in the queue counts toward its timeout.
func TestHooksQueueOverflowAndQueueTime(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	n := New(Options{Core: proxyCore(), Hooks: slowJoins(release, &calls), HookConcurrency: 1, HookQueue: 1, HookTimeout: 300 * time.Millisecond})
	defer shutdown(t, n)
	defer close(release)
	slow, ls := attach(t, n, "slow", proto.JSON)
	queued, lq := attach(t, n, "queued", proto.JSON)
	over, lo := attach(t, n, "over", proto.JSON)
	waitFor(t, "connected", func() bool {
		return len(ls.frames(t)) == 1 && len(lq.frames(t)) == 1 && len(lo.frames(t)) == 1
	})
	slow.Receive([]byte(`{"type":"join","room":"support:slow","id":"s1"}`))
	waitFor(t, "the slow call running", func() bool { return calls.Load() == 1 })
	start := time.Now()
	queued.Receive([]byte(`{"type":"join","room":"support:1","id":"q1"}`))
	time.Sleep(20 * time.Millisecond) // q1 is in the queue before o1 arrives
	over.Receive([]byte(`{"type":"join","room":"support:2","id":"o1"}`))
	waitFor(t, "overflow refused", func() bool { return hasFrame(t, lo, `"id":"o1"`) })
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("overflow answered after %v, want at once", d)
	}
	if got := payloads(t, lo)[1]; !strings.HasPrefix(got, `{"type":"error","code":"unavailable"`) {
		t.Fatalf("overflow: %s", got)
	}
	waitFor(t, "queued answered", func() bool { return hasFrame(t, lq, `"id":"q1"`) })
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("queued join answered after %v, before its timeout", d)
	}
	if got := payloads(t, lq)[1]; !strings.HasPrefix(got, `{"type":"error","code":"unavailable"`) {
		t.Fatalf("a call that waited in the queue past its timeout: %s", got)
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls made; the queued one expired before a worker was free", calls.Load())
	}
}

func TestHooksConnect(t *testing.T) {
	hooks := &Hooks{Connect: func(ctx context.Context, r *http.Request) (core.Identity, error) {
		switch r.URL.Query().Get("who") {
		case "ann":
			return core.Identity{User: "ann", Rooms: []string{"team:*"}}, nil
		case "nobody":
			return core.Identity{}, &HTTPError{Status: 401, Code: "unauthorized", Message: "no session"}
		case "slow":
			<-ctx.Done()
			return core.Identity{}, ctx.Err()
		}
		return core.Identity{}, errors.New("backend broke")
	}}
	n := New(Options{Hooks: hooks, HookTimeout: 100 * time.Millisecond})
	defer shutdown(t, n)
	for _, tc := range []struct {
		who    string
		status int
		user   string
	}{{"ann", 0, "ann"}, {"nobody", 401, ""}, {"slow", 503, ""}, {"other", 503, ""}} {
		id, err := n.Identify(httptest.NewRequest("GET", "/ws?who="+tc.who, nil))
		var he *HTTPError
		switch {
		case tc.status == 0 && (err != nil || id.User != tc.user || len(id.Rooms) != 1):
			t.Errorf("%s: %+v, %v", tc.who, id, err)
		case tc.status != 0 && (!errors.As(err, &he) || he.Status != tc.status):
			t.Errorf("%s: err %v, want HTTP %d", tc.who, err, tc.status)
		}
	}
}

func TestAppEventsStream(t *testing.T) {
	var mu sync.Mutex
	var got []string
	cfg := core.DefaultConfig()
	cfg.OfflineGrace = 50 * time.Millisecond
	n := New(Options{Core: cfg, PingInterval: 40 * time.Millisecond, Events: func(ev core.AppEvent) {
		mu.Lock()
		got = append(got, ev.Type.String()+":"+ev.User+":"+ev.Room)
		mu.Unlock()
	}})
	a, la := attach(t, n, "ann", proto.JSON)
	waitFor(t, "connected", func() bool { return len(la.frames(t)) == 1 })
	a.Receive([]byte(`{"type":"join","room":"lobby"}`))
	waitFor(t, "joined", func() bool { return hasFrame(t, la, `"user_joined"`) })
	a.Close(core.CloseNormal, "")
	seen := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
	waitFor(t, "user_offline after the grace", func() bool { return len(seen()) == 6 })
	shutdown(t, n)
	want := []string{"user_online:ann:", "room_occupied::lobby", "member_added:ann:lobby", "member_removed:ann:lobby", "room_vacated::lobby", "user_offline:ann:"}
	if strings.Join(seen(), " ") != strings.Join(want, " ") {
		t.Fatalf("events %v, want %v", seen(), want)
	}
}

// An Events consumer that falls behind never holds up the node: events beyond the
// buffer are dropped and counted, and the node goes on serving.
func TestAppEventsSlowConsumerDropsCounted(t *testing.T) {
	block := make(chan struct{})
	var got atomic.Int32
	n := New(Options{EventBuffer: 2, Events: func(core.AppEvent) {
		<-block
		got.Add(1)
	}})
	var links []*testLink
	for _, u := range []string{"a", "b", "c", "d", "e", "f"} {
		_, l := attach(t, n, u, proto.JSON)
		links = append(links, l)
	}
	waitFor(t, "every connection served", func() bool {
		for _, l := range links {
			if len(l.frames(t)) != 1 {
				return false
			}
		}
		return true
	})
	// 6 user_online: 2 buffered, at most one more taken by the blocked consumer, the
	// rest dropped.
	waitFor(t, "drops counted", func() bool { return n.Stats().EventsDropped >= 3 })
	close(block)
	shutdown(t, n) // hands over what was buffered
	if d := n.Stats().EventsDropped; int64(got.Load())+d != 6 || d > 4 {
		t.Errorf("%d handed over, %d dropped, want 6 in all with at most 4 dropped", got.Load(), d)
	}
}
