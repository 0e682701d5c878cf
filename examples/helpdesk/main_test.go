package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestHelpdesk(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := newDesk()
	var logs logBuffer
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, d, log.New(&logs, "", 0)) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + ln.Addr().String()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(base + "/login?user=ann")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	if _, resp, err := websocket.Dial(dctx, wsURL, nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the cookie: %v", err)
	}
	u, _ := url.Parse(base)
	ws, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPClient: client, HTTPHeader: http.Header{"Cookie": {jar.Cookies(u)[0].String()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	next := func(typ string) map[string]any {
		t.Helper()
		for {
			_, data, err := ws.Read(dctx)
			if err != nil {
				t.Fatal(err)
			}
			var f map[string]any
			json.Unmarshal(data, &f)
			if f["type"] == typ {
				return f
			}
		}
	}
	if c := next("connected"); c["user_id"] != "ann" {
		t.Fatalf("connected %v", c)
	}
	ws.Write(dctx, websocket.MessageText, []byte(`{"type":"join","room":"support:2","id":"j1"}`))
	if e := next("error"); e["code"] != "not_your_ticket" {
		t.Errorf("someone else's ticket: %v", e)
	}
	ws.Write(dctx, websocket.MessageText, []byte(`{"type":"join","room":"support:1","id":"j2"}`))
	ws.Write(dctx, websocket.MessageText, []byte(`{"type":"chat","room":"support:1","content":"looking into it","id":"c1"}`))
	if c := next("chat"); c["content"] != "looking into it" {
		t.Errorf("chat %v", c)
	}
	ws.Write(dctx, websocket.MessageText, []byte(`{"type":"rpc","id":"r1","method":"tickets.mine"}`))
	if r := next("rpc_result"); r["result"].(map[string]any)["tickets"].([]any)[0] != "support:1" {
		t.Errorf("rpc_result %v", r)
	}
	d.mu.Lock()
	if got := strings.Join(d.chats["support:1"], "|"); got != "ann: looking into it" {
		t.Errorf("persisted %q", got)
	}
	d.mu.Unlock()
	if !strings.Contains(logs.String(), "event member_added user=ann room=support:1") {
		t.Errorf("event log %q", logs.String())
	}
}
