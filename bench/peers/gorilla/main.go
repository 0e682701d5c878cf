// Command gorilla is the gorilla/websocket peer: the classic chat hub — one hub goroutine
// owns rooms and users and fans each message out to per-client send channels; every
// client has a read goroutine and a write goroutine that writes one frame per message.
// It speaks bench/peers/internal/chatwire; it never batches frames into one write.
package main

import (
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/chatwire"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/peerhost"
)

const sendBuffer = 256 // messages queued per client before the hub drops it as slow

type client struct {
	hub   *hub
	conn  *websocket.Conn
	user  string
	send  chan []byte
	rooms map[string]bool // owned by the hub goroutine
}

type publish struct {
	from *client
	req  chatwire.Request
}

// hub owns all membership; it is the only goroutine that touches rooms and users.
type hub struct {
	register   chan *client
	unregister chan *client
	inbound    chan publish
	rooms      map[string]map[*client]bool
	offsets    map[string]uint64
	users      map[string]map[*client]bool
}

func newHub() *hub {
	return &hub{register: make(chan *client), unregister: make(chan *client),
		inbound: make(chan publish, 1024), rooms: map[string]map[*client]bool{},
		offsets: map[string]uint64{}, users: map[string]map[*client]bool{}}
}

func (h *hub) run() {
	for {
		select {
		case c := <-h.register:
			if h.users[c.user] == nil {
				h.users[c.user] = map[*client]bool{}
			}
			h.users[c.user][c] = true
		case c := <-h.unregister:
			h.drop(c)
		case p := <-h.inbound:
			h.handle(p)
		}
	}
}

func (h *hub) drop(c *client) {
	if _, ok := h.users[c.user][c]; !ok {
		return
	}
	delete(h.users[c.user], c)
	if len(h.users[c.user]) == 0 {
		delete(h.users, c.user)
	}
	for r := range c.rooms {
		delete(h.rooms[r], c)
		if len(h.rooms[r]) == 0 {
			delete(h.rooms, r)
		}
	}
	close(c.send)
}

func (h *hub) deliver(c *client, msg []byte) {
	select {
	case c.send <- msg:
	default:
		h.drop(c) // slow client: the hub never blocks on it
	}
}

func (h *hub) handle(p publish) {
	c, req := p.from, p.req
	switch req.Type {
	case "join":
		if h.rooms[req.Room] == nil {
			h.rooms[req.Room] = map[*client]bool{}
		}
		h.rooms[req.Room][c] = true
		c.rooms[req.Room] = true
		if req.ID != "" {
			h.deliver(c, chatwire.Ack(req.ID))
		}
	case "chat":
		if !c.rooms[req.Room] {
			h.deliver(c, chatwire.Error("not_member", "join the room first"))
			return
		}
		h.offsets[req.Room]++
		msg := chatwire.Chat(req.Room, c.user, req.Content, h.offsets[req.Room])
		for m := range h.rooms[req.Room] {
			h.deliver(m, msg)
		}
	case "private":
		msg := chatwire.Private(c.user, req.To, req.Content)
		for m := range h.users[req.To] {
			h.deliver(m, msg)
		}
	default:
		h.deliver(c, chatwire.Error("unknown_type", req.Type))
	}
}

func (c *client) readPump() {
	defer func() {
		c.hub.unregister <- c
		c.conn.Close()
	}()
	c.conn.SetReadLimit(65536)
	for {
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		req, err := chatwire.Decode(b)
		if err != nil {
			continue
		}
		c.hub.inbound <- publish{from: c, req: req}
	}
}

func (c *client) writePump() {
	ping := time.NewTicker(25 * time.Second)
	defer func() {
		ping.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case msg, ok := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if !ok {
				c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				return
			}
		case <-ping.C:
			c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

func main() {
	ln := peerhost.Listen()
	h := newHub()
	go h.run()
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}
	mux := http.NewServeMux()
	peerhost.Mount(mux)
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := &client{hub: h, conn: conn, user: r.URL.Query().Get("user"), send: make(chan []byte, sendBuffer), rooms: map[string]bool{}}
		h.register <- c
		go c.writePump()
		go c.readPump()
	})
	http.Serve(ln, mux)
}
