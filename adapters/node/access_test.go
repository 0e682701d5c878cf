package node

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/auth"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// gatedTokens verifies "good-<user>" tokens, once gate lets each call through.
type gatedTokens struct {
	gate  chan struct{}
	mu    sync.Mutex
	calls int
}

func (g *gatedTokens) check(token string) (core.Identity, error) {
	g.mu.Lock()
	g.calls++
	g.mu.Unlock()
	if g.gate != nil {
		<-g.gate
	}
	user, ok := strings.CutPrefix(token, "good-")
	if !ok {
		return core.Identity{}, errors.New("bad token")
	}
	return core.Identity{User: user}, nil
}

func (g *gatedTokens) VerifyConnection(t string) (core.Identity, error) { return g.check(t) }

func (g *gatedTokens) VerifyRoom(t string) (core.Identity, error) {
	id, err := g.check(t)
	id.Rooms, id.Expires = []string{"r"}, time.Now().Add(time.Hour)
	return id, err
}

func (g *gatedTokens) callCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

// attachUnidentified attaches a connection whose identity comes in its auth message.
func attachUnidentified(t *testing.T, n *Node) (*Conn, *testLink) {
	t.Helper()
	return attach(t, n, "", proto.JSON)
}

func payloads(t *testing.T, l *testLink) []string {
	var out []string
	for _, f := range l.frames(t) {
		out = append(out, f.payload)
	}
	return out
}

// Messages sent behind auth wait for its verification, then follow connected in order;
// nothing at all is sent before.
func TestAuthMessageThenEarlyMessagesInOrder(t *testing.T) {
	tokens := &gatedTokens{gate: make(chan struct{})}
	n := New(Options{Tokens: tokens})
	defer shutdown(t, n)
	c, l := attachUnidentified(t, n)
	c.Receive([]byte(`{"type":"auth","token":"good-ann"}`))
	c.Receive([]byte(`{"type":"ping","id":"p1"}`))
	c.Receive([]byte(`{"type":"ping","id":"p2"}`))
	waitFor(t, "the verification to start", func() bool { return tokens.callCount() == 1 })
	if got := l.frames(t); len(got) != 0 {
		t.Fatalf("sent before auth was verified: %v", got)
	}
	close(tokens.gate)
	waitFor(t, "both pongs", func() bool { return hasFrame(t, l, `"id":"p2"`) })
	got := payloads(t, l)
	if len(got) != 5 || !strings.Contains(got[0], `"type":"connected","user_id":"ann"`) ||
		got[1] != `{"type":"pong"}` || got[2] != `{"type":"ack","id":"p1"}` || got[4] != `{"type":"ack","id":"p2"}` {
		t.Fatalf("frames %q", got)
	}
}

func TestAuthMessageRefusals(t *testing.T) {
	tokens := &gatedTokens{}
	n := New(Options{Tokens: tokens, AuthTimeout: 50 * time.Millisecond, PingInterval: 20 * time.Millisecond})
	defer shutdown(t, n)
	for name, first := range map[string]string{
		"other message": `{"type":"join","room":"r"}`,
		"bad token":     `{"type":"auth","token":"forged"}`,
		"not json":      `hello`,
		"no token":      `{"type":"auth"}`,
		"silence":       "",
	} {
		c, l := attachUnidentified(t, n)
		if first != "" {
			c.Receive([]byte(first))
		}
		waitFor(t, name+": close", l.isFinished)
		code, reason, _ := closeOf(t, l)
		if code != core.CloseUnauthorized || reason != core.ReasonUnauthorized || len(l.frames(t)) != 1 {
			t.Errorf("%s: closed %d %q after %d frames, want 4001 Unauthorized alone", name, code, reason, len(l.frames(t)))
		}
	}
}

// More than maxEarly messages behind an auth still being verified: 4001.
func TestAuthMessageEarlyOverflow(t *testing.T) {
	tokens := &gatedTokens{gate: make(chan struct{})}
	n := New(Options{Tokens: tokens})
	defer shutdown(t, n)
	defer close(tokens.gate)
	c, l := attachUnidentified(t, n)
	c.Receive([]byte(`{"type":"auth","token":"good-ann"}`))
	for range maxEarly + 1 {
		c.Receive([]byte(`{"type":"ping"}`))
	}
	waitFor(t, "close", l.isFinished)
	if code, _, _ := closeOf(t, l); code != core.CloseUnauthorized {
		t.Fatalf("closed %d, want 4001", code)
	}
}

// More auth messages than verifications may run at once wait their turn.
func TestVerificationsQueued(t *testing.T) {
	tokens := &gatedTokens{gate: make(chan struct{})}
	n := New(Options{Tokens: tokens})
	defer shutdown(t, n)
	const conns = maxVerifying + 10
	links := make([]*testLink, conns)
	for i := range links {
		var c *Conn
		c, links[i] = attachUnidentified(t, n)
		c.Receive(fmt.Appendf(nil, `{"type":"auth","token":"good-u%d"}`, i))
	}
	waitFor(t, "the first verifications", func() bool { return tokens.callCount() == maxVerifying })
	time.Sleep(20 * time.Millisecond)
	if got := tokens.callCount(); got != maxVerifying {
		t.Fatalf("%d verifications at once, want at most %d", got, maxVerifying)
	}
	close(tokens.gate)
	for i, l := range links {
		waitFor(t, "connected", func() bool { return hasFrame(t, l, fmt.Sprintf(`"user_id":"u%d"`, i)) })
	}
}

// The hub's asks (refresh, room tokens) are answered through Tokens.
func TestAsksAnswered(t *testing.T) {
	n := New(Options{Tokens: &gatedTokens{}, Core: core.Config{Namespaces: map[string]core.Namespace{"": {Join: core.JoinGrant}}}})
	defer shutdown(t, n)
	c, l := attach(t, n, "ann", proto.JSON)
	c.Receive([]byte(`{"type":"refresh","token":"good-ann","id":"r1"}`))
	c.Receive([]byte(`{"type":"refresh","token":"forged","id":"r2"}`))
	c.Receive([]byte(`{"type":"join","room":"r","token":"good-ann","id":"j1"}`))
	waitFor(t, "the join's ack", func() bool { return hasFrame(t, l, `{"type":"ack","id":"j1"}`) })
	if !hasFrame(t, l, `{"type":"ack","id":"r1"}`) || !hasFrame(t, l, `"code":"unauthorized","message":"the new token is not valid","id":"r2"`) {
		t.Fatalf("frames %q", payloads(t, l))
	}
	// Without Tokens, a refresh is unauthorized.
	n2 := New(Options{})
	defer shutdown(t, n2)
	c2, l2 := attach(t, n2, "bob", proto.JSON)
	c2.Receive([]byte(`{"type":"refresh","token":"good-bob","id":"r3"}`))
	waitFor(t, "the refusal", func() bool { return hasFrame(t, l2, `"code":"unauthorized"`) })
}

// A transport without the auth message (SSE) refuses a token-less --auth jwt request 401;
// a WebSocket lets it through to send auth first.
func TestIdentifyRequestAuthMessage(t *testing.T) {
	n := New(Options{Tokens: &gatedTokens{}, Identify: func(*http.Request) (core.Identity, error) {
		return core.Identity{}, auth.ErrAuthMessage
	}})
	defer shutdown(t, n)
	r := httptest.NewRequest("GET", "/ws", nil)
	if id, he := n.IdentifyRequest(r, true); he != nil || id.User != "" {
		t.Fatalf("websocket: %+v %v", id, he)
	}
	if _, he := n.IdentifyRequest(r, false); he == nil || he.Status != 401 || he.Code != "unauthorized" {
		t.Fatalf("without the auth message: %v", he)
	}
	// No Tokens to verify an auth message: 401 for a WebSocket too.
	n2 := New(Options{Identify: func(*http.Request) (core.Identity, error) { return core.Identity{}, auth.ErrAuthMessage }})
	defer shutdown(t, n2)
	if _, he := n2.IdentifyRequest(r, true); he == nil || he.Status != 401 {
		t.Fatalf("no Tokens: %v", he)
	}
}

// Connections waiting for their auth message are bounded by MaxConns.
func TestUnidentifiedBounded(t *testing.T) {
	n := New(Options{Tokens: &gatedTokens{}, Core: core.Config{MaxConns: 2}})
	defer shutdown(t, n)
	attachUnidentified(t, n)
	attachUnidentified(t, n)
	_, l := attachUnidentified(t, n)
	waitFor(t, "the third closed", l.isFinished)
	if code, reason, _ := closeOf(t, l); code != core.CloseCapacity || reason != core.ReasonAtCapacity {
		t.Fatalf("closed %d %q, want 4003", code, reason)
	}
}
