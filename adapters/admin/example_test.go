package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-ws/switchboard/adapters/admin"
	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
)

// The admin HTTP API (PROTOCOL.md §6) mounted next to the WebSocket endpoint. With a
// token set it answers any client that sends it, and nobody else; an operator's
// broadcast and disconnect reach the connected user as frames and a 4009 close.
func Example() {
	cfg := core.DefaultConfig()
	cfg.NodeID = "n1"
	n := node.New(node.Options{Core: cfg})
	mux := http.NewServeMux()
	mux.Handle("/ws", nethttp.New(n))
	mux.Handle("/api/", admin.New(n, admin.Options{Token: "s3cret"}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// ann is connected; what she receives is printed at the end.
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?user=ann", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.CloseNow()
	ws.Read(ctx) // connected
	seen := make(chan string, 4)
	go func() {
		defer close(seen)
		for {
			_, data, err := ws.Read(ctx)
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				seen <- fmt.Sprintf("ann: closed %d %s", int(ce.Code), ce.Reason)
				return
			} else if err != nil {
				return
			}
			var f struct{ Type, Sender, Content string }
			json.Unmarshal(data, &f)
			seen <- fmt.Sprintf("ann: %s from %s: %s", f.Type, f.Sender, f.Content)
		}
	}()

	call := func(method, path, token, body string) {
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if method == "POST" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Println(method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	call("GET", "/api/stats", "s3cret", "")
	call("GET", "/api/users", "wrong", "")
	call("POST", "/api/broadcast", "s3cret", `{"content":"maintenance at noon"}`)
	call("POST", "/api/users/ann/disconnect", "s3cret", "")
	for line := range seen {
		fmt.Println(line)
	}
	n.Shutdown(ctx)
	// Output:
	// GET /api/stats 200 {"total_connections":1,"unique_users":1,"max_connections":10000,"rooms":0,"node_id":"n1"}
	// GET /api/users 401 {"error":"unauthorized","message":"a valid Authorization: Bearer token is required"}
	// POST /api/broadcast 200 {"delivered":1}
	// POST /api/users/ann/disconnect 200 {"closed":1}
	// ann: broadcast from server: maintenance at noon
	// ann: closed 4009 Kicked
}

// The same operations without HTTP: node.Admin takes a core.AdminRequest and returns the
// hub's reply (the admin handler is a thin layer over it).
func Example_nodeAdmin() {
	cfg := core.DefaultConfig()
	cfg.NodeID = "n1"
	n := node.New(node.Options{Core: cfg})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer n.Shutdown(ctx)

	rep, err := n.Admin(ctx, core.AdminRequest{Op: core.AdminPublish, Room: "news", Content: "hello"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Status, rep.Delivered, rep.Offset) // a room nobody is in: kept for who comes (§10.2)
	rep, _ = n.Admin(ctx, core.AdminRequest{Op: core.AdminStats})
	fmt.Printf("%+v\n", rep.Stats)
	rep, _ = n.Admin(ctx, core.AdminRequest{Op: core.AdminSendUser, User: "bob", Content: "hi"})
	fmt.Println(rep.Status, rep.Error)
	// Output:
	// 200 0 1
	// {TotalConnections:0 UniqueUsers:0 MaxConnections:10000 Rooms:0 NodeID:n1}
	// 404 not_found
}
