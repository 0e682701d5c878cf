// Command rawtcp is the physical floor of the fan-out benchmark: the same protocol and
// the same bytes as the other peers, but no WebSocket library. net/http answers the
// handshake and hands over the TCP connection; each room message becomes one unmasked
// frame, built once, appended to each member's pending buffer; a writer goroutine per
// connection sends everything pending in ONE write per flush. It never writes a frame
// header and payload separately and never writes per message when frames are waiting.
package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/switchboard-ws/switchboard/bench/peers/internal/peerhost"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/roster"
)

const maxPending = 1 << 20 // a connection with more unsent bytes is dropped as slow

type conn struct {
	nc      net.Conn
	user    string
	mu      sync.Mutex
	pending []byte
	spare   []byte
	wake    chan struct{}
	dead    bool
}

// queue appends one complete frame; the writer sends it with whatever else is pending.
func (c *conn) queue(frame []byte) {
	c.mu.Lock()
	if c.dead || len(c.pending)+len(frame) > maxPending {
		c.dead = true
		c.mu.Unlock()
		c.nc.Close()
		return
	}
	c.pending = append(c.pending, frame...)
	// Wake the writer under the lock: the reader closes wake only after marking dead.
	select {
	case c.wake <- struct{}{}:
	default:
	}
	c.mu.Unlock()
}

func (c *conn) writeLoop() {
	for range c.wake {
		c.mu.Lock()
		buf := c.pending
		c.pending = c.spare[:0]
		c.mu.Unlock()
		if len(buf) > 0 {
			if _, err := c.nc.Write(buf); err != nil {
				c.nc.Close()
				return
			}
		}
		c.mu.Lock()
		c.spare = buf[:0]
		if cap(c.spare) > 64<<10 {
			c.spare = nil // do not pin a burst's buffer to an idle connection
		}
		c.mu.Unlock()
	}
}

// textFrame is an unmasked server frame: header and payload in one slice.
func textFrame(p []byte) []byte {
	n := len(p)
	var f []byte
	switch {
	case n < 126:
		f = append(make([]byte, 0, n+2), 0x81, byte(n))
	case n < 65536:
		f = append(make([]byte, 0, n+4), 0x81, 126, byte(n>>8), byte(n))
	default:
		f = append(make([]byte, 0, n+10), 0x81, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(f, p...)
}

// readFrame reads one client frame and unmasks it; control frames are answered here.
func readFrame(r *bufio.Reader, hdr []byte, buf []byte) (op byte, payload []byte, err error) {
	if _, err = io.ReadFull(r, hdr[:2]); err != nil {
		return
	}
	op = hdr[0] & 0x0f
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		if _, err = io.ReadFull(r, hdr[:2]); err != nil {
			return
		}
		n = uint64(hdr[0])<<8 | uint64(hdr[1])
	case 127:
		if _, err = io.ReadFull(r, hdr[:8]); err != nil {
			return
		}
		n = 0
		for _, b := range hdr[:8] {
			n = n<<8 | uint64(b)
		}
	}
	if n > 65536 {
		return 0, nil, io.ErrUnexpectedEOF
	}
	var mask [4]byte
	if _, err = io.ReadFull(r, mask[:]); err != nil {
		return
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	payload = buf[:n]
	if _, err = io.ReadFull(r, payload); err != nil {
		return
	}
	for i := range payload {
		payload[i] ^= mask[i&3]
	}
	return
}

func main() {
	ln := peerhost.Listen()
	rs := roster.New[*conn]()
	send := func(c *conn, frame []byte) { c.queue(frame) }
	mux := http.NewServeMux()
	peerhost.Mount(mux)
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Sec-WebSocket-Key")
		if key == "" {
			http.Error(w, "not a websocket handshake", http.StatusBadRequest)
			return
		}
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"))
		c := &conn{nc: nc, user: r.URL.Query().Get("user"), wake: make(chan struct{}, 1)}
		rs.Connect(c.user, c)
		go c.writeLoop()
		defer func() {
			rs.Disconnect(c.user, c)
			c.mu.Lock()
			c.dead = true
			close(c.wake)
			c.mu.Unlock()
			nc.Close()
		}()
		var hdr [8]byte
		buf := make([]byte, 512)
		for {
			op, p, err := readFrame(brw.Reader, hdr[:], buf)
			if err != nil || op == 8 {
				return
			}
			if cap(p) > cap(buf) {
				buf = p
			}
			switch op {
			case 9:
				c.queue(append([]byte{0x8a, byte(len(p))}, p...))
				continue
			case 1, 2, 0:
			default:
				continue
			}
			rs.Handle(p, c, c.user, send, textFrame)
		}
	})
	http.Serve(ln, mux)
}
