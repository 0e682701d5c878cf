//go:build linux

package epoll

import (
	"sync"

	"golang.org/x/sys/unix"
)

// readBufferSize is the poller's one read buffer, shared by every connection: a read
// lands here and only the tail of a partial frame is copied out.
const readBufferSize = 64 << 10

// poll is the poller goroutine: it waits for readiness on every connection and reads
// the readable ones in turn, never blocking on any.
func (t *Transport) poll() {
	defer t.wg.Done()
	events := make([]unix.EpollEvent, 512)
	buf := make([]byte, readBufferSize)
	for {
		n, err := t.wait(events)
		if err != nil {
			t.node.Options().Logger.Error("epoll: wait failed; transport stops reading", "err", err)
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
func (t *Transport) wait(events []unix.EpollEvent) (int, error) {
	var n int
	var werr error
	err := t.epollConn.Read(func(fd uintptr) bool {
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

// work is a write worker: it flushes the connections Wake queued on q, one at a time.
func (t *Transport) work(q *runQueue) {
	defer t.wg.Done()
	w := &writer{bufs: make([][]byte, 0, 64), iov: make([]unix.Iovec, 0, 64)}
	for {
		c := q.pop()
		if c == nil {
			return
		}
		c.sched.Store(false) // a Wake from now on queues c again
		c.flush(w)
	}
}

// runQueue is the FIFO of connections waiting for a write worker (a ring that grows).
type runQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	ring   []*conn
	head   int
	n      int
	closed bool
}

func (q *runQueue) init() {
	q.cond.L = &q.mu
	q.ring = make([]*conn, 64)
}

func (q *runQueue) push(c *conn) {
	q.mu.Lock()
	if q.n == len(q.ring) {
		grown := make([]*conn, 2*len(q.ring))
		for i := range q.n {
			grown[i] = q.ring[(q.head+i)%len(q.ring)]
		}
		q.ring, q.head = grown, 0
	}
	q.ring[(q.head+q.n)%len(q.ring)] = c
	q.n++
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for a connection; nil once the queue is closed.
func (q *runQueue) pop() *conn {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.n == 0 {
		return nil
	}
	c := q.ring[q.head]
	q.ring[q.head] = nil
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	return c
}

func (q *runQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
