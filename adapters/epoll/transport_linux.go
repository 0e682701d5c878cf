//go:build linux

package epoll

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
)

// ErrClosed refuses connections after Close.
var ErrClosed = errors.New("epoll: transport closed")

// Transport is the epoll WebSocket transport, an http.Handler: mount it where the
// WebSocket endpoint lives.
type Transport struct {
	node   *node.Node
	wake   int      // eventfd in every shard's epoll set: Close interrupts every EpollWait
	shards []*shard // a connection's poller and writer: shards[gen % len(shards)]

	slots []atomic.Pointer[conn] // by fd number (unique across shards); nil when free
	gen   atomic.Uint32

	mu     sync.Mutex // guards closed and the fds of Close
	closed bool
	wg     sync.WaitGroup
}

// New starts the shards (pollers and write workers, see Shards) of a transport
// serving n.
func New(n *node.Node, opts ...Option) (*Transport, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.shards < 1 {
		cfg.shards = max(1, runtime.GOMAXPROCS(0))
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return nil, fmt.Errorf("epoll: getrlimit: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: eventfd: %w", err)
	}
	t := &Transport{node: n, wake: wake, slots: make([]atomic.Pointer[conn], min(lim.Cur, 1<<22))}
	for range cfg.shards {
		s, err := newShard(t, wake)
		if err != nil {
			t.closeFiles()
			return nil, err
		}
		t.shards = append(t.shards, s)
	}
	t.wg.Add(2 * len(t.shards))
	for _, s := range t.shards {
		go s.poll()
		go s.work()
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
	gen := t.gen.Add(1)
	c := &conn{sh: t.shards[gen%uint32(len(t.shards))], fd: fd, gen: gen}
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
	if err := unix.EpollCtl(c.sh.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		t.slots[c.fd].CompareAndSwap(c, nil)
		return err
	}
	return nil
}

// Close stops every shard's poller and worker and closes every connection still open
// (call node.Shutdown first for a clean 1001 close of each).
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	var one = [8]byte{1}
	unix.Write(t.wake, one[:]) // never read: it stays readable in every set
	for _, s := range t.shards {
		s.ready.close()
	}
	t.wg.Wait()
	for i := range t.slots {
		if c := t.slots[i].Load(); c != nil {
			c.nc.Lost()
			c.finish()
		}
	}
	return t.closeFiles()
}

// closeFiles closes the shards' epoll sets and the eventfd.
func (t *Transport) closeFiles() error {
	var err error
	for _, s := range t.shards {
		err = errors.Join(err, s.epoll.Close())
	}
	return errors.Join(err, unix.Close(t.wake))
}

// writeClose writes a close frame straight to a socket nobody else knows yet.
func writeClose(fd int, code uint16, reason string) {
	var buf [2 + 125]byte
	b := append(buf[:0], 0x88, byte(2+len(reason)), byte(code>>8), byte(code))
	unix.Write(fd, append(b, reason...))
}
