package core

import (
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// Durable streams (Config.Durable, PROTOCOL.md §10.2 --data-dir): the hub keeps its
// streams in memory as always and tells a store adapter what to write with ActionStore;
// at start the adapter feeds back what it holds with EventRestore, one stream each,
// before any connection. The hub never waits for the store: the adapter writes every
// ActionStore of an outbox to the operating system before it sends that outbox's
// deliveries, so a chat is written before its ack goes out.

// StoreOp says what the store must write.
type StoreOp uint8

const (
	StoreAppend StoreOp = iota + 1 // append Msg (a chat) to stream Room of Epoch, keeping at most Keep messages
	StoreDrop                      // forget stream Room (expired, dropped for the budget)
	// StoreBegin: stream Room begins epoch Epoch with no message yet (offset 0), replacing
	// a stream of another epoch. Emitted before a client first learns the epoch (joined),
	// so that its position in a room nobody wrote in yet survives a restart too.
	StoreBegin
)

// StreamState is one stream as a store holds it (EventRestore).
type StreamState struct {
	Room     string
	Epoch    string
	Offset   uint64          // the last offset of the epoch
	Messages []StoredMessage // the held messages, oldest first
}

// StoredMessage is one held chat message.
type StoredMessage struct {
	Sender  string
	Content []byte
	Offset  uint64
	Time    time.Time
	ID      []byte // the chat's request id (§10.4; StoreAppend's Msg.ID), empty when it had none
}

// store emits an ActionStore for stream s (m: the appended chat, which the action keeps
// a reference to until Reset).
func (o *Outbox) store(op StoreOp, s *stream, m *proto.Message) {
	a := Action{Kind: ActionStore, Store: op, Room: s.name, Epoch: s.epoch, Keep: s.keep}
	if m != nil {
		m.Retain()
		a.Msg = m
	}
	o.Actions = append(o.Actions, a)
}

// storeEpoch has the store keep s's epoch before a client learns it, once per epoch (a
// stream that had a message, or came from the store, is there already).
func (h *Hub) storeEpoch(s *stream, out *Outbox) {
	if h.cfg.Durable && s.keep > 0 && !s.storeHoldsEpoch {
		out.store(StoreBegin, s, nil)
		s.storeHoldsEpoch = true
	}
}

// restore takes back a stream the store held: idle (no room has members yet), expiring
// history_ttl after the later of its last message and now.
func (h *Hub) restore(st *StreamState) error {
	if !validRoom(st.Room) || st.Epoch == "" {
		return ErrBadRestore
	}
	if old := h.streams[st.Room]; old != nil {
		return ErrBadRestore
	}
	keep, ttl := h.streamPolicy(st.Room)
	s := &stream{name: st.Room, epoch: st.Epoch, offset: st.Offset, keep: keep, ttl: ttl,
		bytes: streamOverhead + int64(len(st.Room)), expiryAt: -1, ageAt: -1,
		idleAt: h.now.UnixNano(), storeHoldsEpoch: true}
	msgs := st.Messages
	if len(msgs) > keep {
		msgs = msgs[len(msgs)-keep:]
	}
	for _, m := range msgs {
		if m.Offset > st.Offset {
			return ErrBadRestore
		}
		s.bytes += s.held.push(m.Sender, m.Content, m.Offset, m.Time.UnixNano(), keep)
		s.lastMsg = m.Time.UnixNano()
	}
	// The chat ids of the last DedupeWindow are remembered again, so that a client that
	// resends a chat the server wrote before it went down is acked, not duplicated. They
	// are remembered as of now (the dedupe ring is in event-time order, and streams come
	// in any order), so one may be remembered up to a window longer than it would have.
	for _, m := range msgs {
		if len(m.ID) > 0 && h.now.Sub(m.Time) < h.cfg.DedupeWindow {
			h.dedupe.remember(m.Sender, s.name, m.ID, m.Offset, h.now.UnixNano(), h.cfg.DedupeWindow)
		}
	}
	h.streams[st.Room] = s
	h.heldBytes += s.bytes
	h.idleExpiry.push(s)
	h.idleAge.push(s)
	return nil
}

// history answers GET /api/rooms/{room}/history (PROTOCOL.md §8.3): at most limit held
// messages after since, oldest first, with the stream's epoch and last offset.
func (h *Hub) history(req *AdminRequest, rep *AdminReply) {
	rep.Room, rep.Messages = req.Room, []StoredMessage{}
	limit := req.Limit
	if limit <= 0 || limit > MaxHistoryLimit {
		limit = MaxHistoryLimit
	}
	s := h.streams[req.Room]
	if s == nil {
		return
	}
	rep.Epoch, rep.Offset = s.epoch, s.offset
	for i := 0; i < s.held.len() && len(rep.Messages) < limit; i++ {
		rec := s.held.at(i)
		if rec.offset > req.Since {
			rep.Messages = append(rep.Messages, StoredMessage{Sender: rec.sender,
				Content: append([]byte(nil), rec.content...), Offset: rec.offset, Time: time.Unix(0, rec.at).UTC()})
		}
	}
}

// MaxHistoryLimit is the default and the largest `limit` of a history request.
const MaxHistoryLimit = 100
