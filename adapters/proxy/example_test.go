package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/proxy"
	"github.com/switchboard-ws/switchboard/core"
)

// An application's backend answering the proxy (PROTOCOL.md §9.1) — what --proxy-url
// points at: one JSON POST per decision, here joins of support:… rooms and rpc.
func Example() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q struct {
			UserID string `json:"user_id"`
			Room   string `json:"room"`
		}
		json.NewDecoder(r.Body).Decode(&q)
		switch r.URL.Path {
		case "/hooks/join":
			if q.Room == "support:vip" {
				fmt.Fprint(w, `{"allow":false,"code":"vip_only","message":"for VIP customers"}`)
				return
			}
			fmt.Fprint(w, `{"allow":true}`)
		case "/hooks/rpc":
			fmt.Fprintf(w, `{"result":{"hello":%q}}`, q.UserID)
		default:
			http.NotFound(w, r)
		}
	}))
	defer backend.Close()

	cfg := core.DefaultConfig()
	cfg.Namespaces = map[string]core.Namespace{"": {}, "support": {Join: core.JoinProxy}}
	n := node.New(node.Options{Core: cfg, Hooks: proxy.New(proxy.Options{URL: backend.URL + "/hooks"})})
	srv := httptest.NewServer(nethttp.New(n))
	defer srv.Close()
	defer n.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?user=ann", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.CloseNow()
	until := func(typ string) { // prints the next frame of type typ
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				fmt.Println(err)
				return
			}
			if strings.Contains(string(data), `"type":"`+typ+`"`) {
				fmt.Println(string(data))
				return
			}
		}
	}
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"join","room":"support:vip","id":"j1"}`))
	until("error")
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"join","room":"support:1","id":"j2"}`))
	until("ack")
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"rpc","id":"r1","method":"greet"}`))
	until("rpc_result")
	// Output:
	// {"type":"error","code":"vip_only","message":"for VIP customers","id":"j1"}
	// {"type":"ack","id":"j2"}
	// {"type":"rpc_result","id":"r1","result":{"hello":"ann"}}
}
