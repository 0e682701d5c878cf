package proto

import (
	"sync"
	"sync/atomic"
)

// headroom is room left in front of every encoded payload for a framing's header, so
// that the first framing (a WebSocket frame's 2–10 bytes) is written in place.
const headroom = 10

var messagePool = sync.Pool{New: func() any { return new(Message) }}

// NewMessage returns an empty message of type t holding one reference.
func NewMessage(t MessageType) *Message {
	m := messagePool.Get().(*Message)
	m.Type = t
	m.refs = 1
	return m
}

// Retain adds a reference: a holder that keeps m (or its frames) beyond the current
// step calls Retain, and Release when done.
func (m *Message) Retain() {
	if atomic.AddInt32(&m.refs, 1) <= 1 {
		panic("proto: Retain of a released Message")
	}
}

// Release drops a reference. The last one clears the message and returns it, with its
// buffers' capacity, to the pool: neither m nor any slice Frame returned may be used
// after it. Releasing more often than retaining is a bug and panics.
func (m *Message) Release() {
	switch n := atomic.AddInt32(&m.refs, -1); {
	case n == 0:
		m.reset()
		messagePool.Put(m)
	case n < 0:
		panic("proto: Message released more often than retained")
	}
}

// Refs returns the number of references held (for tests and invariant checks).
func (m *Message) Refs() int32 { return atomic.LoadInt32(&m.refs) }

// reset clears every field but keeps the capacity of the buffers the message owns.
// Members, Rooms and Users are dropped rather than truncated: callers may have assigned
// slices they still use, which a later append must not overwrite.
func (m *Message) reset() {
	frames, framed := m.frames, m.framed
	content, id, event, result := m.Content[:0], m.ID[:0], m.Event[:0], m.Result[:0]
	*m = Message{Content: content, ID: id, Event: event, Result: result}
	for f := range frames {
		m.frames[f] = frames[f][:0]
	}
	for i := range framed {
		m.framed[i].own = framed[i].own[:0]
	}
}

// Payload returns m encoded in format f (JSON or MessagePack), with no framing: encoded
// on the first call for each format, the same bytes after.
func (m *Message) Payload(f Format) []byte {
	if !m.encoded[f] {
		m.encode(f)
	}
	return m.frames[f][headroom:]
}

func (m *Message) encode(f Format) {
	buf := m.frames[f][:0]
	if cap(buf) < headroom {
		buf = make([]byte, 0, 256)
	}
	buf = buf[:headroom]
	switch f {
	case JSON:
		buf = m.appendJSON(buf)
	case Msgpack:
		buf = m.appendMsgpack(buf)
	default:
		panic("proto: unknown Format")
	}
	m.frames[f] = buf
	m.encoded[f] = true
}
