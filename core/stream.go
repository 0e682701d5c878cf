package core

import (
	"container/heap"
	"strconv"
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// A room's stream (PROTOCOL.md §10.2) is its epoch, its offsets and the messages it
// holds for recovery. It is kept apart from the room's membership so that it can outlive
// the members: a room is deleted as soon as it empties (its member and presence state
// freed), while its stream stays, bounded, until it expires history_ttl after the later
// of its last message and its last member leaving, or is dropped whole to keep the held
// bytes under Config.HistoryMemory. Expiry and dropping run on clock events (EventTick)
// and on the message that goes over the budget: there is no timer per room.
//
// The hub indexes streams three ways, none of them touched by a room chat's hot path
// except the O(1) move to the back of the active list:
//   - active: streams of rooms with members, least recent message first (a list);
//   - idleExpiry: streams of rooms without members, soonest expiry first (a heap);
//   - idleAge: the same streams, oldest last message first (a heap), dropped first when
//     the budget is exceeded (rooms without members go before rooms with members).

// streamOverhead is what the budget counts for a stream itself and for each held
// message besides its content and sender: the structs, the map entry, the record.
const (
	streamOverhead = 256
	recordOverhead = 64
)

type stream struct {
	name   string
	epoch  string
	offset uint64 // the last message's offset; the next message gets offset+1
	held   records
	bytes  int64 // what the budget counts for this stream (overheads included)
	keep   int   // messages held at most
	ttl    time.Duration

	lastMsg int64 // event time of the last message, Unix nanoseconds (0: none yet)
	idleAt  int64 // when the room emptied (0: the room has members)

	expiryAt        int // index in Hub.idleExpiry, -1 when not there
	ageAt           int // index in Hub.idleAge, -1 when not there
	newer, older    *stream
	room            *room // the room with members, nil while idle
	storeHoldsEpoch bool  // the store holds this epoch (StoreBegin or StoreAppend emitted, or restored)
}

// record is one held message. Its content buffer is reused when the ring wraps, so a
// room chat allocates nothing once the ring is full.
type record struct {
	sender  string
	content []byte
	offset  uint64
	at      int64
}

// records is a ring of the newest held messages, oldest first.
type records struct {
	buf   []record
	start int
}

func (rs *records) len() int { return len(rs.buf) }

func (rs *records) at(i int) *record { return &rs.buf[(rs.start+i)%len(rs.buf)] }

// push keeps a copy of the message and returns the bytes the ring grew by (negative when
// it shrank: the dropped oldest was larger).
func (rs *records) push(sender string, content []byte, offset uint64, at int64, keep int) int64 {
	if keep <= 0 {
		return 0
	}
	var r *record
	var grew int64
	if len(rs.buf) < keep {
		if len(rs.buf) == cap(rs.buf) { // grow by doubling, but never past keep
			grown := make([]record, len(rs.buf), min(keep, max(8, 2*cap(rs.buf))))
			copy(grown, rs.buf)
			rs.buf = grown
		}
		rs.buf = append(rs.buf, record{})
		r = &rs.buf[len(rs.buf)-1]
		grew = recordOverhead
	} else {
		r = &rs.buf[rs.start]
		rs.start = (rs.start + 1) % len(rs.buf)
		grew = -int64(len(r.content) + len(r.sender))
	}
	r.sender, r.offset, r.at = sender, offset, at
	r.content = append(r.content[:0], content...)
	return grew + int64(len(content)+len(sender))
}

// first returns the offset the oldest held message has, or next when none is held.
func (rs *records) first(next uint64) uint64 {
	if len(rs.buf) == 0 {
		return next
	}
	return rs.at(0).offset
}

// newEpoch names a new stream epoch: the event time in base 36 and a sequence number,
// unique for the hub's life and, since a restart moves the clock, across restarts.
func (h *Hub) newEpoch() string {
	h.epochs++
	return strconv.FormatInt(h.now.UnixMilli(), 36) + "-" + strconv.FormatUint(h.epochs, 36)
}

// streamPolicy returns how many messages a room's stream holds and how long it outlives
// the room's members (PROTOCOL.md §8 history and history_ttl; §10.2).
func (h *Hub) streamPolicy(name string) (keep int, ttl time.Duration) {
	keep, ttl = h.cfg.History, h.cfg.HistoryTTL
	if ns, _ := h.namespace(name); ns != nil {
		keep = max(ns.History, 0) // namespaces() filled in Config.History; NoHistory is none
		if ns.HistoryTTL != 0 {
			ttl = ns.HistoryTTL
		}
	}
	return keep, ttl
}

// streamOf returns the stream of room name, creating it (a new epoch) when there is none.
func (h *Hub) streamOf(name string) *stream {
	if s := h.streams[name]; s != nil {
		return s
	}
	keep, ttl := h.streamPolicy(name)
	s := &stream{name: name, epoch: h.newEpoch(), keep: keep, ttl: ttl,
		bytes: streamOverhead + int64(len(name)), expiryAt: -1, ageAt: -1, idleAt: h.now.UnixNano()}
	h.streams[name] = s
	h.heldBytes += s.bytes
	h.idleExpiry.push(s)
	h.idleAge.push(s)
	return s
}

// attach ties room r to its stream (creating one when there is none): the stream
// becomes active and stops expiring.
func (h *Hub) attach(r *room) *stream {
	s := h.streamOf(r.name)
	if s.room == nil {
		h.idleExpiry.remove(s)
		h.idleAge.remove(s)
		s.room, s.idleAt = r, 0
		h.active.insert(s)
	}
	r.s = s
	return s
}

// detach lets r's stream outlive r: it starts expiring, or is dropped at once when the
// room keeps no stream after its members leave.
func (h *Hub) detach(r *room, out *Outbox) {
	s := r.s
	r.s = nil
	if s == nil {
		return
	}
	h.active.remove(s)
	s.room, s.idleAt = nil, h.now.UnixNano()
	if s.ttl <= 0 || !h.peers.keepsStreams() {
		h.dropStream(s, out)
		return
	}
	h.idleExpiry.push(s)
	h.idleAge.push(s)
}

// append sequences one message into s: its offset, the held copy, the budget. The caller
// delivers m; m.Offset is set here.
func (h *Hub) append(s *stream, m *proto.Message, out *Outbox) {
	s.offset++
	m.Offset = s.offset
	now := h.now.UnixNano()
	s.lastMsg = now
	grew := s.held.push(m.Sender, m.Content, m.Offset, now, s.keep)
	s.bytes += grew
	h.heldBytes += grew
	if s.room != nil {
		h.active.touch(s)
	} else {
		h.idleExpiry.fix(s)
		h.idleAge.fix(s)
	}
	if h.cfg.Durable && s.keep > 0 {
		out.store(StoreAppend, s, m)
		s.storeHoldsEpoch = true
	}
	h.enforceBudget(out)
}

// enforceBudget drops whole streams while the held bytes exceed Config.HistoryMemory:
// first those of rooms without members, then the others, each time the one whose last
// message is oldest. A dropped stream's next message starts a new epoch.
func (h *Hub) enforceBudget(out *Outbox) {
	for h.cfg.HistoryMemory > 0 && h.heldBytes > h.cfg.HistoryMemory {
		var s *stream
		if len(h.idleAge.list) > 0 {
			s = h.idleAge.list[0]
		} else if h.active.oldest != nil {
			s = h.active.oldest
		} else {
			return
		}
		h.dropStream(s, out)
	}
}

// dropStream forgets s: its room (when it has members) gets a new stream with its next
// message or join.
func (h *Hub) dropStream(s *stream, out *Outbox) {
	if s.room != nil {
		h.active.remove(s)
		s.room.s = nil
		s.room = nil
	}
	h.idleExpiry.remove(s)
	h.idleAge.remove(s)
	delete(h.streams, s.name)
	h.heldBytes -= s.bytes
	if h.cfg.Durable && s.storeHoldsEpoch {
		out.store(StoreDrop, s, nil)
	}
	s.held = records{}
}

// expireStreams drops the idle streams whose history_ttl has passed (EventTick).
func (h *Hub) expireStreams(out *Outbox) {
	now := h.now.UnixNano()
	for len(h.idleExpiry.list) > 0 {
		s := h.idleExpiry.list[0]
		if s.expiry() > now {
			return
		}
		h.dropStream(s, out)
	}
}

// expiry is when an idle stream expires: history_ttl after the later of its last message
// and its room emptying.
func (s *stream) expiry() int64 { return max(s.lastMsg, s.idleAt) + int64(s.ttl) }

// position is where a join with since (and maybe epoch) stands in s: whether every
// message after since follows (recovered), and from which offset to replay.
func (s *stream) position(since uint64, epoch []byte) (recovered bool, from uint64) {
	if len(epoch) > 0 && string(epoch) != s.epoch || since > s.offset {
		return false, 0 // unknown position: every held message
	}
	if s.held.first(s.offset+1) > since+1 {
		return false, 0 // the history no longer reaches back to since
	}
	return true, since
}

// sendJoined tells c where it stands in r's stream (PROTOCOL.md §10.1) and replays what it
// missed: joined, then history_gap when the position is lost, then the held messages.
func (h *Hub) sendJoined(c *conn, r *room, req *proto.Request, out *Outbox) {
	s := r.s
	if s == nil {
		s = h.attach(r)
	}
	recovered, from := false, s.offset
	if req.HasSince {
		recovered, from = s.position(req.Since, req.Epoch)
	}
	h.storeEpoch(s, out)
	j := proto.NewMessage(proto.MsgJoined)
	x := j.Extra()
	j.Room, x.Epoch, j.Offset, x.Recovered = r.name, s.epoch, s.offset, recovered
	out.deliverTo(j, c.id)
	if !req.HasSince {
		return
	}
	if !recovered {
		out.deliverTo(historyGap(r.name), c.id)
	}
	for i := 0; i < s.held.len(); i++ {
		rec := s.held.at(i)
		if rec.offset <= from {
			continue
		}
		m := proto.NewMessage(proto.MsgChat)
		m.Room, m.Sender, m.Offset, m.Time = r.name, rec.sender, rec.offset, time.Unix(0, rec.at).UTC()
		m.Content = append(m.Content[:0], rec.content...)
		out.deliverTo(m, c.id)
	}
}

// activeList holds the streams of rooms with members, least recent message first.
type activeList struct{ oldest, newest *stream }

func (l *activeList) remove(s *stream) {
	if s.older != nil {
		s.older.newer = s.newer
	} else if l.oldest == s {
		l.oldest = s.newer
	}
	if s.newer != nil {
		s.newer.older = s.older
	} else if l.newest == s {
		l.newest = s.older
	}
	s.newer, s.older = nil, nil
}

// insert places s by its last message, walking from the newest end (a stream that comes
// back to life usually has a recent message, or none and goes first).
func (l *activeList) insert(s *stream) {
	at := l.newest
	for at != nil && at.lastMsg > s.lastMsg {
		at = at.older
	}
	s.older = at
	if at == nil {
		s.newer = l.oldest
		l.oldest = s
	} else {
		s.newer = at.newer
		at.newer = s
	}
	if s.newer != nil {
		s.newer.older = s
	} else {
		l.newest = s
	}
}

// touch moves s to the newest end: it just got a message.
func (l *activeList) touch(s *stream) {
	if l.newest == s {
		return
	}
	l.remove(s)
	s.older = l.newest
	if l.newest != nil {
		l.newest.newer = s
	} else {
		l.oldest = s
	}
	l.newest = s
}

// streamHeap is a min-heap of idle streams by key, each stream knowing its index.
type streamHeap struct {
	list []*stream
	key  func(*stream) int64
	idx  func(*stream) *int
}

func (q *streamHeap) Len() int           { return len(q.list) }
func (q *streamHeap) Less(i, j int) bool { return q.key(q.list[i]) < q.key(q.list[j]) }
func (q *streamHeap) Swap(i, j int) {
	q.list[i], q.list[j] = q.list[j], q.list[i]
	*q.idx(q.list[i]), *q.idx(q.list[j]) = i, j
}
func (q *streamHeap) Push(x any) {
	s := x.(*stream)
	*q.idx(s) = len(q.list)
	q.list = append(q.list, s)
}
func (q *streamHeap) Pop() any {
	n := len(q.list) - 1
	s := q.list[n]
	q.list[n] = nil
	q.list = q.list[:n]
	*q.idx(s) = -1
	return s
}

func (q *streamHeap) push(s *stream) {
	if *q.idx(s) < 0 {
		heap.Push(q, s)
	}
}

func (q *streamHeap) remove(s *stream) {
	if i := *q.idx(s); i >= 0 {
		heap.Remove(q, i)
	}
}

func (q *streamHeap) fix(s *stream) {
	if i := *q.idx(s); i >= 0 {
		heap.Fix(q, i)
	}
}

func newIdleHeaps() (byExpiry, byAge streamHeap) {
	byExpiry = streamHeap{key: (*stream).expiry, idx: func(s *stream) *int { return &s.expiryAt }}
	byAge = streamHeap{key: func(s *stream) int64 { return s.lastMsg }, idx: func(s *stream) *int { return &s.ageAt }}
	return
}
