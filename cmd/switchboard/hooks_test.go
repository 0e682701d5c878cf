package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/webhook"
)

// The binary with the backend of PROTOCOL.md §9 served by the test: --auth proxy
// identifies through its connect hook, a join: proxy namespace asks its join hook, rpc
// its rpc hook, and --webhook-url gets the signed app events, user_offline after
// --offline-grace.
func TestProxyAndWebhookFlags(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/app/connect":
			headers, _ := body["headers"].(map[string]any)
			if headers["Cookie"] != "session=ann-session" {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"unauthorized"}`)
				return
			}
			io.WriteString(w, `{"user_id":"ann"}`)
		case "/app/join":
			io.WriteString(w, `{"allow":false,"code":"closed","message":"support is closed"}`)
		case "/app/rpc":
			json.NewEncoder(w).Encode(map[string]any{"result": map[string]any{"method": body["method"], "user": body["user_id"]}})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer backend.Close()
	var mu sync.Mutex
	var events []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(webhook.SignatureHeader) != webhook.Sign([]byte("whsecret"), body) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		var b webhook.Batch
		json.Unmarshal(body, &b)
		mu.Lock()
		for _, e := range b.Events {
			events = append(events, e.Type+":"+e.UserID+e.Room)
		}
		mu.Unlock()
	}))
	defer hook.Close()
	cfgFile := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(cfgFile, []byte("namespaces:\n  \"\":\n    join: public\n  support:\n    join: proxy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := start(t, "--transport", "goroutine", "--config", cfgFile, "--auth", "proxy", "--proxy-url", backend.URL+"/app",
		"--webhook-url", hook.URL, "--webhook-secret", "whsecret", "--offline-grace", "300ms", "--ping-interval", "100ms")

	if _, resp, err := in.dial("/ws", nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no session: %v %v, want HTTP 401", resp, err)
	}
	cl, _, err := in.dial("/ws", http.Header{"Cookie": {"session=ann-session"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := cl.expect("connected"); c["user_id"] != "ann" {
		t.Fatalf("connected %v", c)
	}
	cl.send(`{"type":"join","room":"support:1","id":"j1"}`)
	if e := cl.expect("error"); e["code"] != "closed" || e["message"] != "support is closed" || e["id"] != "j1" {
		t.Errorf("refused join %v", e)
	}
	cl.send(`{"type":"rpc","id":"r1","method":"whoami"}`)
	if r := cl.expect("rpc_result"); r["id"] != "r1" || r["result"].(map[string]any)["user"] != "ann" {
		t.Errorf("rpc_result %v", r)
	}
	cl.send(`{"type":"join","room":"lobby","id":"j2"}`)
	cl.expect("user_joined")
	cl.c.CloseNow()
	want := "user_online:ann room_occupied:lobby member_added:annlobby member_removed:annlobby room_vacated:lobby user_offline:ann"
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := strings.Join(events, " ")
		mu.Unlock()
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook events %q, want %q", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, text := in.http("GET", "/metrics", "")
	for _, line := range []string{
		`switchboard_hook_calls_total{hook="connect",outcome="allowed"} 1`,
		`switchboard_hook_calls_total{hook="connect",outcome="refused"} 1`,
		`switchboard_hook_calls_total{hook="join",outcome="refused"} 1`,
		`switchboard_hook_calls_total{hook="rpc",outcome="allowed"} 1`,
	} {
		if !strings.Contains(text, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}
