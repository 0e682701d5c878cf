package natsbroker

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/sse"
)

// sseNode is one cluster node serving only the SSE endpoints.
type sseNode struct {
	node *node.Node
	srv  *httptest.Server
}

func startSSENode(t *testing.T, ns *natsServer, name string) *sseNode {
	t.Helper()
	link, err := Dial(Options{URL: ns.url(), NodeID: name, Heartbeat: 100 * time.Millisecond, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := defaultCore()
	c.NodeID = name
	n := node.New(node.Options{Core: c, Cluster: link})
	h := sse.New(n, sse.Options{})
	fwd, err := link.ForwardSSE(h.Deliver)
	if err != nil {
		t.Fatal(err)
	}
	h.SetForwarder(fwd)
	mux := http.NewServeMux()
	mux.Handle("/sse", h)
	mux.Handle("/sse/send", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Shutdown(ctx)
		srv.Close()
		link.Close()
	})
	return &sseNode{node: n, srv: srv}
}

// sseEvents opens GET /sse on sn and returns its data events, decoded, as they come.
func sseEvents(t *testing.T, sn *sseNode, user string) (<-chan map[string]any, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sn.srv.URL+"/sse?user="+user, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("GET /sse: %v %v", resp, err)
	}
	events := make(chan map[string]any, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(events)
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if data, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "data: "); ok {
				var m map[string]any
				json.Unmarshal([]byte(data), &m)
				events <- m
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return events, cancel
}

func nextEvent(t *testing.T, events <-chan map[string]any, typ string) map[string]any {
	t.Helper()
	timer := time.NewTimer(waitLong)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-events:
			if !ok {
				t.Fatalf("stream ended waiting for %s", typ)
			}
			if m["type"] == typ {
				return m
			}
		case <-timer.C:
			t.Fatalf("no %s event", typ)
		}
	}
}

func ssePost(t *testing.T, sn *sseNode, session, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, sn.srv.URL+"/sse/send", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sse.SessionHeader, session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A POST that reaches another node than the one holding the stream is carried to it
// over NATS: its replies arrive on the stream, in the order the POSTs were answered; a
// forged session is 401 there too, and an ended stream's session 410.
func TestSSEPostToAnotherNode(t *testing.T) {
	ns := startNATS(t)
	a, b := startSSENode(t, ns, "sse-a"), startSSENode(t, ns, "sse-b")
	events, end := sseEvents(t, a, "ann")
	session, _ := nextEvent(t, events, "connected")["session"].(string)
	if session == "" {
		t.Fatal("connected has no session")
	}
	for i, node := range []*sseNode{b, a, b, b, a} {
		body := `{"type":"ping","id":"` + string(rune('0'+i)) + `"}`
		if status := ssePost(t, node, session, body); status != http.StatusAccepted {
			t.Fatalf("POST %d: %d, want 202", i, status)
		}
	}
	for i := range 5 {
		nextEvent(t, events, "pong")
		if m := nextEvent(t, events, "ack"); m["id"] != string(rune('0'+i)) {
			t.Fatalf("ack %v, want id %d: POSTs out of order", m, i)
		}
	}
	forged := session[:len(session)-2] + "AA"
	if forged == session {
		forged = session[:len(session)-2] + "BB"
	}
	if status := ssePost(t, b, forged, `{"type":"ping"}`); status != http.StatusUnauthorized {
		t.Errorf("forged session through another node: %d, want 401", status)
	}
	// A well-formed session naming a node nobody runs: unknown there too.
	nobody := base64.RawURLEncoding.EncodeToString(append([]byte("nobody\x00"), make([]byte, 16)...)) + "." +
		base64.RawURLEncoding.EncodeToString(make([]byte, 16))
	if status := ssePost(t, b, nobody, `{"type":"ping"}`); status != http.StatusUnauthorized {
		t.Errorf("a session of no node: %d, want 401", status)
	}
	end()
	deadline := time.Now().Add(waitLong)
	for a.node.Stats().Live != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if status := ssePost(t, b, session, `{"type":"ping"}`); status != http.StatusGone {
		t.Errorf("ended stream through another node: %d, want 410", status)
	}
}
