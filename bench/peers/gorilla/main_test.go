package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// The hub lives for the process (as in gorilla's chat example); every per-connection
// goroutine must end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/switchboard-ws/switchboard/bench/peers/gorilla.(*hub).run"))
}

// Every write pump delivers every message once, in order: naive and bufio one JSON per
// frame, chat possibly several per frame, newline-separated (what loadgen splits on).
func TestWritePumpsDeliverEveryMessage(t *testing.T) {
	for _, mode := range []string{"naive", "chat", "bufio"} {
		t.Run(mode, func(t *testing.T) {
			srv := httptest.NewServer(newMux(mode))
			defer srv.Close()
			url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws?user="
			pub, _, err := websocket.DefaultDialer.Dial(url+"p", nil)
			if err != nil {
				t.Fatal(err)
			}
			sub, _, err := websocket.DefaultDialer.Dial(url+"s", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []*websocket.Conn{pub, sub} {
				c.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","room":"r","id":"j"}`))
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, b, err := c.ReadMessage(); err != nil || string(b) != `{"type":"ack","id":"j"}` {
					t.Fatalf("join: %s %v", b, err)
				}
			}
			const n = 200 // sent in one burst, so the pumps find queues to drain
			for i := 0; i < n; i++ {
				if err := pub.WriteMessage(websocket.TextMessage, []byte(`{"type":"chat","room":"r","content":"m"}`)); err != nil {
					t.Fatal(err)
				}
			}
			got, frames, multi := 0, 0, 0
			for got < n {
				sub.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, b, err := sub.ReadMessage()
				if err != nil {
					t.Fatalf("after %d messages: %v", got, err)
				}
				frames++
				parts := bytes.Split(b, []byte("\n"))
				if len(parts) > 1 {
					multi++
				}
				for _, p := range parts {
					var m struct{ Offset int }
					if err := json.Unmarshal(p, &m); err != nil || m.Offset != got+1 {
						t.Fatalf("message %d: %q (%v)", got+1, p, err)
					}
					got++
				}
			}
			if mode != "chat" && multi > 0 {
				t.Fatalf("%s put several messages in one frame %d times", mode, multi)
			}
			t.Logf("%s: %d messages in %d frames", mode, got, frames)
			pub.Close()
			sub.Close()
		})
	}
}
