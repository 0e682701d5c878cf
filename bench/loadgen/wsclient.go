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
)

// client is one load-generator WebSocket connection: a raw TCP socket that speaks just
// enough RFC 6455 to send masked frames and parse the server's unmasked ones. Reads borrow
// a big buffer from readBufs only while the socket is readable, so an idle client holds no
// buffer; only a partial frame tail is kept per connection.
type client struct {
	id      int
	user    string
	nc      *net.TCPConn
	rc      syscall.RawConn
	wmu     sync.Mutex
	pending []byte // unparsed tail of the last read (a partial frame)

	measured atomic.Bool // its deliveries count toward latency, loss and order
	stalled  atomic.Bool // slow scenario: stop reading
	closed   atomic.Bool
	lastSeq  uint64 // only the reader goroutine touches it
	waitTok  atomic.Pointer[[]byte]
	waitCh   chan struct{}
	g        *gen
}

// readBytes counts every byte read by every client (to tell when traffic has settled).
var readBytes atomic.Uint64

var readBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

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

// dial opens the TCP connection and completes the WebSocket handshake for user.
func (g *gen) dial(ctx context.Context, i int, user string) (*client, error) {
	d := dialer(i, g.cfg.srcIPs)
	c0, err := d.DialContext(ctx, "tcp", g.cfg.hostport)
	if err != nil {
		return nil, err
	}
	nc := c0.(*net.TCPConn)
	path := g.cfg.path + "?user=" + user
	req := "GET " + path + " HTTP/1.1\r\nHost: " + g.cfg.hostport +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + wsKey +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Write([]byte(req)); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	status, err := br.ReadString('\n')
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if !bytes.Contains([]byte(status), []byte(" 101 ")) {
		nc.Close()
		return nil, fmt.Errorf("handshake: %q", status)
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("handshake headers: %w", err)
		}
		if len(line) <= 2 {
			break
		}
	}
	nc.SetDeadline(time.Time{})
	c := &client{id: i, user: user, nc: nc, g: g, waitCh: make(chan struct{}, 1)}
	// Frames the server sent right behind its 101 are in br's buffer: keep them.
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		c.pending = append([]byte(nil), b...)
	}
	rc, err := nc.SyscallConn()
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.rc = rc
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

func (c *client) write(b []byte) error {
	c.wmu.Lock()
	_, err := c.nc.Write(b)
	c.wmu.Unlock()
	return err
}

func (c *client) close() {
	if c.closed.CompareAndSwap(false, true) {
		c.nc.Close()
	}
}

// readLoop runs until the connection ends. Parsing of a pending tail happens first.
func (c *client) readLoop() {
	defer c.g.readersDone.Done()
	if len(c.pending) > 0 {
		// what the handshake reader over-read; a partial frame stays for the next read
		rest := c.consume(c.pending, time.Now().UnixNano())
		c.pending = c.pending[:copy(c.pending, rest)]
	}
	var n int
	var rerr error
	var bp *[]byte
	for {
		for c.stalled.Load() {
			if c.closed.Load() {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		err := c.rc.Read(func(fd uintptr) bool {
			bp = readBufs.Get().(*[]byte)
			n, rerr = syscall.Read(int(fd), *bp)
			if rerr == syscall.EAGAIN {
				readBufs.Put(bp)
				return false
			}
			return true
		})
		if err != nil || rerr != nil || n <= 0 {
			if bp != nil {
				readBufs.Put(bp)
			}
			c.ended()
			return
		}
		now := time.Now().UnixNano()
		readBytes.Add(uint64(n))
		buf := (*bp)[:n]
		if len(c.pending) > 0 {
			c.pending = append(c.pending, buf...)
			buf = c.pending
		}
		rest := c.consume(buf, now)
		switch {
		case len(rest) == 0:
			if cap(c.pending) > 4096 {
				c.pending = nil // do not pin a big buffer to an idle connection
			} else {
				c.pending = c.pending[:0]
			}
		case len(c.pending) > 0:
			// rest lies inside c.pending: move it to the front (copy is memmove).
			c.pending = c.pending[:copy(c.pending, rest)]
		default:
			c.pending = append(c.pending[:0], rest...)
		}
		readBufs.Put(bp)
		bp = nil
	}
}

func (c *client) ended() {
	if !c.closed.Load() && c.measured.Load() {
		c.g.unexpectedClose.Add(1)
		c.g.unmeasure(c)
	}
	c.close()
}

// consume parses every complete frame in b and returns the incomplete tail.
func (c *client) consume(b []byte, now int64) []byte {
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
		switch op {
		case 0, 1, 2:
			c.onData(p, now)
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

func (c *client) onData(p []byte, now int64) {
	if tp := c.waitTok.Load(); tp != nil && bytes.Contains(p, *tp) {
		c.waitTok.Store(nil)
		select {
		case c.waitCh <- struct{}{}:
		default:
		}
	}
	if c.g.cfg.proto == protoCentrifuge && len(p) == 2 && p[0] == '{' && p[1] == '}' {
		c.write(appendFrame(nil, 1, p)) // centrifuge ping: answer with a pong
		return
	}
	sh := c.g.shard(c.id)
	for {
		i := bytes.Index(p, contentMarker)
		if i < 0 {
			return
		}
		p = p[i+len(contentMarker):]
		sent, n1 := parseUint(p)
		if n1 == 0 || n1 >= len(p) || p[n1] != '.' {
			continue
		}
		seq, n2 := parseUint(p[n1+1:])
		if n2 == 0 {
			continue
		}
		p = p[n1+1+n2:]
		if !c.measured.Load() {
			sh.unmeasured.Add(1)
			continue
		}
		sh.received.Add(1)
		sh.hist.record(now - int64(sent))
		if seq <= c.lastSeq {
			sh.reordered.Add(1)
		}
		c.lastSeq = seq
	}
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

// contentMarker precedes the load generator's payload in every protocol's frames: the
// payload is "SENDNANOS.SEQ." followed by padding.
var contentMarker = []byte(`"content":"`)

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
