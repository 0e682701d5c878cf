package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The binary serves the SSE fallback beside /ws (PROTOCOL.md §12), on either transport:
// a stream's messages reach a WebSocket client in the same room and back, and a drain
// ends the stream with its closed 1001 event.
func TestSSEFallback(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr, func(t *testing.T) {
			in := start(t, "--transport", tr, "--ping-interval", "50ms")
			resp, err := http.Get(in.url + "/sse/ann")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("GET /sse/ann: %d %v", resp.StatusCode, resp.Header)
			}
			stream := bufio.NewReader(resp.Body)
			next := func(typ string) map[string]any {
				t.Helper()
				for {
					line, err := stream.ReadString('\n')
					if err != nil {
						t.Fatalf("stream ended waiting for %s: %v", typ, err)
					}
					if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
						var m map[string]any
						if json.Unmarshal([]byte(data), &m) != nil {
							t.Fatalf("event data %q", data)
						}
						if m["type"] == typ {
							return m
						}
					}
				}
			}
			session, _ := next("connected")["session"].(string)

			bob, _ := in.connect("/ws/bob")
			bob.send(`{"type":"join","room":"lobby"}`)
			bob.expect("joined")
			code, body := in.http(http.MethodPost, "/sse/send",
				`{"type":"join","room":"lobby"}`+"\n"+`{"type":"chat","room":"lobby","content":"over sse"}`, "X-Switchboard-Session", session)
			if code != http.StatusAccepted || body != `{"accepted":2}` {
				t.Fatalf("POST /sse/send: %d %s", code, body)
			}
			if m := bob.expect("chat"); m["sender"] != "ann" || m["content"] != "over sse" {
				t.Errorf("bob got %v", m)
			}
			bob.send(`{"type":"chat","room":"lobby","content":"over ws"}`)
			for {
				if m := next("chat"); m["content"] == "over ws" {
					break
				}
			}
			if code, _ := in.http(http.MethodPost, "/sse/send", `{"type":"ping"}`, "X-Switchboard-Session", session+"x"); code != http.StatusUnauthorized {
				t.Errorf("forged session: %d, want 401", code)
			}

			if code, _ := in.http(http.MethodPost, "/api/drain", ""); code != http.StatusAccepted {
				t.Fatalf("drain: %d", code)
			}
			if m := next("closed"); m["code"] != 1001.0 || m["reason"] != "Server shutting down" {
				t.Errorf("drained stream: %v", m)
			}
			// The drain ends the program once its last connection is gone (waited for
			// here, so that the cleanup's SIGTERM never reaches the next instance).
			resp.Body.Close()
			bob.c.CloseNow()
			select {
			case <-in.exited:
				if in.code != 0 {
					t.Errorf("exit code %d after the drain", in.code)
				}
			case <-time.After(wait):
				t.Fatal("the program did not exit after the drain")
			}
		})
	}
}
