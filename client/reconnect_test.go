package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/client"
)

// The network drops (1006) while bob keeps talking and ann keeps typing: ann reconnects,
// rejoins with since, gets every chat she missed once and in order, and her queued chats
// go out after the rejoin, in the order she wrote them.
func TestRecoveryAfterNetworkDrop(t *testing.T) {
	srv := startServer(t, nil)
	px := startProxy(t, srv.addr)
	ctx := ctxT(t)
	ann := dial(t, px.url("?user=ann"), client.Options{})
	bob := dial(t, srv.url("?user=bob"), client.Options{})
	for _, c := range []*client.Client{ann, bob} {
		if _, err := c.Join(ctx, "lobby"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bob.Chat(ctx, "lobby", "seen"); err != nil {
		t.Fatal(err)
	}
	next(t, ann, "chat")

	px.setDown(true)
	px.cut()
	next(t, ann, client.EventState, state(client.Reconnecting))
	for i := 1; i <= 3; i++ {
		if _, err := bob.Chat(ctx, "lobby", fmt.Sprint("missed ", i)); err != nil {
			t.Fatal(err)
		}
	}
	// ann writes while offline: the chats wait in her outbox.
	acked := make(chan error, 2)
	for i := 1; i <= 2; i++ {
		go func() { _, err := ann.Chat(ctx, "lobby", fmt.Sprint("queued ", i)); acked <- err }()
		time.Sleep(20 * time.Millisecond) // two separate calls, in this order
	}
	px.setDown(false)

	// The rejoin's report, then (or, from a server without `joined`, before it) every
	// missed chat once, then the queued ones.
	got, rejoined := chatsAndRejoin(t, ann, 5)
	if rejoined.Room != "lobby" || rejoined.Err != nil || !rejoined.Recovered {
		t.Fatalf("rejoined %+v, want lobby recovered", rejoined)
	}
	if want := "[missed 1 missed 2 missed 3 queued 1 queued 2]"; fmt.Sprint(got) != want {
		t.Fatalf("ann got %v, want %s", got, want)
	}
	for range 2 {
		if err := <-acked; err != nil {
			t.Fatal(err)
		}
	}
	var bobs []string
	for len(bobs) < 5 {
		if ev := next(t, bob, "chat"); ev.Content != "seen" {
			bobs = append(bobs, ev.Content)
		}
	}
	if want := "[missed 1 missed 2 missed 3 queued 1 queued 2]"; fmt.Sprint(bobs) != want {
		t.Fatalf("bob got %v, want %s", bobs, want)
	}
}

// An admin kick (4009) is final: the client stops, says why, and fails requests.
func TestStopsAfterKick(t *testing.T) {
	srv := startServer(t, nil)
	ann := dial(t, srv.url("?user=ann"), client.Options{})
	if code, body := srv.api("POST", "/api/users/ann/disconnect", ""); code != 200 {
		t.Fatalf("disconnect: %d %s", code, body)
	}
	ev := next(t, ann, client.EventState, state(client.Closed))
	var ce *client.ClosedError
	if !errors.As(ev.Err, &ce) || ce.Code != 4009 || ce.Reason != "Kicked" {
		t.Fatalf("closed because %v, want 4009 Kicked", ev.Err)
	}
	<-ann.Done()
	if _, open := <-ann.Events(); open {
		t.Fatal("events still open after the client stopped")
	}
	if !errors.As(ann.Err(), &ce) {
		t.Fatalf("Err %v", ann.Err())
	}
	if _, err := ann.Chat(ctxT(t), "lobby", "hi"); !errors.As(err, &ce) {
		t.Fatalf("chat after the kick: %v", err)
	}
}

// With --auth jwt, a bad token is refused at once (HTTP 401, no retries); a good one
// comes from the token provider, which is asked again for every connection.
func TestTokenProviderAndRefusal(t *testing.T) {
	const secret = "s3cret"
	srv := startServer(t, jwtOptions(t, secret))
	px := startProxy(t, srv.addr)
	var calls atomic.Int32
	_, err := client.Dial(ctxT(t), srv.url(""), fast(client.Options{Token: func(ctx2 context.Context) (string, error) {
		calls.Add(1)
		return "not-a-jwt", nil
	}}))
	var ce *client.ClosedError
	if !errors.As(err, &ce) || ce.Status != http.StatusUnauthorized || calls.Load() != 1 {
		t.Fatalf("bad token: %v after %d calls, want HTTP 401 after 1", err, calls.Load())
	}

	calls.Store(0)
	ann := dial(t, px.url(""), client.Options{Token: func(context.Context) (string, error) {
		calls.Add(1)
		return sign(t, secret, "ann", time.Hour), nil
	}})
	if ann.UserID() != "ann" {
		t.Fatalf("user %q", ann.UserID())
	}
	px.cut()
	next(t, ann, client.EventState, state(client.Reconnecting))
	next(t, ann, client.EventState, state(client.Connected))
	if calls.Load() != 2 {
		t.Fatalf("token provider called %d times for 2 connections", calls.Load())
	}
}

// HTTP 503 with Retry-After (a draining server, an accept-rate limit): the client waits
// at least that long before it tries again.
func TestHonoursRetryAfter(t *testing.T) {
	srv := startServer(t, nil)
	target, _ := url.Parse("http://" + srv.addr)
	rp := httputil.NewSingleHostReverseProxy(target)
	var refused atomic.Int32
	var firstAt, retryAt atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refused.Add(1) == 1 {
			firstAt.Store(time.Now().UnixNano())
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":"unavailable","message":"draining"}`, http.StatusServiceUnavailable)
			return
		}
		retryAt.CompareAndSwap(0, time.Now().UnixNano())
		rp.ServeHTTP(w, r)
	}))
	defer front.Close()
	ann := dial(t, "ws"+strings.TrimPrefix(front.URL, "http")+"/ws?user=ann", client.Options{})
	if ann.UserID() != "ann" {
		t.Fatalf("user %q", ann.UserID())
	}
	if waited := time.Duration(retryAt.Load() - firstAt.Load()); waited < time.Second {
		t.Fatalf("retried after %v, Retry-After said 1s", waited)
	}
	ann.Close()
	front.CloseClientConnections()
}

// A peer that stops answering (the TCP link is up, nothing comes back) is noticed by
// the client's ping within the interval, and the client reconnects.
func TestPingNoticesDeadLink(t *testing.T) {
	srv := startServer(t, nil)
	px := startProxy(t, srv.addr)
	ann := dial(t, px.url("?user=ann"), client.Options{PingInterval: 100 * time.Millisecond})
	px.setMute(true)
	ev := next(t, ann, client.EventState, state(client.Reconnecting))
	if ev.Err == nil || !strings.Contains(ev.Err.Error(), "no pong") {
		t.Fatalf("reconnecting because %v, want no pong", ev.Err)
	}
	px.setMute(false)
	px.cut()
	next(t, ann, client.EventState, state(client.Connected))
}

func sign(t *testing.T, secret, sub string, ttl time.Duration) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(ttl).Unix()}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The ack of a chat is lost with the connection: the client resends it after the
// reconnect with the same id, the server recognises it (§10.4), and the room gets it
// once; the caller gets the original offset.
func TestChatResentOnceAfterLostAck(t *testing.T) {
	srv := startServer(t, nil)
	px := startProxy(t, srv.addr)
	ctx := ctxT(t)
	ann := dial(t, px.url("?user=ann"), client.Options{})
	bob := dial(t, srv.url("?user=bob"), client.Options{})
	for _, c := range []*client.Client{ann, bob} {
		if _, err := c.Join(ctx, "lobby"); err != nil {
			t.Fatal(err)
		}
	}
	px.setMute(true) // the server's answers to ann are lost from here on
	acked := make(chan client.ChatResult, 1)
	go func() {
		res, err := ann.Chat(ctx, "lobby", "once")
		if err != nil {
			t.Error(err)
		}
		acked <- res
	}()
	first := next(t, bob, "chat") // the server stored and delivered it; ann never heard
	px.cut()
	px.setMute(false)
	res := <-acked
	if res.Offset != first.Offset {
		t.Fatalf("resent chat acked with offset %d, the original was %d", res.Offset, first.Offset)
	}
	if _, err := bob.Chat(ctx, "lobby", "after"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, bob, "chat"); ev.Content != "after" {
		t.Fatalf("bob got %q twice: the resend was stored again", ev.Content)
	}
}

// An application that kept its position (Position) joins from it later (JoinAt), in a
// new client: the server replays what came after, and says it recovered.
func TestJoinAtKeptPosition(t *testing.T) {
	srv := startServer(t, nil)
	ctx := ctxT(t)
	bob := dial(t, srv.url("?user=bob"), client.Options{})
	if _, err := bob.Join(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	ann := dial(t, srv.url("?user=ann"), client.Options{})
	if _, err := ann.Join(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Chat(ctx, "lobby", "one"); err != nil {
		t.Fatal(err)
	}
	next(t, ann, "chat")
	epoch, offset, ok := ann.Position("lobby")
	if !ok || epoch == "" || offset != 1 {
		t.Fatalf("position %q %d %v", epoch, offset, ok)
	}
	ann.Close()
	for _, m := range []string{"two", "three"} {
		if _, err := bob.Chat(ctx, "lobby", m); err != nil {
			t.Fatal(err)
		}
	}
	again := dial(t, srv.url("?user=ann"), client.Options{})
	j, err := again.JoinAt(ctx, "lobby", epoch, offset)
	if err != nil || !j.Recovered || j.Offset != 3 {
		t.Fatalf("JoinAt: %+v, %v; want recovered at offset 3", j, err)
	}
	if got := []string{next(t, again, "chat").Content, next(t, again, "chat").Content}; fmt.Sprint(got) != "[two three]" {
		t.Fatalf("replayed %v", got)
	}
	// A position from another epoch is not trusted: a gap, then what is held.
	other := dial(t, srv.url("?user=cat"), client.Options{})
	j, err = other.JoinAt(ctx, "lobby", "some-other-epoch", 2)
	if err != nil || j.Recovered {
		t.Fatalf("JoinAt another epoch: %+v, %v; want not recovered", j, err)
	}
	if gap := next(t, other, "error"); gap.Code != "history_gap" || gap.Room != "lobby" {
		t.Fatalf("want history_gap, got %+v", gap)
	}
}

// --data-dir: the server restarts and keeps the room's stream (epoch, offsets, held
// messages). A client that was cut off before the restart comes back to the restarted
// server, rejoins with since+epoch, is told it recovered, and gets what it missed, once.
func TestRecoveryAcrossRestartWithDataDir(t *testing.T) {
	srv := startDurableServer(t, t.TempDir())
	px := startProxy(t, srv.addr)
	ctx := ctxT(t)
	ann := dial(t, px.url("?user=ann"), client.Options{})
	bob := dial(t, srv.url("?user=bob"), client.Options{})
	for _, c := range []*client.Client{ann, bob} {
		if _, err := c.Join(ctx, "lobby"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bob.Chat(ctx, "lobby", "m1"); err != nil {
		t.Fatal(err)
	}
	next(t, ann, "chat")
	epoch, _, _ := ann.Position("lobby")

	px.setDown(true) // ann is cut off: she misses m2, and m3 after the restart
	px.cut()
	if _, err := bob.Chat(ctx, "lobby", "m2"); err != nil {
		t.Fatal(err)
	}
	srv.restart()
	next(t, bob, client.EventState, state(client.Connected))
	if _, err := bob.Chat(ctx, "lobby", "m3"); err != nil {
		t.Fatal(err)
	}
	px.setDown(false)

	got, rejoined := chatsAndRejoin(t, ann, 2)
	if !rejoined.Recovered || rejoined.Epoch != epoch || rejoined.Offset != 3 {
		t.Fatalf("rejoined %+v: want recovered in epoch %s at offset 3", rejoined, epoch)
	}
	if fmt.Sprint(got) != "[m2 m3]" {
		t.Fatalf("ann got %v, want [m2 m3]", got)
	}
}

// 4000: another connection of the same user took over (--max-per-user 1). The replaced
// client stops for good instead of fighting back; the newer one stays.
func TestReplacedStops(t *testing.T) {
	srv := startServer(t, func() node.Options {
		o := defaultOptions()
		o.Core.MaxPerUser = 1
		return o
	})
	old := dial(t, srv.url("?user=ann"), client.Options{})
	newer := dial(t, srv.url("?user=ann"), client.Options{})
	ev := next(t, old, client.EventState, state(client.Closed))
	var ce *client.ClosedError
	if !errors.As(ev.Err, &ce) || ce.Code != 4000 || ce.Reason != "Replaced by new connection" {
		t.Fatalf("closed because %v, want 4000 Replaced by new connection", ev.Err)
	}
	time.Sleep(300 * time.Millisecond) // longer than the tests' largest backoff
	if err := newer.Ping(ctxT(t)); err != nil || newer.State() != client.Connected {
		t.Fatalf("the newer connection: %v, %v", newer.State(), err)
	}
}

// 4003 (at capacity) is not a refusal of this client: it backs off and gets in once
// there is room.
func TestCapacityBacksOff(t *testing.T) {
	srv := startServer(t, func() node.Options {
		o := defaultOptions()
		o.Core.MaxConns = 1
		return o
	})
	first := dial(t, srv.url("?user=ann"), client.Options{})
	got := make(chan *client.Client, 1)
	go func() {
		c, err := client.Dial(ctxT(t), srv.url("?user=bob"), fast(client.Options{}))
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	select {
	case <-got:
		t.Fatal("bob got in while the server was at capacity")
	case <-time.After(300 * time.Millisecond): // bob is closed 4003 a few times meanwhile
	}
	first.Close()
	bob := <-got
	if bob == nil {
		t.FailNow()
	}
	defer bob.Close()
	if bob.UserID() != "bob" {
		t.Fatalf("user %q", bob.UserID())
	}
}

// chatsAndRejoin reads c's events until it has n chats (their contents, in order) and
// its rejoin report, whichever comes first.
func chatsAndRejoin(t *testing.T, c *client.Client, n int) ([]string, *client.Event) {
	t.Helper()
	var got []string
	var rejoined *client.Event
	for len(got) < n || rejoined == nil {
		select {
		case ev := <-c.Events():
			switch ev.Type {
			case "chat":
				got = append(got, ev.Content)
			case client.EventRejoined:
				rejoined = &ev
			}
		case <-time.After(wait):
			t.Fatalf("got chats %v, rejoined %v", got, rejoined)
		}
	}
	return got, rejoined
}
