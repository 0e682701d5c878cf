// Command helpdesk is an application that embeds Switchboard (PROTOCOL.md §9): its own
// http.ServeMux serves a login that sets a session cookie and the WebSocket endpoint,
// whose Go hooks identify users by that cookie, let only a ticket's agent join its
// support:<ticket> room, persist every chat there, and answer the rpc "tickets.mine".
// Its app events go to a log (a webhook receiver would get the same).
//
//	go run ./examples/helpdesk -addr 127.0.0.1:8090
//	curl -c jar 'http://127.0.0.1:8090/login?user=ann'   # then open /ws with the cookie
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// desk is the application's data.
type desk struct {
	mu       sync.Mutex
	sessions map[string]string // cookie → user
	owner    map[string]string // support room → the agent assigned
	chats    map[string][]string
}

func newDesk() *desk {
	return &desk{sessions: map[string]string{}, chats: map[string][]string{},
		owner: map[string]string{"support:1": "ann", "support:2": "bob"}}
}

func (d *desk) hooks() *node.Hooks {
	return &node.Hooks{
		Connect: func(ctx context.Context, r *http.Request) (core.Identity, error) {
			d.mu.Lock()
			defer d.mu.Unlock()
			if c, err := r.Cookie("sid"); err == nil && d.sessions[c.Value] != "" {
				return core.Identity{User: d.sessions[c.Value]}, nil
			}
			return core.Identity{}, &node.HTTPError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "log in at /login"}
		},
		Join: func(ctx context.Context, q node.JoinQuery) error {
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.owner[q.Room] != q.User {
				return &node.Refusal{Code: "not_your_ticket", Message: "this ticket is assigned to someone else"}
			}
			return nil
		},
		Publish: func(ctx context.Context, q node.PublishQuery) (string, bool, error) {
			d.mu.Lock()
			d.chats[q.Room] = append(d.chats[q.Room], q.User+": "+q.Content)
			d.mu.Unlock()
			return "", false, nil // delivered as sent
		},
		RPC: func(ctx context.Context, q node.RPCQuery) (json.RawMessage, error) {
			if q.Method != "tickets.mine" {
				return nil, &node.Refusal{Code: "unknown_method", Message: q.Method}
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			mine := []string{}
			for room, agent := range d.owner {
				if agent == q.User {
					mine = append(mine, room)
				}
			}
			return json.Marshal(map[string]any{"tickets": mine})
		},
	}
}

func (d *desk) login(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if !proto.ValidUser([]byte(user)) {
		http.Error(w, "want ?user=NAME", http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	sid := fmt.Sprintf("sid-%s-%d", user, len(d.sessions)+1) // a real app: crypto/rand
	d.sessions[sid] = user
	d.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, HttpOnly: true, Path: "/"})
	fmt.Fprintln(w, "logged in as", user)
}

// serve runs the app on ln until ctx ends.
func serve(ctx context.Context, ln net.Listener, d *desk, logger *log.Logger) error {
	cfg := core.DefaultConfig()
	cfg.Namespaces = map[string]core.Namespace{
		"":        {},
		"support": {Join: core.JoinProxy, Publish: core.PublishProxy},
	}
	n := node.New(node.Options{Core: cfg, Hooks: d.hooks(), Events: func(ev core.AppEvent) {
		logger.Printf("event %s user=%s room=%s", ev.Type, ev.User, ev.Room)
	}})
	mux := http.NewServeMux()
	mux.HandleFunc("/login", d.login)
	mux.Handle("/ws", nethttp.New(n))
	srv := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		n.Shutdown(context.Background())
		srv.Shutdown(context.Background())
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("helpdesk on http://%s", ln.Addr())
	if err := serve(ctx, ln, newDesk(), log.Default()); err != nil {
		log.Fatal(err)
	}
}
