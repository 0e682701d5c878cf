package node

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Link is the transport's half of a connection: what the node asks of it. Its methods
// are called without the connection's lock held and must not block; Wake and TryFlush
// may come from the owner goroutine or a delivery shard (deliver.go), for different
// connections at once.
type Link interface {
	// Wake says frames (or the close frame) were queued: Pull and write them soon.
	Wake()
	// Abort closes the socket now, whatever is still queued (a closing connection that
	// outstayed its grace, or a shutdown out of time). The transport then calls Finished.
	Abort()
	// TryFlush writes what is queued now, on the caller's goroutine, as far as the socket
	// takes it without waiting; it returns at once when another goroutine is writing.
	// The node calls it before judging a connection slow, so that only bytes the socket
	// refused count against SendQueueBytes — not bytes a writer had no time to send yet.
	TryFlush()
}

const (
	stateOpen    int32 = iota
	stateClosing       // the close frame is queued (or the socket broke): nothing more is queued
	stateDone          // Finished: the socket is closed and the queue released
)

// Conn is one connection as the node sees it: its id and format, and the send queue
// that the owner goroutine fills and the transport's writer drains.
//
// Fields are ordered so that the small ones share words: an idle connection is mostly
// this struct, the transport's and the hub's (TestIdleStructsFitSizeClasses).
type Conn struct {
	ID core.ConnID

	n       *Node
	link    Link
	framing Framing
	shard   *shard // its delivery shard (ID % DeliveryShards), which keeps its counters

	ip netip.Addr // admitted by the node's Admission until Finished

	lastSeen atomic.Int64 // the node's coarse clock at the last complete frame received
	msgStart atomic.Int64 // UnixNano of the first byte of the message in progress; 0: none

	mu        sync.Mutex
	state     atomic.Int32
	closeCode uint16 // the code sent (or seen, for a peer's close), under mu
	Format    proto.Format
	// msgDone is the transport reader's: a message completed since its last Fed.
	msgDone bool

	q      *frameList // queued, not yet pulled; nil when empty (under mu)
	unsent int        // bytes queued or pulled but not yet written (under mu)

	// Owned by the node's goroutine.
	lastPing  int64 // coarse clock of the last ping queued
	deadline  int64 // closing: when Abort is due
	closingAt int32 // 1 + index in Node.closing; 0 when not there
	tracked   bool  // in Node.conns: the hub knows it
	pair      uint8 // tracked: its (framing, format) in Node.pairs
	dirty     bool  // in a shard's dirty list: to be woken after this round (deliver.go)
	aborted   bool
	// pre is what c needs only until the hub knows it (nil after): kept apart so that a
	// connected one does not carry its identity's grants and the auth message's state.
	pre *preConnect
}

// preConnect is a connection's state between Attach and its connect to the hub.
type preConnect struct {
	identity core.Identity // empty: identified by its auth message (access.go)
	// Until identified by its auth message (access.go).
	authDeadline int64    // coarse clock by which auth must have come
	authing      bool     // its token is being verified
	early        [][]byte // messages sent behind auth, applied once identified
	earlyBytes   int
}

// frame is one queued frame: a message's shared bytes (msg retained while queued), or a
// control frame of this connection's own (msg nil).
type frame struct {
	msg *proto.Message
	b   []byte
}

// frameList is a pooled slice of frames, so that an idle connection holds none.
type frameList struct{ f []frame }

var frameLists = sync.Pool{New: func() any { return &frameList{f: make([]frame, 0, 16)} }}

func putFrameList(l *frameList) {
	for i := range l.f {
		l.f[i] = frame{}
	}
	l.f = l.f[:0]
	if cap(l.f) <= 4096 {
		frameLists.Put(l)
	}
}

// Batch is what a transport's writer holds of one connection's queue: frames pulled and
// not yet completely written. Its zero value is empty; it belongs to one writer at a time.
type Batch struct {
	list *frameList
	off  int // bytes of list.f[0] already written
}

// Empty reports whether everything pulled was written.
func (b *Batch) Empty() bool { return b.list == nil }

// Buffers appends the unwritten bytes, frame by frame, to dst (at most max slices) for
// one vectored write.
func (b *Batch) Buffers(dst [][]byte, max int) [][]byte {
	if b.list == nil {
		return dst
	}
	for i, f := range b.list.f {
		if len(dst) >= max {
			break
		}
		if i == 0 {
			dst = append(dst, f.b[b.off:])
		} else {
			dst = append(dst, f.b)
		}
	}
	return dst
}

// Pull moves everything queued for c onto b and reports whether the close frame is among
// what has been pulled so far: once b is written empty after Pull said so, the close
// frame is on the wire (or, after Lost, there is none) and the socket may be closed.
func (c *Conn) Pull(b *Batch) (closing bool) {
	c.mu.Lock()
	if q := c.q; q != nil {
		c.q = nil
		if b.list == nil {
			b.list = q
		} else {
			b.list.f = append(b.list.f, q.f...)
			putFrameList(q)
		}
	}
	closing = c.state.Load() != stateOpen
	c.mu.Unlock()
	return closing
}

// Written records that the first n bytes of b's Buffers were written, releasing the
// frames that are now completely on the wire.
func (c *Conn) Written(b *Batch, n int) {
	if n <= 0 || b.list == nil {
		return
	}
	done := n
	f := b.list.f
	i := 0
	for ; i < len(f); i++ {
		rest := len(f[i].b) - b.off
		if n < rest {
			b.off += n
			n = 0
			break
		}
		n -= rest
		b.off = 0
		if f[i].msg != nil {
			f[i].msg.Release()
		}
		f[i] = frame{}
	}
	if i == len(f) {
		putFrameList(b.list)
		b.list = nil
	} else if i > 0 {
		b.list.f = f[:copy(f, f[i:])]
		clear(f[len(b.list.f):])
	}
	c.mu.Lock()
	c.unsent -= done - n
	c.mu.Unlock()
	c.shard.queued.Add(-int64(done - n))
}

// SocketFull records that a write found the socket full (the transport waits for room).
func (c *Conn) SocketFull() { c.n.full.Add(1) }

// Seen records that the peer sent a complete frame (it is not idle): the transport
// calls it for control frames; Receive does for messages. Bytes of a message not yet
// complete are not activity.
func (c *Conn) Seen() { c.lastSeen.Store(c.n.clock.Load()) }

// Fed tells c, after the transport fed bytes to its frame reader, whether part of a
// message is now held (wsframe.Reader.Partial): MessageTimeout runs from the first byte
// of each message. Called by the reader's goroutine only.
func (c *Conn) Fed(partial bool) {
	switch {
	case !partial:
		if c.msgStart.Load() != 0 {
			c.msgStart.Store(0)
		}
	case c.msgDone || c.msgStart.Load() == 0:
		// A new message began in these bytes (its first byte is no older than now).
		c.msgStart.Store(time.Now().UnixNano())
	}
	c.msgDone = false
}

// Open reports whether c still accepts messages (no close has begun).
func (c *Conn) Open() bool { return c.state.Load() == stateOpen }

// Receive hands one complete message from the peer to the hub. The payload is copied;
// the caller may reuse it. Messages arriving after a close began are dropped.
func (c *Conn) Receive(payload []byte) {
	c.msgDone = true
	c.Seen()
	if c.state.Load() != stateOpen {
		return
	}
	c.n.inbox.postFrame(c, payload)
}

// Pong queues a pong carrying payload (the answer to the peer's ping, which is
// activity).
func (c *Conn) Pong(payload []byte) {
	c.Seen()
	c.control(c.framing.Pong(payload))
}

// Close begins closing c from the transport's side: the peer broke a rule (code from
// wsframe) or sent a close frame (its code, echoed). The close frame is queued after what
// is already queued; the hub is told the connection is gone.
func (c *Conn) Close(code uint16, reason string) {
	if c.beginClose(code, reason, true) {
		c.link.Wake()
		c.n.inbox.post(event{kind: evGone, c: c, code: code})
	}
}

// Lost says the socket broke (EOF, reset) with no close handshake: nothing more can be
// sent. The transport closes it and calls Finished.
func (c *Conn) Lost() {
	if c.beginClose(core.CloseAbnormal, "", false) {
		c.n.inbox.post(event{kind: evGone, c: c, code: core.CloseAbnormal})
	}
}

// Finished says the transport closed the socket: everything still queued, and b (the
// writer's batch, may be nil), is released. Call it exactly once per connection.
func (c *Conn) Finished(b *Batch) {
	c.mu.Lock()
	c.state.Store(stateDone)
	if c.closeCode == 0 {
		c.closeCode = core.CloseAbnormal
	}
	q := c.q
	c.q = nil
	dropped := c.unsent
	c.unsent = 0
	c.mu.Unlock()
	releaseList(q)
	if b != nil {
		releaseList(b.list)
		b.list, b.off = nil, 0
	}
	c.shard.queued.Add(-int64(dropped))
	c.n.release(c.ip)
	c.n.inbox.post(event{kind: evFinished, c: c})
}

func releaseList(l *frameList) {
	if l == nil {
		return
	}
	for _, f := range l.f {
		if f.msg != nil {
			f.msg.Release()
		}
	}
	putFrameList(l)
}

// beginClose moves c to closing, queueing a close frame when withFrame; it reports
// whether this call did it (false: a close had already begun).
func (c *Conn) beginClose(code uint16, reason string, withFrame bool) bool {
	c.mu.Lock()
	if c.state.Load() != stateOpen {
		c.mu.Unlock()
		return false
	}
	c.state.Store(stateClosing)
	c.closeCode = code
	if withFrame {
		c.appendLocked(frame{b: c.framing.Close(code, reason)})
	}
	c.mu.Unlock()
	return true
}

// control queues a frame of c's own, under the same byte limit as messages.
func (c *Conn) control(b []byte) {
	switch c.enqueue(frame{b: b}) {
	case enqueued, started:
		c.link.Wake()
	case overLimit:
		c.link.Wake()
		c.n.inbox.post(event{kind: evGone, c: c, code: core.CloseSlowConsumer})
	}
}

type enqueueResult uint8

const (
	dropped   enqueueResult = iota // c is closing: nothing queued
	enqueued                       // queued (message retained) behind frames not yet written
	started                        // queued on an empty queue: wake the writer now
	overLimit                      // over SendQueueBytes: the queue was dropped, c is closing 4008
)

// enqueue queues f unless that would put c over its byte limit, in which case the
// unpulled queue is dropped and the 4008 close frame queued instead (a frame partly
// written stays in the writer's batch and is finished first, so framing stays intact).
func (c *Conn) enqueue(f frame) enqueueResult {
	c.mu.Lock()
	if c.state.Load() != stateOpen {
		c.mu.Unlock()
		return dropped
	}
	if c.unsent+len(f.b) > c.n.opts.SendQueueBytes {
		// Maybe the writer just had no turn yet: let the socket take what it will.
		c.mu.Unlock()
		c.link.TryFlush()
		c.mu.Lock()
		if c.state.Load() != stateOpen {
			c.mu.Unlock()
			return dropped
		}
	}
	if c.unsent+len(f.b) > c.n.opts.SendQueueBytes {
		var freed int
		if q := c.q; q != nil {
			c.q = nil
			for _, g := range q.f {
				freed += len(g.b)
			}
			releaseList(q)
		}
		c.unsent -= freed
		c.shard.queued.Add(-int64(freed))
		c.state.Store(stateClosing)
		c.closeCode = core.CloseSlowConsumer
		c.appendLocked(frame{b: c.framing.Close(core.CloseSlowConsumer, core.ReasonSlowConsumer)})
		c.mu.Unlock()
		c.n.slow.Add(1)
		return overLimit
	}
	if f.msg != nil {
		f.msg.Retain()
	}
	idle := c.unsent == 0
	c.appendLocked(f)
	c.mu.Unlock()
	if idle {
		return started
	}
	return enqueued
}

func (c *Conn) appendLocked(f frame) {
	if c.q == nil {
		c.q = frameLists.Get().(*frameList)
	}
	c.q.f = append(c.q.f, f)
	c.unsent += len(f.b)
	c.shard.queued.Add(int64(len(f.b)))
	for {
		peak := c.shard.peakConn.Load()
		if int64(c.unsent) <= peak || c.shard.peakConn.CompareAndSwap(peak, int64(c.unsent)) {
			break
		}
	}
}

// CloseCode is the code c was closed with (sent, or the peer's), 0 while open.
func (c *Conn) CloseCode() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode
}
