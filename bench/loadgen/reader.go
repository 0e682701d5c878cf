package main

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// reader owns the receiving side of a shard of clients: one epoll set (edge-triggered),
// one big read buffer shared by all its connections, and its own tally. There are two
// kinds. A latency reader serves the latency sample (--latency-sample of the clients,
// spread over the rooms), wakes every --read-interval and stamps each read with the
// time: it is the only source of latency samples. A bulk reader serves every other
// client and, while traffic runs, wakes only every --bulk-interval, so that one read
// brings all that a connection received in that interval (many deliveries) and takes no
// time stamp; its counts (loss, order, received) are as exact as the latency reader's.
// The server cannot tell the two apart: its writes land in the kernel's socket buffers
// either way (a step is invalid if one ever held half its receive buffer).
//
// Only the reader closes a client's descriptor (others shut it down), so a descriptor
// number is never reused under it.
type reader struct {
	g       *gen
	latency bool // a latency reader: stamps reads and records latencies
	epfd    int
	buf     []byte
	cnt     counts // since the last flush; this goroutine only
	t       tally
	rounds  atomic.Uint64 // rounds finished (sweep waits on it)
	kick    chan struct{} // cuts the sleep between rounds short (sweep)
	done    chan struct{}
}

// readBufBytes is each reader's buffer: big reads amortise the syscall when a
// connection has fallen behind or the server batches.
const readBufBytes = 256 << 10

// epollWaitMs bounds a reader's epoll wait while none of its connections is ready, so
// that a sweep or a stop never waits long for an idle reader to finish its round.
const epollWaitMs = 10

// fdTable maps a descriptor to its client for the readers (processes keep fds < 65536).
var fdTable [1 << 16]atomic.Pointer[client]

// startReaders starts the latency reader and n bulk readers.
func (g *gen) startReaders(n int) error {
	for i := 0; i <= n; i++ {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return err
		}
		r := &reader{g: g, latency: i == 0, epfd: ep, buf: make([]byte, readBufBytes), kick: make(chan struct{}, 1), done: make(chan struct{})}
		if r.latency {
			g.latencyReaders = append(g.latencyReaders, r)
		} else {
			g.bulkReaders = append(g.bulkReaders, r)
		}
		g.readers = append(g.readers, r)
		go r.loop()
	}
	return nil
}

// stopReaders ends the reader goroutines (woken, or within their epoll wait) and closes their
// epoll sets; the clients must be closed first.
func (g *gen) stopReaders() {
	g.stopping.Store(true)
	for _, r := range g.readers {
		select {
		case r.kick <- struct{}{}:
		default:
		}
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

// inLatencySample reports whether client id belongs to the latency sample: one client
// in every stride, the offset moving with the room (position in the room plus room
// number), so that the sample is spread over the rooms and over their members; at least
// --min-latency-sample of them.
func (g *gen) inLatencySample(id int) bool {
	frac := g.cfg.latencySample
	if frac <= 0 {
		return false
	}
	stride := max(1, int(1/frac+0.5))
	if m := g.cfg.minLatencySample; m > 0 {
		stride = max(1, min(stride, g.cfg.conns/m))
	}
	size := max(1, g.cfg.roomSize)
	return (id%size+id/size)%stride == 0
}

// add registers c with its reader (the latency reader for the sample, else a bulk
// reader) and processes what the handshake over-read.
func (g *gen) add(c *client) error {
	if c.fd >= len(fdTable) {
		return fmt.Errorf("descriptor %d above the table", c.fd)
	}
	var r *reader
	if g.inLatencySample(c.id) {
		r = g.latencyReaders[c.id%len(g.latencyReaders)]
	} else {
		r = g.bulkReaders[c.id%len(g.bulkReaders)]
	}
	c.rd, c.t = r, &r.t
	if len(c.pending) > 0 {
		// Not yet in the epoll set, so the reader cannot be consuming c concurrently;
		// its counts go to the reader's tally through a flush of their own.
		var cnt counts
		rest := c.consume(c.pending, r.stamp(), &cnt)
		c.pending = append(c.pending[:0], rest...)
		r.t.flush(&cnt)
	}
	fdTable[c.fd].Store(c) // publishes c to the reader, which loads it after epoll says so
	// Edge-triggered: a connection is reported once per arrival of data, not again on
	// every wait while it holds some (service reads until a short read, which empties it).
	return unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(c.fd)})
}

// stamp is the time of a read for latency: now for a latency reader, 0 (none taken)
// for a bulk reader.
func (r *reader) stamp() int64 {
	if r.latency {
		return time.Now().UnixNano()
	}
	return 0
}

// interval is how long a round of r lasts at least: --read-interval, or --bulk-interval
// for a bulk reader while traffic runs (set-up and handshakes wait for replies, so they
// are read at the fast pace).
func (r *reader) interval() time.Duration {
	if !r.latency && r.g.bulk.Load() {
		return r.g.cfg.bulkInterval
	}
	return r.g.cfg.readInterval
}

// loop waits for readable connections and services them. Waking up costs a context switch
// (several µs here), so after each round it sleeps until its interval has passed since
// the round began, and wakes to a batch of connections rather than to each delivery; the
// latencies it measures include up to that interval.
// yieldEvery is how many connections a reader services before it yields its P.
const yieldEvery = 32

func (r *reader) loop() {
	defer close(r.done)
	events := make([]unix.EpollEvent, 1024)
	nap := time.NewTimer(time.Hour)
	nap.Stop()
	for ; !r.g.stopping.Load(); r.rounds.Add(1) {
		n, err := unix.EpollWait(r.epfd, events, epollWaitMs)
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
				r.t.flush(&r.cnt)
			}
			if i%yieldEvery == yieldEvery-1 {
				// A bulk round can be thousands of reads with no blocking point: let the
				// publisher and the latency reader in between, or their lag (counted in
				// every latency, the schedule being open loop) is this round's length.
				runtime.Gosched()
			}
		}
		if interval := r.interval(); n < len(events) && interval > 0 {
			if d := interval - time.Since(began); d > 0 {
				nap.Reset(d)
				select {
				case <-nap.C:
				case <-r.kick:
					nap.Stop()
				}
			}
		}
	}
}

// service reads what c's socket holds (until a read comes back short) and parses it.
func (r *reader) service(c *client) {
	var queued uint64
	defer func() { r.cnt.queued = max(r.cnt.queued, queued) }()
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
		queued += uint64(n)
		r.cnt.bytes += uint64(n)
		r.cnt.reads++
		full := p+n == len(buf)
		rest := c.consume(buf[:p+n], r.stamp(), &r.cnt)
		switch {
		case len(rest) == 0 && cap(c.pending) > 4096:
			c.pending = nil // do not pin a big tail to an idle connection
		case len(rest) == 0:
			c.pending = c.pending[:0]
		default:
			c.pending = append(c.pending[:0], rest...) // copy (memmove when it lies inside c.pending)
		}
		if !full {
			return // a short read emptied the socket: the next arrival is a new edge
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

// sweep makes the counts exact up to now: it wakes every bulk reader and returns once
// each finished a round that began after the call (or after a second), so whatever the
// sockets held when it was called has been read and counted. A window's edges are swept,
// so its received and delivered counts do not depend on where the bulk readers were in
// their --bulk-interval.
func (g *gen) sweep() {
	deadline := time.Now().Add(time.Second)
	for _, r := range g.bulkReaders {
		// Round seen+1 may have begun before this call; round seen+2 begins after it.
		want := r.rounds.Load() + 2
		for r.rounds.Load() < want && time.Now().Before(deadline) {
			select {
			case r.kick <- struct{}{}:
			default:
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// bulkQueue is, over the bulk readers since the last reset, the most bytes one socket
// held when it was read, and the receive buffer (SO_RCVBUF) of one bulk connection.
func (g *gen) bulkQueue() (maxQueued uint64, rcvbuf int) {
	for _, r := range g.bulkReaders {
		maxQueued = max(maxQueued, r.t.maxQueued.Load())
	}
	for _, c := range g.clients {
		if c != nil && c.rd != nil && !c.rd.latency && !c.closed.Load() {
			if v, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil {
				return maxQueued, v
			}
		}
	}
	return maxQueued, 0
}

// resetBulkQueue starts a new window for bulkQueue.
func (g *gen) resetBulkQueue() {
	for _, r := range g.bulkReaders {
		r.t.maxQueued.Store(0)
	}
}
