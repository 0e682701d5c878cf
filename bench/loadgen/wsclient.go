package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// client is one load-generator WebSocket connection: a raw non-blocking socket that
// speaks just enough RFC 6455 to send masked frames and parse the server's unmasked ones.
// Its reader (reader.go) reads it into a buffer shared by the reader's connections; only
// a partial frame tail (and a fragmented message being reassembled) is kept per client.
type client struct {
	id      int
	user    string
	fd      int
	rd      *reader
	t       *tally
	wmu     sync.Mutex
	pending []byte // unparsed tail of the last read (a partial frame); reader only
	frag    []byte // a fragmented message being reassembled; reader only

	measured atomic.Bool // its deliveries count toward latency, loss and order
	stalled  atomic.Bool // slow scenario: stop reading
	closed   atomic.Bool
	lastSeq  uint64 // only the reader touches it
	waitTok  atomic.Pointer[[]byte]
	waitCh   chan struct{}
	g        *gen
}

// maxFragBytes bounds a reassembled fragmented message.
const maxFragBytes = 4 << 20

// wsKey is a fixed Sec-WebSocket-Key: the server must answer it, nobody checks it twice.
const wsKey = "dGhlIHNhbXBsZSBub25jZQ=="

func dialer(i int, srcIPs int) *net.Dialer {
	d := &net.Dialer{Timeout: 30 * time.Second}
	if srcIPs > 0 {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%srcIPs))}
		// IP_BIND_ADDRESS_NO_PORT: pick the port at connect time, not bind time, so
		// the 4-tuple (not the bound port) must be unique.
		d.Control = func(network, address string, c syscall.RawConn) error {
			var serr error
			c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, 24, 1) })
			return serr
		}
	}
	return d
}

// dial opens the TCP connection, completes the WebSocket handshake for user and takes
// the socket away from Go's poller (a duplicate descriptor; the net.Conn is closed), so
// only its reader's epoll set watches it.
func (g *gen) dial(ctx context.Context, i int, user string) (*client, error) {
	d := dialer(i, g.cfg.srcIPs)
	c0, err := d.DialContext(ctx, "tcp", g.cfg.hostport)
	if err != nil {
		return nil, err
	}
	nc := c0.(*net.TCPConn)
	defer nc.Close()
	path := g.cfg.path + "?user=" + user
	req := "GET " + path + " HTTP/1.1\r\nHost: " + g.cfg.hostport +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + wsKey +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Write([]byte(req)); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	status, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if !bytes.Contains([]byte(status), []byte(" 101 ")) {
		return nil, fmt.Errorf("handshake: %q", status)
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, fmt.Errorf("handshake headers: %w", err)
		}
		if len(line) <= 2 {
			break
		}
	}
	c := &client{id: i, user: user, fd: -1, g: g, waitCh: make(chan struct{}, 1)}
	// Frames the server sent right behind its 101 are in br's buffer: keep them.
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		c.pending = append([]byte(nil), b...)
	}
	rc, err := nc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var derr error
	if err := rc.Control(func(fd uintptr) { c.fd, derr = unix.Dup(int(fd)) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	// O_NONBLOCK lives on the shared file description: the duplicate is non-blocking too.
	return c, nil
}

// expect arms a wait for the next frame that contains tok.
func (c *client) expect(tok []byte) {
	select {
	case <-c.waitCh:
	default:
	}
	c.waitTok.Store(&tok)
}

func (c *client) wait(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.waitCh:
		return nil
	case <-t.C:
		return errors.New("timeout waiting for reply")
	}
}

// write sends all of b, waiting (poll) while the socket's send buffer is full.
func (c *client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for len(b) > 0 {
		if c.closed.Load() {
			return net.ErrClosed
		}
		n, err := unix.Write(c.fd, b)
		if n > 0 {
			b = b[n:]
		}
		switch err {
		case nil, unix.EINTR:
		case unix.EAGAIN:
			unix.Poll([]unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLOUT}}, 100)
		default:
			return err
		}
	}
	return nil
}

// close ends the connection: the reader sees the shutdown and closes the descriptor
// (a stalled client has left its reader, so it is closed here).
func (c *client) close() {
	if c.closed.CompareAndSwap(false, true) {
		if c.stalled.Load() || c.rd == nil {
			unix.Close(c.fd)
			return
		}
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
}

func (c *client) ended() {
	if !c.closed.Load() && c.measured.Load() {
		c.g.unexpectedClose.Add(1)
		c.g.unmeasure(c)
	}
	c.closed.Store(true)
}

// consume parses every complete frame in b, counting into cnt, and returns the
// incomplete tail. now is when b was read, for latency samples (0: record none).
func (c *client) consume(b []byte, now int64, cnt *counts) []byte {
	for {
		if len(b) < 2 {
			return b
		}
		op := b[0] & 0x0f
		ln := int(b[1] & 0x7f)
		h := 2
		switch ln {
		case 126:
			if len(b) < 4 {
				return b
			}
			ln = int(b[2])<<8 | int(b[3])
			h = 4
		case 127:
			if len(b) < 10 {
				return b
			}
			ln = 0
			for i := 2; i < 10; i++ {
				ln = ln<<8 | int(b[i])
			}
			h = 10
		}
		if b[1]&0x80 != 0 {
			h += 4 // a masked server frame is a protocol error; skip the key anyway
		}
		if len(b) < h+ln {
			return b
		}
		p := b[h : h+ln]
		fin := b[0]&0x80 != 0
		switch op {
		case 1, 2:
			if fin {
				c.onData(p, now, cnt)
			} else {
				c.frag = append(c.frag[:0], p...)
			}
		case 0: // continuation of a fragmented message
			if len(c.frag)+len(p) <= maxFragBytes {
				c.frag = append(c.frag, p...)
			}
			if fin {
				c.onData(c.frag, now, cnt)
				if cap(c.frag) > 4096 {
					c.frag = nil
				} else {
					c.frag = c.frag[:0]
				}
			}
		case 8:
			c.g.serverCloses.Add(1)
			if len(p) >= 2 {
				code := int(p[0])<<8 | int(p[1])
				if code == 4008 {
					c.g.slowCloses.Add(1)
				}
			}
		case 9:
			c.write(appendFrame(nil, 0xA, p))
		}
		b = b[h+ln:]
	}
}

// onData counts every load-generator message in one WebSocket message (a frame may carry
// several: newline-separated JSON from gorilla's chat pump and centrifuge's batching)
// into cnt, checks its sequence number and, when now is set (a latency reader's read),
// records its latency.
func (c *client) onData(p []byte, now int64, cnt *counts) {
	if tp := c.waitTok.Load(); tp != nil && bytes.Contains(p, *tp) {
		c.waitTok.Store(nil)
		select {
		case c.waitCh <- struct{}{}:
		default:
		}
	}
	if c.g.cfg.proto == protoCentrifuge && hasCentrifugePing(p) {
		c.write(appendFrame(nil, 1, []byte("{}"))) // centrifuge ping: answer with a pong
	}
	measured := c.measured.Load() // once per message: it changes only between steps
	for {
		i := bytes.Index(p, contentMarker)
		if i < 0 {
			return
		}
		key := i > 0 && p[i-1] == '"'
		p = p[i+len(contentMarker):]
		if !key {
			continue
		}
		sent, n1 := parseUint(p)
		if n1 == 0 || n1 >= len(p) || p[n1] != '.' {
			continue
		}
		seq, n2 := parseUint(p[n1+1:])
		if n2 == 0 {
			continue
		}
		p = p[n1+1+n2:]
		// The padding holds no quote: jump to the content's end in one IndexByte rather
		// than scanning it for the next marker.
		if end := bytes.IndexByte(p, '"'); end >= 0 {
			p = p[end+1:]
		}
		if !measured {
			cnt.unmeasured++
			continue
		}
		cnt.received++
		if now > 0 {
			c.t.hist.record(now - int64(sent))
		}
		if seq <= c.lastSeq {
			cnt.reordered++
		}
		c.lastSeq = seq
	}
}

// hasCentrifugePing reports whether a (possibly batched, newline-separated) Centrifuge
// frame holds the empty-object ping.
func hasCentrifugePing(p []byte) bool {
	ping := []byte("{}")
	return bytes.Equal(p, ping) || bytes.HasPrefix(p, []byte("{}\n")) ||
		bytes.HasSuffix(p, []byte("\n{}")) || bytes.Contains(p, []byte("\n{}\n"))
}

func parseUint(b []byte) (uint64, int) {
	var v uint64
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + uint64(b[i]-'0')
		i++
	}
	return v, i
}

// contentMarker (after a quote) precedes the load generator's payload in every
// protocol's frames: the payload is "SENDNANOS.SEQ." followed by padding. It leaves the
// opening quote out because bytes.Index looks for its first byte first, and JSON is
// full of quotes.
var contentMarker = []byte(`content":"`)

// appendFrame appends a masked client frame with a zero masking key (the XOR is then the
// identity, so the payload is copied as is).
func appendFrame(dst []byte, op byte, payload []byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n < 65536:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	dst = append(dst, 0, 0, 0, 0)
	return append(dst, payload...)
}

// appendContent appends the payload: send time, sequence number, padding to size bytes.
func appendContent(dst []byte, sent int64, seq uint64, size int) []byte {
	start := len(dst)
	dst = strconv.AppendInt(dst, sent, 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, '.')
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return dst
}
