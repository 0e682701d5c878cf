package natsbroker

import (
	"encoding/binary"
	"errors"
	"time"
)

// errCorrupt is a payload this package did not write (or a newer version wrote).
var errCorrupt = errors.New("natsbroker: corrupt payload")

// wireKind is the first byte of every payload on room, user and broadcast subjects.
type wireKind uint8

const (
	wireChat      wireKind = iota + 1 // room chat: Sender, Content
	wirePrivate                       // private to To; Copy marks the sender's own copy
	wireBroadcast                     // Sender, Content, Exclude
	wireSystem                        // Content, optional Room
	wireKick                          // User: close every connection of the user
	wireSeat                          // To, Room: the user's connections join the room (admin)
	wireUnseat                        // To, Room: the user's connections leave the room (admin)
	wireRoomMsg                       // unstored room message of Type: Sender, Room, Event, Content
)

// wireMsg is the decoded form of one payload. Fields a kind does not use are empty.
type wireMsg struct {
	Kind    wireKind
	Origin  string // node that published it
	Sender  string
	To      string
	Room    string
	Exclude string
	Event   string // wireRoomMsg: an event's name
	Type    uint8  // wireRoomMsg: the message type (core/proto.MessageType)
	Copy    bool
	Time    time.Time
	Content []byte
}

// encode appends m as: kind, origin, sender, to, room, exclude, event (uvarint-length strings),
// type, copy flag, unix milliseconds (varint), then the content to the end.
func (m *wireMsg) encode(b []byte) []byte {
	b = append(b, byte(m.Kind))
	for _, s := range [...]string{m.Origin, m.Sender, m.To, m.Room, m.Exclude, m.Event} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = append(b, m.Type)
	if m.Copy {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendVarint(b, m.Time.UnixMilli())
	return append(b, m.Content...)
}

// decode reads a payload written by encode. Content aliases b.
func (m *wireMsg) decode(b []byte) error {
	if len(b) < 1 {
		return errCorrupt
	}
	m.Kind, b = wireKind(b[0]), b[1:]
	if m.Kind < wireChat || m.Kind > wireRoomMsg {
		return errCorrupt
	}
	for _, dst := range [...]*string{&m.Origin, &m.Sender, &m.To, &m.Room, &m.Exclude, &m.Event} {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return errCorrupt
		}
		*dst, b = string(b[k:k+int(n)]), b[k+int(n):]
	}
	if len(b) < 2 {
		return errCorrupt
	}
	m.Type, m.Copy, b = b[0], b[1] == 1, b[2:]
	ms, k := binary.Varint(b)
	if k <= 0 {
		return errCorrupt
	}
	m.Time, m.Content = time.UnixMilli(ms).UTC(), b[k:]
	return nil
}

// Presence travels as JSON: it is small and rare next to chat.

// presenceOp is one change of a node's local presence.
type presenceOp struct {
	Op    string `json:"op"`          // "c" connection opened, "d" closed, "r" room count
	User  string `json:"u"`           //
	Conn  uint64 `json:"c,omitempty"` // "c", "d"
	Order int64  `json:"o,omitempty"` // "c": when it connected (unix ns on its node)
	Room  string `json:"r,omitempty"` // "r"
	Count int    `json:"n,omitempty"` // "r": the user's connections in the room on that node; 0: left
	Began int64  `json:"b,omitempty"` // "r": when that count last rose from 0 (unix ns on its node)
}

// presenceBatch is what a node publishes on presenceSubj: its changes since the last
// batch (Seq counts batches), or, with no Ops, a heartbeat that repeats the last Seq.
// Bye says the node is shutting down cleanly.
type presenceBatch struct {
	Node        string       `json:"node"`
	Incarnation int64        `json:"inc"`
	Seq         uint64       `json:"seq"`
	Ops         []presenceOp `json:"ops,omitempty"`
	Bye         bool         `json:"bye,omitempty"`
}

// presenceSnapshot answers a snapshot request: the node's whole local presence as of Seq.
type presenceSnapshot struct {
	Node        string       `json:"node"`
	Incarnation int64        `json:"inc"`
	Seq         uint64       `json:"seq"`
	Conns       []presenceOp `json:"conns"` // "c" ops
	Rooms       []presenceOp `json:"rooms"` // "r" ops
	Part        int          `json:"part"`  // a snapshot comes in parts, numbered from 0
	Last        bool         `json:"last"`
}
