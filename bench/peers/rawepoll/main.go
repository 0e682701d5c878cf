// Command rawepoll is the floor of the fan-out benchmark (system "raw-epoll"): the same
// bytes on the wire as the other peers with the least work a server can do for them. No
// WebSocket library and no JSON: net/http answers the handshake and hands over the
// socket, then ONE event-loop goroutine owns every connection through epoll — it reads
// and unmasks client frames, finds the few fields it needs by their literal prefixes,
// builds each room message's frame once, queues a reference to it on every member, and
// at the end of each round of events writes everything queued on each connection with
// one writev (the rest waits for EPOLLOUT). Configuration: one loop (the efficiency runs
// give a server one core), 1 MiB of unsent bytes per connection before it is dropped.
// It must never parse JSON, copy a message per recipient or write per message.
package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-ws/switchboard/bench/peers/internal/chatwire"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/peerhost"
	"golang.org/x/sys/unix"
)

// maxPending is the unsent bytes a connection may owe before it is dropped as slow.
const maxPending = 1 << 20

// maxIovecs is the most buffers one writev takes (IOV_MAX).
const maxIovecs = 1024

type conn struct {
	fd      int
	user    string
	in      []byte   // unparsed tail of client bytes
	out     [][]byte // queued frames (shared between recipients; never written to)
	off     int      // bytes of out[0] already written
	owed    int      // unsent bytes in out
	dirty   bool     // on the loop's flush list
	waitOut bool     // registered for EPOLLOUT
	slow    bool     // owed too much: dropped at the end of the round
	rooms   []*room
}

type room struct {
	name    string
	members []*conn
	offset  uint64
}

// loop owns every connection, room and user; only its goroutine touches them.
type loop struct {
	ep      int
	wake    int // eventfd: new connections are waiting in incoming
	mu      sync.Mutex
	incom   []*conn
	conns   map[int]*conn
	rooms   map[string]*room
	users   map[string][]*conn
	dirty   []*conn
	slow    []*conn
	buf     []byte
	scratch []byte
	quit    atomic.Bool // tests: the loop closes everything and returns
	done    chan struct{}
}

func newLoop() (*loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	l := &loop{ep: ep, wake: wake, conns: map[int]*conn{}, rooms: map[string]*room{},
		users: map[string][]*conn{}, buf: make([]byte, 64<<10), done: make(chan struct{})}
	return l, unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)})
}

// adopt hands a handshaken socket to the loop (called from net/http's goroutines).
func (l *loop) adopt(c *conn) {
	l.mu.Lock()
	l.incom = append(l.incom, c)
	l.mu.Unlock()
	one := [8]byte{1}
	unix.Write(l.wake, one[:])
}

// stop ends the loop (it closes every connection and its descriptors) and waits.
func (l *loop) stop() {
	l.quit.Store(true)
	one := [8]byte{1}
	unix.Write(l.wake, one[:])
	<-l.done
}

func (l *loop) run() {
	runtime.LockOSThread()
	defer close(l.done)
	events := make([]unix.EpollEvent, 1024)
	for !l.quit.Load() {
		n, err := unix.EpollWait(l.ep, events, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			panic(err)
		}
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			if fd == l.wake {
				l.takeIncoming()
				continue
			}
			c := l.conns[fd]
			if c == nil {
				continue
			}
			if events[i].Events&unix.EPOLLOUT != 0 {
				l.flush(c)
			}
			if events[i].Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				l.readFrom(c)
			}
		}
		// End of the round: one writev per connection for everything it was sent.
		for _, c := range l.dirty {
			c.dirty = false
			if l.conns[c.fd] == c && !c.waitOut && !c.slow {
				l.flush(c)
			}
		}
		l.dirty = l.dirty[:0]
		for _, c := range l.slow {
			l.drop(c)
		}
		l.slow = l.slow[:0]
	}
	for _, c := range l.conns {
		l.drop(c)
	}
	unix.Close(l.ep)
	unix.Close(l.wake)
}

func (l *loop) takeIncoming() {
	var b [8]byte
	unix.Read(l.wake, b[:])
	l.mu.Lock()
	cs := l.incom
	l.incom = nil
	l.mu.Unlock()
	for _, c := range cs {
		l.conns[c.fd] = c
		l.users[c.user] = append(l.users[c.user], c)
		unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.fd)})
		if len(c.in) > 0 {
			l.parse(c)
		}
	}
}

func (l *loop) readFrom(c *conn) {
	for {
		n, err := unix.Read(c.fd, l.buf)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return
		}
		if err != nil || n == 0 {
			l.drop(c)
			return
		}
		c.in = append(c.in, l.buf[:n]...)
		if !l.parse(c) {
			return
		}
		if n < len(l.buf) {
			return
		}
	}
}

// parse handles every complete client frame in c.in; false when c was dropped.
func (l *loop) parse(c *conn) bool {
	b := c.in
	for len(b) >= 2 {
		op := b[0] & 0x0f
		n := int(b[1] & 0x7f)
		h := 2
		switch n {
		case 126:
			if len(b) < 4 {
				break
			}
			n, h = int(b[2])<<8|int(b[3]), 4
		case 127:
			l.drop(c) // no client of the bench sends 64 KiB
			return false
		}
		masked := b[1]&0x80 != 0
		if masked {
			h += 4
		}
		if len(b) < h+n || (n >= 126 && len(b) < 4) {
			break
		}
		p := b[h : h+n]
		if masked {
			k := b[h-4 : h]
			for i := range p {
				p[i] ^= k[i&3]
			}
		}
		switch op {
		case 8:
			l.drop(c)
			return false
		case 9:
			l.send(c, frame(nil, 0x8a, p))
		case 1:
			l.handle(c, p)
		}
		b = b[h+n:]
	}
	c.in = append(c.in[:0], b...)
	return l.conns[c.fd] == c
}

// field returns the raw (still escaped) value of the JSON string field whose literal
// prefix is key (`"room":"`), without decoding: copied verbatim into another JSON string
// it stays valid.
func field(p []byte, key string) []byte {
	i := bytes.Index(p, []byte(key))
	if i < 0 {
		return nil
	}
	v := p[i+len(key):]
	for j := 0; j < len(v); j++ {
		switch v[j] {
		case '\\':
			j++
		case '"':
			return v[:j]
		}
	}
	return nil
}

func (l *loop) handle(c *conn, p []byte) {
	switch string(field(p, `"type":"`)) {
	case "join":
		name := string(field(p, `"room":"`))
		r := l.rooms[name]
		if r == nil {
			r = &room{name: name}
			l.rooms[name] = r
		}
		for _, m := range c.rooms {
			if m == r {
				return
			}
		}
		r.members = append(r.members, c)
		c.rooms = append(c.rooms, r)
		if id := field(p, `"id":"`); id != nil {
			l.send(c, frame(nil, 0x81, chatwire.Ack(string(id))))
		}
	case "chat":
		r := l.rooms[string(field(p, `"room":"`))]
		member := false
		if r != nil {
			for _, m := range c.rooms {
				member = member || m == r
			}
		}
		if !member {
			l.send(c, frame(nil, 0x81, chatwire.Error("not_member", "join the room first")))
			return
		}
		r.offset++
		f := l.message("chat", r.name, "", c.user, field(p, `"content":"`), r.offset)
		for _, m := range r.members {
			l.send(m, f)
		}
	case "private":
		to := string(field(p, `"to":"`))
		f := l.message("private", "", to, c.user, field(p, `"content":"`), 0)
		for _, m := range l.users[to] {
			l.send(m, f)
		}
	default:
		l.send(c, frame(nil, 0x81, chatwire.Error("unknown_type", string(field(p, `"type":"`)))))
	}
}

// message builds one server frame, byte for byte what chatwire encodes (field order,
// omitted empty fields, the millisecond UTC timestamp).
func (l *loop) message(typ, roomName, to, sender string, content []byte, offset uint64) []byte {
	b := append(l.scratch[:0], `{"type":"`...)
	b = append(b, typ...)
	if roomName != "" {
		b = append(append(append(b, `","room":"`...), roomName...), '"')
	} else {
		b = append(b, '"')
	}
	b = append(append(append(b, `,"sender":"`...), sender...), '"')
	if to != "" {
		b = append(append(append(b, `,"to":"`...), to...), '"')
	}
	b = append(append(append(b, `,"content":"`...), content...), '"')
	if offset > 0 {
		b = strconv.AppendUint(append(b, `,"offset":`...), offset, 10)
	}
	b = append(b, `,"timestamp":"`...)
	b = time.Now().UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `"}`...)
	l.scratch = b
	return frame(make([]byte, 0, len(b)+4), 0x81, b)
}

// frame appends an unmasked server frame (FIN set in op) to dst.
func frame(dst []byte, op byte, p []byte) []byte {
	switch n := len(p); {
	case n < 126:
		dst = append(dst, op, byte(n))
	case n < 65536:
		dst = append(dst, op, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, op, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, p...)
}

// send queues a reference to f on c; the round's end writes it. A connection that owes
// too much is dropped at the round's end (not here: a room's member list may be being
// walked), and gets nothing more meanwhile.
func (l *loop) send(c *conn, f []byte) {
	if c.slow {
		return
	}
	if c.owed+len(f) > maxPending {
		c.slow = true
		l.slow = append(l.slow, c)
		return
	}
	c.out = append(c.out, f)
	c.owed += len(f)
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// flush writes what c owes with as few writev calls as the socket takes; what it does
// not take waits for EPOLLOUT.
func (l *loop) flush(c *conn) {
	for c.owed > 0 {
		iov := c.out[:min(len(c.out), maxIovecs)]
		first := iov[0]
		iov[0] = first[c.off:]
		n, err := unix.Writev(c.fd, iov)
		iov[0] = first
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			l.drop(c)
			return
		}
		c.owed -= n
		n += c.off
		k := 0
		for k < len(c.out) && n >= len(c.out[k]) {
			n -= len(c.out[k])
			c.out[k] = nil
			k++
		}
		c.out, c.off = c.out[k:], n
	}
	if c.owed == 0 {
		if cap(c.out) > 256 {
			c.out = nil // do not pin a burst's queue to an idle connection
		} else {
			c.out = c.out[:0]
		}
		c.off = 0
	}
	want := c.owed > 0
	if want != c.waitOut {
		c.waitOut = want
		ev := uint32(unix.EPOLLIN | unix.EPOLLRDHUP)
		if want {
			ev |= unix.EPOLLOUT
		}
		unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: ev, Fd: int32(c.fd)})
	}
}

func (l *loop) drop(c *conn) {
	if l.conns[c.fd] != c {
		return
	}
	delete(l.conns, c.fd)
	for _, r := range c.rooms {
		r.members = without(r.members, c)
		if len(r.members) == 0 {
			delete(l.rooms, r.name)
		}
	}
	if us := without(l.users[c.user], c); len(us) > 0 {
		l.users[c.user] = us
	} else {
		delete(l.users, c.user)
	}
	unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	c.out, c.owed = nil, 0
}

func without(cs []*conn, c *conn) []*conn {
	for i, x := range cs {
		if x == c {
			cs[i] = cs[len(cs)-1]
			cs[len(cs)-1] = nil
			return cs[:len(cs)-1]
		}
	}
	return cs
}

func main() {
	ln := peerhost.Listen()
	l, h, err := newServer()
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	go l.run()
	http.Serve(ln, h)
}

// newServer returns the loop (not yet running) and the HTTP handler: /ws hands sockets
// to the loop, /metrics and /debug/pprof are peerhost's.
func newServer() (*loop, http.Handler, error) {
	l, err := newLoop()
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	peerhost.Mount(mux)
	mux.HandleFunc("/ws", l.upgrade)
	return l, mux, nil
}

// upgrade answers the WebSocket handshake and hands a duplicate of the socket to the loop.
func (l *loop) upgrade(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if key == "" {
		http.Error(w, "not a websocket handshake", http.StatusBadRequest)
		return
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer nc.Close() // the loop keeps a duplicate of the descriptor
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if _, err := nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")); err != nil {
		return
	}
	c := &conn{fd: -1, user: r.URL.Query().Get("user")}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		c.in = append([]byte(nil), b...)
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	var derr error
	rc.Control(func(fd uintptr) { c.fd, derr = unix.Dup(int(fd)) })
	if derr != nil {
		return
	}
	// O_NONBLOCK is on the shared file description: the duplicate is non-blocking.
	l.adopt(c)
}
