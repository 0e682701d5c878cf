// Command gws is the lxzan/gws peer: one read-loop goroutine per connection, rooms in a
// roster, and each room message encoded once into a gws.Broadcaster that writes the same
// compressed-or-not frame to every member asynchronously (the broadcast its README
// documents). Configuration: gws.ServerOption defaults (no compression, its write queue)
// with ReadMaxPayloadSize 64 KiB. It speaks bench/peers/internal/chatwire.
package main

import (
	"net/http"
	"time"

	"github.com/lxzan/gws"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/chatwire"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/peerhost"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/roster"
)

type handler struct {
	gws.BuiltinEventHandler
	rs *roster.Roster[*gws.Conn]
}

func userOf(c *gws.Conn) string {
	v, _ := c.Session().Load("user")
	s, _ := v.(string)
	return s
}

func (h *handler) OnOpen(c *gws.Conn) {
	c.SetDeadline(time.Now().Add(60 * time.Second))
	h.rs.Connect(userOf(c), c)
}

func (h *handler) OnClose(c *gws.Conn, err error) { h.rs.Disconnect(userOf(c), c) }

func (h *handler) OnPing(c *gws.Conn, payload []byte) {
	c.SetDeadline(time.Now().Add(60 * time.Second))
	c.WritePong(payload)
}

func (h *handler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	req, err := chatwire.Decode(m.Bytes())
	if err != nil {
		c.WriteAsync(gws.OpcodeText, chatwire.Error("bad_request", err.Error()), nil)
		return
	}
	switch req.Type {
	case "join":
		h.rs.Join(req.Room, c)
		if req.ID != "" {
			c.WriteAsync(gws.OpcodeText, chatwire.Ack(req.ID), nil)
		}
	case "chat":
		user := userOf(c)
		var b *gws.Broadcaster
		ok := h.rs.Publish(req.Room, c, func(off uint64) []byte {
			msg := chatwire.Chat(req.Room, user, req.Content, off)
			b = gws.NewBroadcaster(gws.OpcodeText, msg)
			return msg
		}, func(m *gws.Conn, _ []byte) { b.Broadcast(m) })
		if b != nil {
			b.Close()
		}
		if !ok {
			c.WriteAsync(gws.OpcodeText, chatwire.Error("not_member", "join the room first"), nil)
		}
	case "private":
		msg := chatwire.Private(userOf(c), req.To, req.Content)
		h.rs.Private(req.To, msg, func(m *gws.Conn, b []byte) { m.WriteAsync(gws.OpcodeText, b, nil) })
	default:
		c.WriteAsync(gws.OpcodeText, chatwire.Error("unknown_type", req.Type), nil)
	}
}

func main() {
	ln := peerhost.Listen()
	h := &handler{rs: roster.New[*gws.Conn]()}
	up := gws.NewUpgrader(h, &gws.ServerOption{
		ReadMaxPayloadSize: 65536,
		Authorize: func(r *http.Request, s gws.SessionStorage) bool {
			s.Store("user", r.URL.Query().Get("user"))
			return true
		},
	})
	mux := http.NewServeMux()
	peerhost.Mount(mux)
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	})
	http.Serve(ln, mux)
}
