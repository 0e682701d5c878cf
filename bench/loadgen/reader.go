package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// reader owns the receiving side of a shard of clients: one epoll set (level-triggered),
// one big read buffer shared by all its connections, and its own tally. It does one read
// per readiness, finds frame boundaries and the send timestamp without decoding JSON,
// and samples latency — so its cost per delivery is about one read syscall divided by
// the deliveries that read brought. Only the reader closes a client's descriptor (others
// shut it down), so a descriptor number is never reused under it.
type reader struct {
	g    *gen
	epfd int
	buf  []byte
	t    tally
	done chan struct{}
}

// readBufBytes is each reader's buffer: big reads amortise the syscall when a
// connection has fallen behind or the server batches.
const readBufBytes = 256 << 10

// fdTable maps a descriptor to its client for the readers (processes keep fds < 65536).
var fdTable [1 << 16]atomic.Pointer[client]

func (g *gen) startReaders(n int) error {
	for i := 0; i < n; i++ {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return err
		}
		r := &reader{g: g, epfd: ep, buf: make([]byte, readBufBytes), done: make(chan struct{})}
		g.readers = append(g.readers, r)
		go r.loop()
	}
	return nil
}

// stopReaders ends the reader goroutines (within their 100 ms wait) and closes their
// epoll sets; the clients must be closed first.
func (g *gen) stopReaders() {
	g.stopping.Store(true)
	for _, r := range g.readers {
		<-r.done
		unix.Close(r.epfd)
	}
}

// tallies lists every reader's tally (and the test tally when there are no readers).
func (g *gen) tallies() []*tally {
	if len(g.readers) == 0 {
		return []*tally{&g.testTally}
	}
	ts := make([]*tally, len(g.readers))
	for i, r := range g.readers {
		ts[i] = &r.t
	}
	return ts
}

// add registers c with the reader for its id and processes what the handshake over-read.
func (g *gen) add(c *client) error {
	if c.fd >= len(fdTable) {
		return fmt.Errorf("descriptor %d above the table", c.fd)
	}
	r := g.readers[c.id%len(g.readers)]
	c.rd, c.t = r, &r.t
	if len(c.pending) > 0 {
		// Not yet in the epoll set, so the reader cannot be consuming c concurrently.
		rest := c.consume(c.pending, time.Now().UnixNano())
		c.pending = append(c.pending[:0], rest...)
	}
	fdTable[c.fd].Store(c) // publishes c to the reader, which loads it after epoll says so
	return unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.fd)})
}

// loop waits for readable connections and services them. Waking up costs a context switch
// (several µs here), so after each round it sleeps until --read-interval has passed since
// the round began, and wakes to a batch of connections rather than to each delivery; the
// latencies it measures include up to that interval.
func (r *reader) loop() {
	defer close(r.done)
	events := make([]unix.EpollEvent, 1024)
	interval := r.g.cfg.readInterval
	for !r.g.stopping.Load() {
		n, err := unix.EpollWait(r.epfd, events, 100)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		began := time.Now()
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			if c := fdTable[fd].Load(); c != nil && c.rd == r {
				r.service(c)
			}
		}
		if n < len(events) && interval > 0 {
			if d := interval - time.Since(began); d > 0 {
				time.Sleep(d)
			}
		}
	}
}

// service reads what c's socket holds (until a read comes back short) and parses it.
func (r *reader) service(c *client) {
	for {
		if c.stalled.Load() {
			// slow scenario: stop reading; the server sees a full socket
			unix.EpollCtl(r.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
			return
		}
		var buf []byte
		var p int
		if len(c.pending) <= len(r.buf)/2 {
			p = copy(r.buf, c.pending)
			buf = r.buf
		} else {
			// a frame bigger than half the buffer: grow its own tail instead
			p = len(c.pending)
			if cap(c.pending)-p < 64<<10 {
				c.pending = append(c.pending, make([]byte, 64<<10)...)[:p]
			}
			buf = c.pending[:cap(c.pending)]
		}
		n, err := unix.Read(c.fd, buf[p:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return
		}
		if err != nil || n <= 0 {
			r.drop(c)
			return
		}
		now := time.Now().UnixNano()
		r.t.bytes.Add(uint64(n))
		r.t.reads.Add(1)
		full := p+n == len(buf)
		rest := c.consume(buf[:p+n], now)
		switch {
		case len(rest) == 0 && cap(c.pending) > 4096:
			c.pending = nil // do not pin a big tail to an idle connection
		case len(rest) == 0:
			c.pending = c.pending[:0]
		default:
			c.pending = append(c.pending[:0], rest...) // copy (memmove when it lies inside c.pending)
		}
		if !full {
			return // level-triggered: epoll reports it again if more arrived
		}
	}
}

// drop forgets and closes a connection that ended.
func (r *reader) drop(c *client) {
	unix.EpollCtl(r.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	fdTable[c.fd].Store(nil)
	c.ended()
	unix.Close(c.fd)
}
