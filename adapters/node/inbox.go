package node

import (
	"sync"

	"github.com/switchboard-ws/switchboard/core"
)

// maxInboxBytes bounds the payload bytes waiting for the owner goroutine: a reader that
// finds the inbox this full waits (backpressure onto its sockets) until the owner drains
// it. Control events (connect, gone, finished, admin) never wait.
const maxInboxBytes = 16 << 20

type eventKind uint8

const (
	evConnect  eventKind = iota // c was attached
	evFrame                     // c sent payload arena[off:off+n]
	evGone                      // c is closing from the transport's side with code
	evFinished                  // c's socket is closed
	evAdmin                     // an operator request; its reply goes to reply
	evShutdown                  // close everything 1001 and stop accepting
	evAbortAll                  // shutdown out of time: abort every socket
	evCluster                   // news from other nodes: cluster
	evDrain                     // close everything 1001, n per second, and stop accepting
	evAuthed                    // c's auth message was verified (or not): answer
	evAnswer                    // the answer to one of the hub's asks: answer
)

type event struct {
	kind     eventKind
	c        *Conn
	off      int
	n        int
	code     uint16
	admin    core.AdminRequest
	reply    chan core.AdminReply
	cluster  core.ClusterEvent
	answer   *core.Answer
	verified bool // evAuthed, evAnswer: the end of a token verification (access.go)
}

// inbox is the batch queue from transports to the owner goroutine: producers append
// under a mutex (payloads copied into one arena), the owner swaps the whole batch out at
// once, so the steady state allocates nothing and the lock is held for a copy only.
type inbox struct {
	mu      sync.Mutex
	space   sync.Cond // signalled when the owner took a batch
	events  []event
	arena   []byte
	closed  bool
	waiting int
	wake    chan struct{} // one pending signal: "there is a batch"
}

func (b *inbox) init() {
	b.space.L = &b.mu
	b.wake = make(chan struct{}, 1)
}

func (b *inbox) post(ev event) {
	b.mu.Lock()
	b.events = append(b.events, ev)
	b.mu.Unlock()
	b.signal()
}

func (b *inbox) postFrame(c *Conn, payload []byte) {
	b.mu.Lock()
	for len(b.arena) > maxInboxBytes && !b.closed {
		b.waiting++
		b.space.Wait()
		b.waiting--
	}
	off := len(b.arena)
	b.arena = append(b.arena, payload...)
	b.events = append(b.events, event{kind: evFrame, c: c, off: off, n: len(payload)})
	b.mu.Unlock()
	b.signal()
}

func (b *inbox) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Spare batches larger than this are given back to the garbage collector once a small
// batch shows the burst that grew them is over: a connect storm of 20,000 grows them to
// megabytes that an idle server would otherwise keep for good.
const (
	keepEvents     = 1024
	keepArenaBytes = 256 << 10
)

// take swaps the pending batch with the owner's spare slices (the batch it just
// processed, emptied here).
func (b *inbox) take(events []event, arena []byte) ([]event, []byte) {
	if cap(events) > keepEvents && len(events) < cap(events)/8 {
		events = nil
	}
	if cap(arena) > keepArenaBytes && len(arena) < cap(arena)/8 {
		arena = nil
	}
	b.mu.Lock()
	events, b.events = b.events, events[:0]
	arena, b.arena = b.arena, arena[:0]
	if b.waiting > 0 {
		b.space.Broadcast()
	}
	b.mu.Unlock()
	return events, arena
}

// close releases readers waiting for space (the owner is gone).
func (b *inbox) close() {
	b.mu.Lock()
	b.closed = true
	b.space.Broadcast()
	b.mu.Unlock()
}
