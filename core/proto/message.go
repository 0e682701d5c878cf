package proto

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// headroom is the largest header of an unmasked server frame (2 + 8 bytes): the payload
// is encoded after it so the header can be written in front without moving the payload.
const headroom = 10

// WebSocket opcodes of the frames Frame builds (RFC 6455 §5.2).
const (
	opText   = 0x1
	opBinary = 0x2
	finBit   = 0x80
)

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
	frames := m.frames
	content, id, event, result := m.Content[:0], m.ID[:0], m.Event[:0], m.Result[:0]
	*m = Message{Content: content, ID: id, Event: event, Result: result}
	for f := range frames {
		m.frames[f] = frames[f][:0]
	}
}

// Frame returns m as one complete unmasked WebSocket frame in format f: a text frame
// for JSON, a binary frame for MessagePack, FIN set. The payload is encoded on the first
// call for each format; later calls return the same bytes, which every recipient shares
// and nobody may modify. Fill every field before the first call.
func (m *Message) Frame(f Format) []byte {
	if !m.encoded[f] {
		m.encode(f)
	}
	return m.frames[f][m.start[f]:]
}

// Payload returns the bytes of Frame(f) without the WebSocket header.
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
	var op byte
	switch f {
	case JSON:
		buf = m.appendJSON(buf)
		op = opText
	case Msgpack:
		buf = m.appendMsgpack(buf)
		op = opBinary
	default:
		panic("proto: unknown Format")
	}
	m.start[f] = uint8(putHeader(buf[:headroom], op, len(buf)-headroom))
	m.frames[f] = buf
	m.encoded[f] = true
}

// putHeader writes the header of an unmasked frame of n payload bytes at the end of
// room (which is headroom long) and returns where it begins.
func putHeader(room []byte, op byte, n int) int {
	switch {
	case n <= 125:
		room[8], room[9] = finBit|op, byte(n)
		return 8
	case n <= 0xFFFF:
		room[6], room[7] = finBit|op, 126
		binary.BigEndian.PutUint16(room[8:], uint16(n))
		return 6
	default:
		room[0], room[1] = finBit|op, 127
		binary.BigEndian.PutUint64(room[2:], uint64(n))
		return 0
	}
}
