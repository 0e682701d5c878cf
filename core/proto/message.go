package proto

import (
	"sync"
	"sync/atomic"
	"time"
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

// Extra returns m's less frequent fields, for the core to fill: the same Extra on every
// call until the last Release, which clears it for the next use.
func (m *Message) Extra() *Extra {
	if m.extra == nil {
		m.extra = new(Extra)
	}
	m.extraUsed = true
	return m.extra
}

// noExtra is what the encoders read for a message whose Extra was never asked for:
// every field zero. Nothing writes to it.
var noExtra Extra

// ext is Extra for reading: no allocation, and zero values when the core set none.
func (m *Message) ext() *Extra {
	if !m.extraUsed {
		return &noExtra
	}
	return m.extra
}

// reset clears every field but keeps the capacity of the buffers the message owns. It
// clears field by field, and Extra only when it was used, rather than assigning a whole
// Message: this runs once per message on the hot path, and most messages touch a small
// part of the struct (TestReleaseClearsEveryField holds it to every field).
// Members, Rooms and Users are dropped rather than truncated: callers may have assigned
// slices they still use, which a later append must not overwrite.
func (m *Message) reset() {
	m.Type, m.HasOffset = 0, false
	m.Room, m.UserID, m.Sender, m.To = "", "", "", ""
	m.Content, m.ID, m.Event = m.Content[:0], m.ID[:0], m.Event[:0]
	m.Offset, m.Time = 0, time.Time{}
	if m.extraUsed {
		*m.extra = Extra{Result: m.extra.Result[:0]}
		m.extraUsed = false
	}
	for f := range m.frames {
		m.frames[f] = m.frames[f][:0]
		m.encoded[f], m.inPlace[f] = false, false
	}
	for i := range m.framed[:m.nframed] {
		m.framed[i].fr = nil // let the framing go; own keeps its capacity
	}
	m.nframed = 0
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
