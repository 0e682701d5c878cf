package node

import (
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/cpu"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Delivery is a fork-join on the owner goroutine. With one shard (DeliveryShards 1) the
// owner queues every delivery as the hub emits it. With S > 1 the deliveries of a round
// are held (the message retained, its targets copied) and, before the owner next touches
// a connection's queue itself and at the end of the round, fanned out: the owner wakes
// S-1 helpers, runs shard 0 itself and waits for them all (the join). Only then does it
// go on, so the hub, n.conns and every owner-side queue operation stay single-owner: a
// close, a ping or a refusal never overtakes a delivery held before it.
//
// A connection belongs to one shard (runs of shardRun consecutive IDs, dealt
// round-robin: shardIndex), and each shard walks every held job in order and takes only
// its own targets, so every connection gets its frames in exactly the hub's order (one
// goroutine queues all of them, in job order). Scanning all targets costs S times a
// division per recipient; partitioning them first would cost the owner a pass and a
// write per recipient, which is the work it is handing off. For the few shards a node
// has (one per core) the scan is the cheaper of the two.
//
// While the shards run, the owner waits, so nobody writes n.conns, n.pairs or the held
// jobs: the shards read them concurrently with no lock. Each shard writes only its own
// connections' queues and its own state (dirty list, slow consumers, counts); the join
// hands those back to the owner, which settles slow consumers with the hub as before.

// inlineFanout: rounds holding fewer recipients than this are delivered by the owner
// itself, with no handoff, so a quiet node does not pay a goroutine wake per round.
const inlineFanout = 256

// maxHeld bounds the recipients held at once: a round that delivers more is fanned out
// in parts of about this size, so the held targets stay bounded and the shards start
// before the round ends.
const maxHeld = 1 << 16

// shard is one delivery shard's state. Shard 0 is the owner's; the others each belong to
// a helper goroutine while a fan-out runs, and to the owner between joins.
type shard struct {
	// Counters of the shard's connections, updated by the shard, the owner and the
	// transport's writers (Written): one line per shard, not one per node, so writers of
	// different shards do not contend on it.
	queued   atomic.Int64 // bytes queued, not yet written
	peakConn atomic.Int64 // the most bytes ever queued on one connection
	_        cpu.CacheLinePad

	id        uint64
	start     chan struct{} // a helper's signal: run the held jobs (closed: stop)
	dirty     []*Conn       // connections to wake at the end of the round (or of the pass)
	slow      []*Conn       // connections found over SendQueueBytes (closing 4008)
	delivered int           // frames queued
	_         cpu.CacheLinePad
}

// job is one held delivery: msg (retained) to targets[off:off+n] of the round, framed
// (when fanned out) in frames[framed:framed+len(pairs)], one per (framing, format) pair.
type job struct {
	msg    *proto.Message
	off, n int
	framed int
}

// pair is one (framing, format) combination of the tracked connections; Conn.pair
// indexes Node.pairs. live counts the tracked connections using it, so that a fan-out
// frames only the pairs someone will be sent.
type pair struct {
	fr   Framing
	f    proto.Format
	live int
}

// delivery is the node's delivery state, written by the owner goroutine only; the
// shards read it (and n.conns) while the owner waits for their join.
type delivery struct {
	shards     []*shard // DeliveryShards of them; shards[0] is the owner's
	jobs       []job
	targets    []core.ConnID // every job's targets, copied out of the outbox's arena
	frames     [][]byte
	recipients int // targets held this round
	pairs      []pair
	join       sync.WaitGroup // the helpers still running this fan-out
	helpers    sync.WaitGroup // the helper goroutines still alive
}

// startShards creates the shards and starts a helper goroutine for each one past the
// owner's.
func (n *Node) startShards(count int) {
	n.shards = make([]*shard, count)
	for i := range n.shards {
		n.shards[i] = &shard{id: uint64(i)}
	}
	for _, s := range n.shards[1:] {
		s.start = make(chan struct{}, 1)
		n.helpers.Add(1)
		go n.helper(s)
	}
}

// stopShards ends the helpers; the owner calls it on its way out, with nothing held.
func (n *Node) stopShards() {
	for _, s := range n.shards[1:] {
		close(s.start)
	}
	n.helpers.Wait()
}

func (n *Node) helper(s *shard) {
	defer n.helpers.Done()
	for range s.start {
		n.pass(s)
		n.join.Done()
	}
}

// shardRun is how many consecutive connection IDs go to one shard before the next
// shard's run begins. Consecutive IDs are attached one after the other and their Conns
// sit close in memory: a shard walking runs of them reads memory in order, which the
// prefetcher streams, where a shard taking every S-th ID (ID % S) touches a cold cache
// line per recipient. On a room of 10,000 this made two shards on one core twice as slow
// as one; with runs, two shards on one core cost what one does.
const shardRun = 64

// shardIndex is the shard of connection id among count: runs of shardRun IDs, dealt
// round-robin.
func shardIndex(id core.ConnID, count int) uint64 {
	return (uint64(id) / shardRun) % uint64(count)
}

// shardOf is the shard a new connection belongs to.
func (n *Node) shardOf(id core.ConnID) *shard {
	return n.shards[shardIndex(id, len(n.shards))]
}

// track puts c in n.conns, where deliveries find it.
func (n *Node) track(c *Conn) {
	c.tracked = true
	n.conns[c.ID] = c
	i := slices.IndexFunc(n.pairs, func(p pair) bool { return p.fr == c.framing && p.f == c.Format })
	if i < 0 {
		i = len(n.pairs)
		n.pairs = append(n.pairs, pair{fr: c.framing, f: c.Format})
	}
	c.pair = uint8(i) // framings × formats: a handful (WebSocket and SSE, JSON and MessagePack)
	n.pairs[c.pair].live++
}

// untrack takes c out of n.conns: no delivery reaches it from now on.
func (n *Node) untrack(c *Conn) {
	c.tracked = false
	delete(n.conns, c.ID)
	n.pairs[c.pair].live--
}

// route's ActionDeliver: queued now with one shard, else held for the next fan-out.
func (n *Node) routeDeliver(m *proto.Message, targets []core.ConnID) {
	if len(n.shards) == 1 {
		n.deliver(n.shards[0], m, targets)
		n.joined()
		return
	}
	m.Retain() // the outbox releases its reference when route is done
	n.jobs = append(n.jobs, job{msg: m, off: len(n.targets), n: len(targets)})
	n.targets = append(n.targets, targets...)
	n.recipients += len(targets)
	if n.recipients >= maxHeld {
		n.fanout()
	}
}

// deliver queues m on every target, on the owner (a shard of one, or a small round):
// one frame per framing and format in use, built once (Message.Frame keeps it), shared.
func (n *Node) deliver(s *shard, m *proto.Message, targets []core.ConnID) {
	for _, id := range targets {
		if c := n.conns[id]; c != nil {
			s.put(c, m, m.Frame(c.framing, c.Format))
		}
	}
}

// fanout queues every held delivery and returns once all of them are queued (the join):
// call it before any owner-side operation on a connection's queue, so that nothing the
// owner queues overtakes what the hub delivered before it.
func (n *Node) fanout() {
	if len(n.jobs) == 0 {
		return
	}
	if n.recipients < inlineFanout {
		for _, j := range n.jobs {
			n.deliver(n.shards[0], j.msg, n.targets[j.off:j.off+j.n])
		}
	} else {
		// Message.Frame is not safe for concurrent use: every frame a shard may need is
		// built here, before the fork, and the shards only read them.
		for i := range n.jobs {
			j := &n.jobs[i]
			j.framed = len(n.frames)
			for _, p := range n.pairs {
				var b []byte
				if p.live > 0 {
					b = j.msg.Frame(p.fr, p.f)
				}
				n.frames = append(n.frames, b)
			}
		}
		n.join.Add(len(n.shards) - 1)
		for _, s := range n.shards[1:] {
			s.start <- struct{}{}
		}
		n.pass(n.shards[0])
		n.join.Wait()
	}
	for i := range n.jobs {
		n.jobs[i].msg.Release()
		n.jobs[i] = job{}
	}
	clear(n.frames)
	n.jobs, n.targets, n.frames, n.recipients = n.jobs[:0], n.targets[:0], n.frames[:0], 0
	n.joined()
}

// pass is one shard's share of a fan-out: its own targets of every held job, in order.
// A helper wakes the connections it queued to before the join (the owner's shard wakes
// its own at the end of the round, with the owner's other frames).
func (n *Node) pass(s *shard) {
	count, id := len(n.shards), s.id
	for _, j := range n.jobs {
		frames := n.frames[j.framed : j.framed+len(n.pairs)]
		for _, cid := range n.targets[j.off : j.off+j.n] {
			if shardIndex(cid, count) != id {
				continue
			}
			if c := n.conns[cid]; c != nil {
				s.put(c, j.msg, frames[c.pair])
			}
		}
	}
	if id != 0 {
		s.wake()
	}
}

// joined takes back what the shards found: slow consumers go to n.pending (settled with
// the hub by the caller), and the frames queued are counted once.
func (n *Node) joined() {
	total := 0
	for _, s := range n.shards {
		for i, c := range s.slow {
			n.pending = append(n.pending, event{kind: evGone, c: c, code: core.CloseSlowConsumer})
			s.slow[i] = nil
		}
		s.slow = s.slow[:0]
		total += s.delivered
		s.delivered = 0
	}
	if total > 0 {
		n.opts.Metrics.Delivered(total)
	}
}

// put queues one delivered frame on c, which belongs to s.
func (s *shard) put(c *Conn, m *proto.Message, b []byte) {
	switch c.enqueue(frame{msg: m, b: b}) {
	case started:
		// The writer had nothing: start it now, in parallel with this round, rather
		// than at its end; what follows is coalesced behind it.
		c.link.Wake()
		s.delivered++
		s.mark(c)
	case enqueued:
		s.delivered++
		s.mark(c)
	case overLimit:
		s.mark(c)
		s.slow = append(s.slow, c)
	}
}

// mark notes that c has frames to be woken for. c.dirty is written by the owner, or
// during a fan-out by c's shard only; the join orders the two.
func (s *shard) mark(c *Conn) {
	if !c.dirty {
		c.dirty = true
		s.dirty = append(s.dirty, c)
	}
}

// wake wakes every connection marked since the last wake, once each.
func (s *shard) wake() {
	for i, c := range s.dirty {
		c.dirty = false
		c.link.Wake()
		s.dirty[i] = nil
	}
	s.dirty = s.dirty[:0]
}

// queuedBytes and peakConnQueue sum (and max) the shards' counters for Stats.
func (n *Node) queuedBytes() (queued, peak int64) {
	for _, s := range n.shards {
		queued += s.queued.Load()
		peak = max(peak, s.peakConn.Load())
	}
	return queued, peak
}
