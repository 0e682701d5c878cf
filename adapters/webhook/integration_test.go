package webhook_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/webhook"
	"github.com/switchboard-ws/switchboard/core"
)

// The whole path: a node's app events through the sender to a receiver, with the
// offline grace: a reconnect within it sends nothing, a departure past it user_offline.
func TestOfflineGraceEndToEnd(t *testing.T) {
	rc := newReceiver(t)
	s := webhook.New(webhook.Options{URL: rc.URL, Secret: secret, Node: "n1", Wait: 20 * time.Millisecond})
	cfg := core.DefaultConfig()
	cfg.OfflineGrace = 400 * time.Millisecond
	n := node.New(node.Options{Core: cfg, PingInterval: 100 * time.Millisecond, Events: s.Add})
	srv := httptest.NewServer(nethttp.New(n))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
		srv.Close()
		closeSender(t, s)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func() *websocket.Conn {
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?user=ann", nil)
		if err != nil {
			t.Fatal(err)
		}
		ws.Read(ctx) // connected
		return ws
	}
	types := func() string {
		ev, _ := rc.events()
		var out []string
		for _, e := range ev {
			out = append(out, e.Type+":"+e.UserID+e.Room)
		}
		return strings.Join(out, " ")
	}
	ws := dial()
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"join","room":"lobby","id":"j"}`))
	for i := 0; i < 3; i++ { // joined, user_joined, ack
		ws.Read(ctx)
	}
	ws.Close(websocket.StatusNormalClosure, "")
	time.Sleep(100 * time.Millisecond) // gone, well within the grace
	ws = dial()                        // back: no user_offline, no second user_online
	time.Sleep(600 * time.Millisecond) // past the grace of the first departure
	want := "user_online:ann room_occupied:lobby member_added:annlobby member_removed:annlobby room_vacated:lobby"
	waitFor(t, "the first events", func() bool { return types() == want })
	ws.Close(websocket.StatusNormalClosure, "")
	gone := time.Now()
	waitFor(t, "user_offline", func() bool { return strings.HasSuffix(types(), "user_offline:ann") })
	if d := time.Since(gone); d < 400*time.Millisecond {
		t.Errorf("user_offline %v after the departure, before the 400ms grace", d)
	}
	if got := types(); got != want+" user_offline:ann" {
		t.Errorf("events %s", got)
	}
}

// TestThroughput measures webhook delivery to a loopback receiver (the closing note
// quotes its log): the default queue bound's worth of events, batches of 100.
func TestThroughput(t *testing.T) {
	rc := newReceiver(t)
	s := webhook.New(webhook.Options{URL: rc.URL, Secret: secret, Node: "n1"})
	defer closeSender(t, s)
	const total = webhook.DefaultQueue
	start := time.Now()
	for i := range total {
		s.Add(core.AppEvent{Type: core.MemberAdded, User: "u", Room: "r" + string(rune('a'+i%26)), Time: t0})
	}
	waitFor(t, "every event", func() bool { return rc.count.Load() == total })
	d := time.Since(start)
	_, posts := rc.events()
	t.Logf("webhook: %d events in %d POSTs in %v: %.0f events/s", total, posts, d, float64(total)/d.Seconds())
	if rc.badSigs.Load() != 0 {
		t.Errorf("%d bad signatures", rc.badSigs.Load())
	}
}
