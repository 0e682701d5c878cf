package nethttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
)

// Mount the WebSocket endpoint in your own http.ServeMux, next to your routes. The
// node owns the core; the transport serves the handshake and the frames. A client
// (here coder/websocket, any RFC 6455 client will do) then speaks PROTOCOL.md.
func Example() {
	n := node.New(node.Options{Core: core.DefaultConfig()})
	mux := http.NewServeMux()
	mux.Handle("/ws", nethttp.New(n))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "my app") })
	srv := httptest.NewServer(mux) // your http.Server
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?user=ann", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.CloseNow()
	read := func() {
		_, data, err := ws.Read(ctx)
		var f struct {
			Type   string `json:"type"`
			UserID string `json:"user_id"`
			Room   string `json:"room"`
			ID     string `json:"id"`
		}
		if err == nil {
			err = json.Unmarshal(data, &f)
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s user_id=%q room=%q id=%q\n", f.Type, f.UserID, f.Room, f.ID)
	}
	read() // connected (its conn_id and timestamp vary, so only these fields are shown)
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"join","room":"lobby","id":"j1"}`))
	read() // joined: the room's epoch and offset (PROTOCOL.md §10.1)
	read() // user_joined
	read() // the join's ack

	// Shutdown closes every connection 1001 "Server shutting down" and waits for each to
	// finish its close handshake, which the client answers while reading.
	closed := make(chan error)
	go func() { _, _, err := ws.Read(ctx); closed <- err }()
	n.Shutdown(ctx)
	var ce websocket.CloseError
	if errors.As(<-closed, &ce) {
		fmt.Println("closed", int(ce.Code), ce.Reason)
	}
	// Output:
	// connected user_id="ann" room="" id=""
	// joined user_id="" room="lobby" id=""
	// user_joined user_id="ann" room="lobby" id=""
	// ack user_id="" room="" id="j1"
	// closed 1001 Server shutting down
}
