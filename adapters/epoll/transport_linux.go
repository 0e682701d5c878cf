//go:build linux

package epoll

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
)

// Workers is the size of the write worker pool.
const Workers = 4

// ErrClosed refuses connections after Close.
var ErrClosed = errors.New("epoll: transport closed")

// Transport is the epoll WebSocket transport, an http.Handler: mount it where the
// WebSocket endpoint lives.
type Transport struct {
	node *node.Node
	epfd int
	wake int // eventfd in the epoll set: Close interrupts EpollWait through it
	// epoll is epfd as a pollable file: the poller parks in Go's netpoller until the
	// set has events, instead of in a blocking EpollWait that would hold an OS thread.
	epoll     *os.File
	epollConn syscall.RawConn

	slots []atomic.Pointer[conn] // by fd number; nil when free
	gen   atomic.Uint32

	ready [Workers]runQueue // per worker: connections with frames to write

	mu     sync.Mutex // guards closed and the fds of Close
	closed bool
	wg     sync.WaitGroup
}

// New starts the poller and the write workers of a transport serving n.
func New(n *node.Node) (*Transport, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return nil, fmt.Errorf("epoll: getrlimit: %w", err)
	}
	slots := min(lim.Cur, 1<<22)
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: create: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll: eventfd: %w", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, fmt.Errorf("epoll: add eventfd: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, fmt.Errorf("epoll: nonblocking epoll fd: %w", err)
	}
	// A non-blocking fd makes os.NewFile register it with Go's netpoller.
	epoll := os.NewFile(uintptr(epfd), "epoll")
	epollConn, err := epoll.SyscallConn()
	if err != nil {
		epoll.Close()
		unix.Close(wake)
		return nil, fmt.Errorf("epoll: raw conn: %w", err)
	}
	t := &Transport{node: n, epfd: epfd, wake: wake, epoll: epoll, epollConn: epollConn,
		slots: make([]atomic.Pointer[conn], slots)}
	for i := range t.ready {
		t.ready[i].init()
	}
	t.wg.Add(1 + Workers)
	go t.poll()
	for i := range t.ready {
		go t.work(&t.ready[i])
	}
	return t, nil
}

// ServeHTTP upgrades the request and hands the connection to the poller; the HTTP
// goroutine returns right after.
func (t *Transport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		node.WriteError(w, &node.HTTPError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: core.ReasonShutdown})
		return
	}
	if r.TLS != nil {
		// A TLS connection has no descriptor of plain WebSocket bytes to poll.
		node.WriteError(w, &node.HTTPError{Status: http.StatusNotImplemented, Code: "unsupported",
			Message: "the epoll transport serves plain TCP; terminate TLS in front of it or use the goroutine transport"})
		return
	}
	hs, ok := t.node.Upgrade(w, r)
	if !ok {
		return
	}
	fd, err := detach(hs.Conn)
	if err != nil {
		t.node.Abandon(hs)
		t.node.Options().Logger.Warn("epoll: cannot take the connection's descriptor", "err", err)
		return
	}
	if fd >= len(t.slots) {
		t.node.Abandon(hs)
		unix.Close(fd)
		return
	}
	c := &conn{t: t, fd: fd, gen: t.gen.Add(1)}
	t.node.InitReader(&c.reader, hs.Format)
	nc, err := t.node.Attach(hs, c)
	if err != nil {
		writeClose(fd, core.CloseGoingAway, core.ReasonShutdown)
		unix.Close(fd)
		return
	}
	c.nc = nc
	nc.Start()
	if len(hs.Buffered) > 0 {
		// Frames that arrived with the handshake: they come before anything epoll reports.
		c.feed(hs.Buffered)
	}
	if err := t.register(c); err != nil {
		c.nc.Lost()
		c.finish()
	}
}

// detach takes the connection's descriptor away from Go's poller: a duplicate (sharing
// the non-blocking socket) stays with us, the net.Conn and its buffers are dropped.
func detach(nc net.Conn) (int, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		nc.Close()
		return -1, errors.New("epoll: connection has no descriptor (TLS?)")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		nc.Close()
		return -1, err
	}
	fd := -1
	var derr error
	if err := raw.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		derr = err
	}
	nc.Close()
	if derr != nil {
		return -1, derr
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (t *Transport) register(c *conn) error {
	c.io.Lock()
	defer c.io.Unlock()
	if c.fd < 0 {
		return nil // already finished (e.g. aborted)
	}
	t.slots[c.fd].Store(c)
	ev := unix.EpollEvent{Events: readEvents, Fd: int32(c.fd), Pad: int32(c.gen)}
	if err := unix.EpollCtl(t.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		t.slots[c.fd].CompareAndSwap(c, nil)
		return err
	}
	return nil
}

// Close stops the poller and the workers and closes every connection still open (call
// node.Shutdown first for a clean 1001 close of each).
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	var one = [8]byte{1}
	unix.Write(t.wake, one[:])
	for i := range t.ready {
		t.ready[i].close()
	}
	t.wg.Wait()
	for i := range t.slots {
		if c := t.slots[i].Load(); c != nil {
			c.nc.Lost()
			c.finish()
		}
	}
	unix.Close(t.wake)
	return t.epoll.Close()
}

// writeClose writes a close frame straight to a socket nobody else knows yet.
func writeClose(fd int, code uint16, reason string) {
	var buf [2 + 125]byte
	b := append(buf[:0], 0x88, byte(2+len(reason)), byte(code>>8), byte(code))
	unix.Write(fd, append(b, reason...))
}
