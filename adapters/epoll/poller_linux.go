//go:build linux

package epoll

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// readBufferSize is each poller's one read buffer, shared by the connections of its
// shard: a read lands here and only the tail of a partial frame is copied out.
const readBufferSize = 64 << 10

// shard is one epoll set with its poller goroutine, and the write worker of the same
// connections. A connection is in exactly one shard (gen % shards), so its reads and
// writes never cross to another core's poller or worker.
type shard struct {
	t    *Transport
	epfd int
	// epoll is epfd as a pollable file: the poller parks in Go's netpoller until the
	// set has events, instead of in a blocking EpollWait that would hold an OS thread.
	epoll     *os.File
	epollConn syscall.RawConn

	ready runQueue // connections with frames to write

	writevs atomic.Uint64 // writev calls on this shard's sockets (frames per writev: batching)
}

// newShard creates an epoll set holding wake, the transport's eventfd: one write to it
// makes every shard's set readable (level-triggered, never read), so Close stops every
// poller with one write.
func newShard(t *Transport, wake int) (*shard, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: create: %w", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll: add eventfd: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll: nonblocking epoll fd: %w", err)
	}
	// A non-blocking fd makes os.NewFile register it with Go's netpoller.
	epoll := os.NewFile(uintptr(epfd), "epoll")
	epollConn, err := epoll.SyscallConn()
	if err != nil {
		epoll.Close()
		return nil, fmt.Errorf("epoll: raw conn: %w", err)
	}
	s := &shard{t: t, epfd: epfd, epoll: epoll, epollConn: epollConn}
	s.ready.init()
	return s, nil
}

// writevs sums the shards' writev calls.
func (t *Transport) writevs() uint64 {
	var n uint64
	for _, s := range t.shards {
		n += s.writevs.Load()
	}
	return n
}

// poll is the shard's poller goroutine: it waits for readiness on the shard's
// connections and reads the readable ones in turn, never blocking on any.
func (s *shard) poll() {
	t := s.t
	defer t.wg.Done()
	events := make([]unix.EpollEvent, 512)
	buf := make([]byte, readBufferSize)
	for {
		n, err := s.wait(events)
		if err != nil {
			t.node.Options().Logger.Error("epoll: wait failed; shard stops reading", "err", err)
			return
		}
		for i := range events[:n] {
			ev := &events[i]
			if int(ev.Fd) == t.wake {
				return
			}
			c := t.slots[ev.Fd].Load()
			if c == nil || c.gen != uint32(ev.Pad) {
				continue // closed since this wait began
			}
			if ev.Events&unix.EPOLLOUT != 0 {
				c.writable()
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				c.readable(buf)
			}
		}
	}
}

// wait fills events with the ready connections. While there are none the goroutine
// parks in Go's netpoller on the epoll fd, which is readable while the set has events:
// a blocking EpollWait would pin an OS thread that, under GOMAXPROCS=1, the node and the
// write workers need (measured in bench/: p99 47 ms against 12 ms with two Ps).
func (s *shard) wait(events []unix.EpollEvent) (int, error) {
	var n int
	var werr error
	err := s.epollConn.Read(func(fd uintptr) bool {
		for {
			n, werr = unix.EpollWait(int(fd), events, 0)
			if werr != unix.EINTR { // Go's preemption signals interrupt the call
				break
			}
		}
		return werr != nil || n > 0 // false: nothing ready, park until the fd is readable
	})
	if err != nil {
		return 0, err
	}
	return n, werr
}

// work is the shard's write worker: it takes every connection Wake queued at once and
// flushes them one at a time, oldest first.
func (s *shard) work() {
	defer s.t.wg.Done()
	w := &writer{bufs: make([][]byte, 0, 64), iov: make([]unix.Iovec, 0, 64)}
	for {
		c := s.ready.take()
		if c == nil {
			return
		}
		for c != nil {
			next := c.next
			c.next = nil
			c.sched.Store(false) // a Wake from now on queues c again
			c.flush(w)
			c = next
		}
	}
}

// runQueue holds the connections waiting for the shard's writer: a lock-free stack that
// Wake pushes onto with one compare-and-swap and the writer takes whole with one swap,
// instead of a lock (and a condition variable) per connection on both sides. It needs
// no bound of its own: a connection is in it at most once (its sched flag, cleared only
// once the writer took it), so it never holds more than the shard's connections.
type runQueue struct {
	head atomic.Pointer[conn] // the last pushed, linked to the earlier ones through next
	// signal wakes the writer parked on an empty stack; whoever pushes onto an empty
	// stack sends it (one is enough: the writer takes everything when it wakes).
	signal chan struct{}
	done   chan struct{} // closed by close
}

func (q *runQueue) init() {
	q.signal = make(chan struct{}, 1)
	q.done = make(chan struct{})
}

func (q *runQueue) push(c *conn) {
	for {
		top := q.head.Load()
		c.next = top
		if q.head.CompareAndSwap(top, c) {
			if top == nil {
				select {
				case q.signal <- struct{}{}:
				default: // already signalled
				}
			}
			return
		}
	}
}

// take waits for connections and returns all of them, oldest first, linked through
// next; nil once the queue is closed.
func (q *runQueue) take() *conn {
	for {
		if top := q.head.Swap(nil); top != nil {
			var first *conn
			for top != nil { // the stack is newest first: reverse it
				top.next, first, top = first, top, top.next
			}
			return first
		}
		select {
		case <-q.signal:
		case <-q.done:
			return nil
		}
	}
}

// close makes take return nil; Close finishes whatever is still queued.
func (q *runQueue) close() { close(q.done) }
