package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestNATSFlagJoinsACluster wires two servers with --nats to one embedded NATS server and
// checks what the flag promises: a chat crosses nodes, and /healthz and /metrics say the
// cluster link is degraded while NATS is down (the nodes still serve).
func TestNATSFlagJoinsACluster(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	natsURL := "nats://127.0.0.1:" + strconv.Itoa(port)

	var bases []string
	for _, id := range []string{"a", "b"} {
		cfg, err := parseConfig([]string{"--nats", natsURL, "--node-id", id, "--transport", "goroutine",
			"--history", "7", "--history-ttl", "90s", "--dedupe-window", "3m"}, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		s, err := newServer(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(s.handler)
		defer func() { s.shutdownNode(); hs.Close() }()
		bases = append(bases, hs.URL)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(base, user string) *websocket.Conn {
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws?user="+user, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	readType := func(ws *websocket.Conn, typ string) string {
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("waiting for %s: %v", typ, err)
			}
			if strings.Contains(string(data), `"type":"`+typ+`"`) {
				return string(data)
			}
		}
	}
	ann, bob := dial(bases[0], "ann"), dial(bases[1], "bob")
	defer ann.CloseNow()
	defer bob.CloseNow()
	ann.Write(ctx, websocket.MessageText, []byte(`{"type":"join","room":"r"}`))
	readType(ann, "user_joined")
	bob.Write(ctx, websocket.MessageText, []byte(`{"type":"join","room":"r"}`))
	if m := readType(ann, "user_joined"); !strings.Contains(m, `"user_id":"bob"`) {
		t.Fatalf("ann: %s", m)
	}
	bob.Write(ctx, websocket.MessageText, []byte(`{"type":"chat","room":"r","content":"across"}`))
	if m := readType(ann, "chat"); !strings.Contains(m, `"content":"across"`) || !strings.Contains(m, `"sender":"bob"`) {
		t.Fatalf("ann: %s", m)
	}

	// the room stream is limited per room by --history and --history-ttl, and remembers
	// chat ids for --dedupe-window (PROTOCOL.md §10.2, §10.4)
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "SB_ROOMS")
	if err != nil {
		t.Fatal(err)
	}
	if c := st.CachedInfo().Config; c.MaxMsgsPerSubject != 8 || c.MaxAge != 90*time.Second || c.Duplicates != 90*time.Second {
		t.Fatalf("room stream: %d per room, max age %v, duplicates %v", c.MaxMsgsPerSubject, c.MaxAge, c.Duplicates)
	}
	nc.Close()

	var clusterHeader string
	get := func(path string) string {
		resp, err := http.Get(bases[0] + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		clusterHeader = resp.Header.Get("X-Switchboard-Cluster")
		return string(b)
	}
	if h := get("/healthz"); h != "ok" || clusterHeader != "" {
		t.Fatalf("/healthz %q, X-Switchboard-Cluster %q", h, clusterHeader)
	}
	if m := get("/metrics"); !strings.Contains(m, "switchboard_cluster_degraded 0") {
		t.Fatal("no switchboard_cluster_degraded 0 in /metrics")
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	deadline := time.Now().Add(15 * time.Second)
	for get("/healthz") != "ok" || clusterHeader != "degraded" {
		if time.Now().After(deadline) {
			t.Fatal("/healthz never said degraded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := get("/metrics"); !strings.Contains(m, "switchboard_cluster_degraded 1") {
		t.Fatal("no switchboard_cluster_degraded 1 in /metrics")
	}
	ann.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)) // still served
	readType(ann, "pong")
}
