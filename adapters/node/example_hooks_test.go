package node_test

import (
	"context"
	"encoding/json"

	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
)

// app is an application's own data: sessions, who may enter which support room, and
// the chats it keeps.
type app struct {
	mu       sync.Mutex
	sessions map[string]string   // session cookie → user
	agents   map[string][]string // support room → users allowed in
	chats    []string
}

// Embed Switchboard in an existing http.ServeMux and let the application decide (PROTOCOL.md
// §9.1): the user comes from the app's session cookie, joins of support:… rooms are
// authorized from its data, their chats are persisted (and may be rewritten), and an
// rpc is answered from Go. The same four decisions over HTTP are adapters/proxy.
func ExampleHooks() {
	a := &app{
		sessions: map[string]string{"s-ann": "ann"},
		agents:   map[string][]string{"support:42": {"ann"}},
	}
	hooks := &node.Hooks{
		Connect: func(ctx context.Context, r *http.Request) (core.Identity, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			if c, err := r.Cookie("session"); err == nil && a.sessions[c.Value] != "" {
				return core.Identity{User: a.sessions[c.Value]}, nil
			}
			return core.Identity{}, &node.HTTPError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "log in first"}
		},
		Join: func(ctx context.Context, q node.JoinQuery) error {
			a.mu.Lock()
			defer a.mu.Unlock()
			for _, u := range a.agents[q.Room] {
				if u == q.User {
					return nil
				}
			}
			return &node.Refusal{Code: "not_assigned", Message: "this ticket is not yours"}
		},
		Publish: func(ctx context.Context, q node.PublishQuery) (string, bool, error) {
			text := strings.TrimSpace(q.Content)
			a.mu.Lock()
			a.chats = append(a.chats, q.Room+" "+q.User+": "+text)
			a.mu.Unlock()
			return text, true, nil // delivered as persisted
		},
		RPC: func(ctx context.Context, q node.RPCQuery) (json.RawMessage, error) {
			if q.Method != "tickets.open" {
				return nil, &node.Refusal{Code: "unknown_method"}
			}
			return json.RawMessage(`{"open":3}`), nil
		},
	}
	cfg := core.DefaultConfig()
	cfg.Namespaces = map[string]core.Namespace{
		"":        {},
		"support": {Join: core.JoinProxy, Publish: core.PublishProxy},
	}
	n := node.New(node.Options{Core: cfg, Hooks: hooks})
	mux := http.NewServeMux()
	mux.Handle("/ws", nethttp.New(n))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "my app") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer n.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	if _, resp, err := websocket.Dial(ctx, url, nil); err != nil {
		fmt.Println("without a session:", resp.StatusCode)
	}
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {"session=s-ann"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.CloseNow()
	send := func(msg string) { ws.Write(ctx, websocket.MessageText, []byte(msg)) }
	show := func(types ...string) { // prints the frames of these types, skipping others
		for {
			_, data, err := ws.Read(ctx)
			var f map[string]any
			if err != nil || json.Unmarshal(data, &f) != nil {
				fmt.Println("read:", err)
				return
			}
			for _, t := range types {
				if f["type"] == t {
					delete(f, "timestamp")
					delete(f, "conn_id")
					b, _ := json.Marshal(f)
					fmt.Println(string(b))
					return
				}
			}
		}
	}
	show("connected")
	send(`{"type":"join","room":"support:7","id":"j1"}`)
	show("error")
	send(`{"type":"join","room":"support:42","id":"j2"}`)
	show("ack")
	send(`{"type":"chat","room":"support:42","content":"  on it  ","id":"c1"}`)
	show("chat")
	send(`{"type":"rpc","id":"r1","method":"tickets.open"}`)
	show("rpc_result")
	a.mu.Lock()
	fmt.Println("persisted:", a.chats)
	a.mu.Unlock()
	// Output:
	// without a session: 401
	// {"rooms":[],"type":"connected","user_id":"ann"}
	// {"code":"not_assigned","id":"j1","message":"this ticket is not yours","type":"error"}
	// {"id":"j2","type":"ack"}
	// {"content":"on it","offset":1,"room":"support:42","sender":"ann","type":"chat"}
	// {"id":"r1","result":{"open":3},"type":"rpc_result"}
	// persisted: [support:42 ann: on it]
}
