package main

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/chatwire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T) string {
	t.Helper()
	l, h, err := newServer()
	if err != nil {
		t.Fatal(err)
	}
	go l.run()
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); l.stop() })
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

func dial(t *testing.T, url, user string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url+"?user="+user, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withoutTimestamp cuts the frame at its timestamp, the one field that differs by when.
func withoutTimestamp(s string) string { return s[:strings.Index(s, `,"timestamp":"`)] }

// A member sees acks, room messages and private messages byte for byte as the other
// peers (chatwire) encode them — escaped content copied, never decoded.
func TestFramesMatchChatwire(t *testing.T) {
	url := start(t)
	a, b := dial(t, url, "ua"), dial(t, url, "ub")
	for _, c := range []*websocket.Conn{a, b} {
		send(t, c, `{"type":"join","room":"r1","id":"j"}`)
		if got, want := next(t, c), string(chatwire.Ack("j")); got != want {
			t.Fatalf("join answer %s, want %s", got, want)
		}
	}
	send(t, a, `{"type":"chat","room":"r1","content":"hi \"there\"\\n"}`)
	want := withoutTimestamp(string(chatwire.Chat("r1", "ua", "hi \"there\"\\n", 1)))
	for _, c := range []*websocket.Conn{a, b} {
		got := next(t, c)
		if withoutTimestamp(got) != want {
			t.Fatalf("chat frame\n got %s\nwant %s…", got, want)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(got), &m); err != nil || m["content"] != "hi \"there\"\\n" {
			t.Fatalf("frame %s: %v, content %q", got, err, m["content"])
		}
	}
	send(t, b, `{"type":"private","to":"ua","content":"p1"}`)
	if got, want := withoutTimestamp(next(t, a)), withoutTimestamp(string(chatwire.Private("ub", "ua", "p1"))); got != want {
		t.Fatalf("private frame %s, want %s", got, want)
	}
	send(t, a, `{"type":"chat","room":"elsewhere","content":"x"}`)
	if got, want := next(t, a), string(chatwire.Error("not_member", "join the room first")); got != want {
		t.Fatalf("chat outside the room: %s, want %s", got, want)
	}
}

// A member that stops reading is dropped once it owes over 1 MiB; the others keep
// getting every message in order.
func TestSlowMemberDroppedOthersServed(t *testing.T) {
	url := start(t)
	fast, slow, pub := dial(t, url, "f"), dial(t, url, "s"), dial(t, url, "p")
	for _, c := range []*websocket.Conn{fast, slow, pub} {
		send(t, c, `{"type":"join","room":"r","id":"j"}`)
		next(t, c)
	}
	const n = 3000
	pad := strings.Repeat("x", 4000)
	go func() { // the publisher reads its own copies so that it is not the slow one
		for {
			if _, _, err := pub.ReadMessage(); err != nil {
				return
			}
		}
	}()
	// One message at a time, read by the fast member before the next (so it never owes
	// much); the slow member never reads and owes them all.
	for i := 1; i <= n; i++ {
		send(t, pub, `{"type":"chat","room":"r","content":"`+pad+`"}`)
		var m struct{ Offset int }
		if err := json.Unmarshal([]byte(next(t, fast)), &m); err != nil || m.Offset != i {
			t.Fatalf("message %d: offset %d (%v)", i, m.Offset, err)
		}
	}
	// the slow member's socket ends after what the kernel had buffered
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	var err error
	for err == nil {
		_, _, err = slow.ReadMessage()
	}
	if !websocket.IsCloseError(err, websocket.CloseAbnormalClosure) {
		t.Fatalf("slow member: %v, want the connection dropped (1006, no close frame)", err)
	}
}
