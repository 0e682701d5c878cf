package nethttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/transporttest"
)

// TestOverTLS: behind TLS there is no raw descriptor, so writes take the blocking
// net.Conn path; chat and the shutdown close still work.
func TestOverTLS(t *testing.T) {
	n := node.New(node.Options{})
	mux := http.NewServeMux()
	mux.Handle("/ws", New(n))
	srv := httptest.NewUnstartedServer(mux)
	srv.StartTLS()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	url := "wss" + strings.TrimPrefix(srv.URL, "https") + "/ws?user="
	dial := func(user string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, url+user, &websocket.DialOptions{HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	ann, bob := dial("ann"), dial("bob")
	transporttest.Read(t, ann)
	transporttest.Read(t, bob)
	transporttest.Send(t, ann, `{"type":"join","room":"r"}`)
	transporttest.ReadType(t, ann, "user_joined", "joined")
	transporttest.Send(t, bob, `{"type":"join","room":"r"}`)
	transporttest.ReadType(t, bob, "user_joined", "joined")
	transporttest.Send(t, bob, `{"type":"chat","room":"r","content":"over tls"}`)
	if m := transporttest.ReadType(t, ann, "chat", "user_joined"); m["content"] != "over tls" {
		t.Fatalf("chat %v", m)
	}
	done := make(chan error, 1)
	go func() { done <- n.Shutdown(ctx) }()
	transporttest.ExpectClose(t, ann, websocket.StatusGoingAway, "Server shutting down")
	transporttest.ExpectClose(t, bob, websocket.StatusGoingAway, "Server shutting down")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
