// Command gorilla is the gorilla/websocket peer: the classic chat hub — one hub goroutine
// owns rooms and users and fans each message out to per-client send channels; every
// client has a read goroutine and a write goroutine. It speaks
// bench/peers/internal/chatwire. --write-pump picks how the write goroutine writes, and
// the bench runs all three as separate systems:
//
//   - naive (system "gorilla"): one WriteMessage, so one frame and one write syscall,
//     per message.
//   - chat (system "gorilla-chat"): gorilla's own examples/chat write pump, its documented
//     way to serve a chat: NextWriter, then every message already queued in the send
//     channel appended to the same frame, newline-separated — one frame for the whole
//     queue, written a write buffer at a time (the client splits the frame on newlines).
//   - bufio (system "gorilla-bufio"): one frame per message, like Switchboard's, but the
//     frames of everything queued go into a buffer under the connection and reach the
//     socket in one write when the queue is drained.
//
// naive keeps the example's Upgrader buffers (1024 bytes each way, owned by each
// connection). chat and bufio use gorilla's documented setting for many connections with
// bursts of writes: 4096-byte write buffers (its default size; a 1 KiB buffer would cut a
// drained queue into 1 KiB writes) borrowed from a WriteBufferPool only while a message
// is being written, so idle connections hold none. Nothing else differs; in every pump
// the hub never blocks on a client (a full send channel drops it, as in the example).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
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

// Write pumps: each runs in the client's write goroutine until send is closed or a write
// fails; ping keeps idle connections alive as the chat example does.
const pingPeriod = 25 * time.Second

var newline = []byte{'\n'}

func (c *client) writePump(mode string, fc *flushConn) {
	ping := time.NewTicker(pingPeriod)
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
				fc.Flush()
				return
			}
			if err := c.writeQueued(mode, fc, msg); err != nil {
				return
			}
		case <-ping.C:
			c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
			if err := fc.Flush(); err != nil {
				return
			}
		}
	}
}

// writeQueued writes msg and, in the chat and bufio pumps, whatever else is queued.
func (c *client) writeQueued(mode string, fc *flushConn, msg []byte) error {
	switch mode {
	case "chat": // gorilla examples/chat/client.go writePump
		w, err := c.conn.NextWriter(websocket.TextMessage)
		if err != nil {
			return err
		}
		w.Write(msg)
		n := len(c.send)
		for i := 0; i < n; i++ {
			w.Write(newline)
			w.Write(<-c.send)
		}
		return w.Close()
	case "bufio":
		if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			return err
		}
		n := len(c.send)
		for i := 0; i < n; i++ {
			if err := c.conn.WriteMessage(websocket.TextMessage, <-c.send); err != nil {
				return err
			}
		}
		return fc.Flush()
	default: // naive
		return c.conn.WriteMessage(websocket.TextMessage, msg)
	}
}

// flushConn is the connection under gorilla in the bufio pump: once batching is on (after
// the handshake), writes go to a buffer that Flush sends in one write. The buffer holds at
// most one drained send queue (sendBuffer messages).
type flushConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      []byte
}

func (c *flushConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.batching {
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

// Flush writes what is buffered in one write (nothing outside the bufio pump, where c is
// nil: the naive and chat pumps write to gorilla's own connection, untouched).
func (c *flushConn) Flush() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if cap(c.buf) > 64<<10 {
		c.buf = nil // do not pin a burst's buffer to an idle connection
	}
	return err
}

// hijacker hands gorilla a flushConn instead of the raw connection.
type hijacker struct {
	http.ResponseWriter
	fc *flushConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.fc = &flushConn{Conn: nc}
	return h.fc, brw, nil
}

func main() {
	mode := flag.String("write-pump", "naive", "naive (a write per message), chat (gorilla's chat example: queued messages in one frame) or bufio (queued frames in one write)")
	ln := peerhost.Listen()
	switch *mode {
	case "naive", "chat", "bufio":
	default:
		fmt.Fprintln(os.Stderr, "gorilla: unknown --write-pump", *mode)
		os.Exit(2)
	}
	http.Serve(ln, newMux(*mode))
}

// newMux starts a hub (it lives as long as the process, as in gorilla's chat example) and
// returns the handler: /ws with the given write pump, /metrics and /debug/pprof.
func newMux(mode string) http.Handler {
	h := newHub()
	go h.run()
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}
	if mode != "naive" {
		up.WriteBufferSize, up.WriteBufferPool = 4096, &sync.Pool{}
	}
	mux := http.NewServeMux()
	peerhost.Mount(mux)
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		var fc *flushConn
		hw := w
		if mode == "bufio" {
			hw = &hijacker{ResponseWriter: w}
		}
		conn, err := up.Upgrade(hw, r, nil)
		if err != nil {
			return
		}
		if hj, ok := hw.(*hijacker); ok {
			fc = hj.fc
			fc.mu.Lock()
			fc.batching = true
			fc.mu.Unlock()
			conn.SetPingHandler(func(data string) error {
				conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
				return fc.Flush()
			})
		}
		c := &client{hub: h, conn: conn, user: r.URL.Query().Get("user"), send: make(chan []byte, sendBuffer), rooms: map[string]bool{}}
		h.register <- c
		go c.writePump(mode, fc)
		go c.readPump()
	})
	return mux
}
