package natsbroker

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/switchboard-ws/switchboard/core"
)

// roomSub is this node's live subscription to one room, open while the room has local
// connections. last is the newest offset delivered (dispatcher-owned; 0 before the first).
type roomSub struct {
	name  string
	conns int // local connections in the room
	sub   *nats.Subscription
	last  uint64

	// Live chats reach a subscription only while it is in place at the server: a new one
	// gets there a moment after the join it serves, a restored one after the outage that
	// took it away. Until the broker has read from the stream what came in between (a
	// window check), live chats wait in held (dispatcher-owned, like last). check numbers
	// the window checks, so only the latest one's answer is used.
	fresh   bool
	joined  time.Time
	held    []*nats.Msg
	dropped uint64 // the newest live chat dropped because held was full
	check   uint64
}

// maxHeld bounds the live chats one room holds during a window check; beyond it the
// oldest are dropped (the stream read usually has them; when not, a gap is reported).
const maxHeld = 1 << 14

func (rs *roomSub) hold(m *nats.Msg) {
	if len(rs.held) >= maxHeld {
		rs.dropped = max(rs.dropped, headerUint(rs.held[0], "Nats-Sequence"))
		rs.held[0] = nil
		rs.held = rs.held[1:]
	}
	rs.held = append(rs.held, m)
}

// joinSkew widens the join window for clock differences between a node and NATS.
const joinSkew = 20 * time.Millisecond

// pageSize is how many chats one direct get asks for: reads go on page by page until
// the stream has nothing more, however many chats a window holds.
const pageSize = 256

// window is what a room subscription may have missed: the chats after offset after
// (the last one delivered) or, when after is 0, those stored since since (zero: the
// whole stream, a new epoch). ageRisk says chats may have expired meanwhile (MaxAge).
type window struct {
	rs      *roomSub
	check   uint64
	after   uint64
	since   time.Time
	ageRisk bool
}

// onLive delivers one chat republished by the stream, or an ephemeral room event
// published on the live subject. A chat waits while the room's window is being checked;
// one that shows a chat of the room was missed (Nats-Last-Sequence beyond the last
// delivered: a slow consumer) holds the room until the stream filled the hole.
func (b *Broker) onLive(m *nats.Msg) {
	b.mu.Lock()
	rs := b.bySub[m.Sub]
	b.mu.Unlock()
	if rs == nil {
		return // a subscription already closed
	}
	seq := headerUint(m, "Nats-Sequence")
	if seq == 0 {
		b.onRoomMessage(rs, m)
		return
	}
	if rs.fresh || b.synced != b.reconnects() {
		rs.hold(m)
		return
	}
	if seq <= rs.last {
		return // a duplicate of what a window check already delivered
	}
	if prev := headerUint(m, "Nats-Last-Sequence"); rs.last > 0 && prev > rs.last {
		rs.fresh = true
		rs.hold(m)
		b.checkWindows([]window{b.windowOf(rs, false)})
		return
	}
	var w wireMsg
	if err := w.decode(m.Data); err != nil || w.Kind != wireChat {
		rs.last = seq
		return
	}
	rs.last = seq
	b.deliver(core.RemoteChat{Node: w.Origin, Room: rs.name, Sender: w.Sender, Content: w.Content, Offset: seq, Time: w.Time})
}

// windowOf starts a window check of rs: from its last delivered chat, or from its join
// when it has delivered none (from the stream's start in a new epoch).
func (b *Broker) windowOf(rs *roomSub, newEpoch bool) window {
	rs.check++
	w := window{rs: rs, check: rs.check, after: rs.last}
	if rs.last == 0 && !newEpoch {
		w.since = rs.joined.Add(-joinSkew)
	}
	return w
}

// resyncRooms holds every room's live chats and checks its window, after a reconnect or
// in a new epoch (whose offsets restart: what was delivered says nothing about it).
func (b *Broker) resyncRooms(newEpoch bool) {
	b.mu.Lock()
	rooms := make([]*roomSub, 0, len(b.rooms))
	for _, rs := range b.rooms {
		rooms = append(rooms, rs)
	}
	b.mu.Unlock()
	if len(rooms) == 0 {
		return
	}
	ageRisk := b.opts.HistoryTTL > 0 && b.outageAge(time.Now()) >= b.opts.HistoryTTL
	ws := make([]window, 0, len(rooms))
	for _, rs := range rooms {
		if newEpoch {
			rs.last = 0
		}
		rs.fresh = true
		w := b.windowOf(rs, newEpoch)
		w.ageRisk = ageRisk && !newEpoch
		ws = append(ws, w)
	}
	b.checkWindows(ws)
}

// checkWindows reads each window from the stream once the server has this node's
// subscriptions (a flush round trip), on a goroutine of its own; finishWindow delivers
// what it found before the held live chats.
func (b *Broker) checkWindows(ws []window) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		ctx, cancel := context.WithTimeout(b.life, b.opts.RequestTimeout)
		err := b.nc.FlushWithContext(ctx)
		cancel()
		for _, w := range ws {
			var chats []storedChat
			gap := false
			if err == nil {
				ctx, cancel := context.WithTimeout(b.life, b.opts.RequestTimeout)
				chats, gap, err = b.readWindow(ctx, w)
				cancel()
			}
			b.post(func() { b.finishWindow(w, chats, gap, err) })
		}
	}()
}

// readWindow reads what w covers and says whether chats in it may be lost: the last
// delivered chat is gone from the stream, and either every chat the stream keeps of the
// room came after it (older ones were dropped for the limit) or the outage was long
// enough for some to expire.
func (b *Broker) readWindow(ctx context.Context, w window) ([]storedChat, bool, error) {
	if w.after > 0 {
		chats, err := b.fetchRange(ctx, w.rs.name, w.after, time.Time{}, 0)
		if err != nil {
			return nil, false, err
		}
		if len(chats) > 0 && chats[0].Offset == w.after {
			return chats[1:], false, nil // it is still held: nothing after it was dropped
		}
		return chats, w.ageRisk || len(chats) > b.opts.History, nil
	}
	if !w.since.IsZero() {
		// the common case, a join with nothing stored since: one small read
		last, err := b.fetchLast(ctx, w.rs.name)
		if err != nil || len(last) == 0 || last[0].stored.Before(w.since) {
			return nil, false, err
		}
	}
	chats, err := b.fetchRange(ctx, w.rs.name, 0, w.since, 0)
	return chats, len(chats) > b.opts.History, err
}

// finishWindow delivers the chats of a window check, a gap first when some may be lost,
// then the held live chats.
func (b *Broker) finishWindow(w window, chats []storedChat, gap bool, err error) {
	rs := w.rs
	if !rs.fresh || rs.check != w.check {
		return // a later check covers this room
	}
	// Live chats the server sent before it answered the read are in b.in by now (one
	// connection, read in order): hold them first, so they count as live below.
	for n := len(b.in); n > 0; n-- {
		b.handle(<-b.in)
	}
	b.mu.Lock()
	current := b.rooms[rs.name] == rs
	b.mu.Unlock()
	if !current || !rs.fresh || rs.check != w.check {
		return // the room's last local connection left meanwhile, or a later check runs
	}
	if b.synced != b.reconnects() {
		return // the link went down again: the next sync checks again
	}
	rs.fresh = false
	held := rs.held
	rs.held = nil
	if err != nil {
		// cannot tell what was missed: say so rather than pretend
		b.log.Warn("room window check failed", "room", rs.name, "err", err)
		gap = w.after > 0
	}
	// What came live is authoritative; the stream only fills in what lies before it.
	var first *nats.Msg
	firstLive := uint64(1<<64 - 1)
	for _, m := range held {
		if seq := headerUint(m, "Nats-Sequence"); seq > rs.last && seq < firstLive {
			first, firstLive = m, seq
		}
	}
	var fill []storedChat
	for _, c := range chats {
		if c.Offset > rs.last && c.Offset < firstLive {
			fill = append(fill, c)
		}
	}
	if len(fill) == 0 && first != nil {
		// the first live chat names its room's previous one: when that was delivered
		// already, nothing came in between, whatever the stream no longer holds
		gap = headerUint(first, "Nats-Last-Sequence") > rs.last
	}
	if gap || rs.dropped > max(rs.last, lastOffset(fill)) {
		b.deliver(core.RemoteRoomGap{Room: rs.name})
	}
	rs.dropped = 0
	for _, c := range fill {
		rs.last = c.Offset
		b.deliver(core.RemoteChat{Node: c.origin, Room: c.room, Sender: c.Sender, Content: c.Content, Offset: c.Offset, Time: c.Time})
	}
	for i, m := range held {
		b.onLive(m)
		if rs.fresh { // a hole among the held ones: the new check takes the rest
			for _, m := range held[i+1:] {
				rs.hold(m)
			}
			return
		}
	}
}

func lastOffset(chats []storedChat) uint64 {
	if len(chats) == 0 {
		return 0
	}
	return chats[len(chats)-1].Offset
}

// Recover fetches the chats of room after since for connection conn; the answer is a
// core.RemoteRecovered. The caller has already announced conn in room (RoomCount), so live
// chats are flowing: the answer covers every chat delivered before it.
func (b *Broker) Recover(conn uint64, room string, since uint64) {
	b.mu.Lock()
	epoch := b.epoch
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		ctx, cancel := context.WithTimeout(b.life, b.opts.RequestTimeout)
		defer cancel()
		chats, err := b.fetchRange(ctx, room, since, time.Time{}, 0)
		in := core.RemoteRecovered{Conn: core.ConnID(conn), Room: room, Offset: since}
		switch {
		case err != nil:
			in.Gap = true
		case since > 0 && len(chats) > 0 && chats[0].Offset == since:
			chats = chats[1:] // since is still held: nothing after it was dropped
		case since > 0:
			// since is not (or no longer) a chat of the room: the position is unknown
			in.Gap = true
			if len(chats) == 0 {
				last, err := b.fetchLast(ctx, room)
				if err == nil && len(last) > 0 {
					in.Offset = last[0].Offset
				} else {
					in.Offset = 0
				}
			}
		}
		// The stream keeps History+1 chats per room: when all of them are after since,
		// some may have been dropped. Either way a node serves the newest History.
		if len(chats) > b.opts.History {
			in.Gap = true
			chats = chats[len(chats)-b.opts.History:]
		}
		b.post(func() { b.finishRecover(in, err, chats, epoch) })
	}()
}

func (b *Broker) finishRecover(in core.RemoteRecovered, err error, chats []storedChat, epoch string) {
	b.mu.Lock()
	rs := b.rooms[in.Room]
	now := b.epoch
	b.mu.Unlock()
	if now != epoch {
		// The stream was lost while the fetch was out: what it read is of the old epoch.
		// The new epoch's chats delivered meanwhile (the connection was waiting) follow.
		in.Gap, in.Offset, chats = true, 0, nil
		if rs != nil && rs.last > 0 {
			ctx, cancel := context.WithTimeout(b.life, b.opts.RequestTimeout)
			chats, _ = b.fetchRange(ctx, in.Room, 0, time.Time{}, rs.last+1)
			cancel()
			in.Offset = rs.last
		}
		in.Chats = clusterChats(chats)
		b.deliver(in)
		return
	}
	if len(chats) > 0 {
		in.Offset = chats[len(chats)-1].Offset
	}
	// Live chats delivered while the fetch was out must be covered too.
	if err == nil && rs != nil && rs.last > in.Offset {
		ctx, cancel := context.WithTimeout(b.life, b.opts.RequestTimeout)
		more, err := b.fetchRange(ctx, in.Room, in.Offset+1, time.Time{}, rs.last+1)
		cancel()
		if err != nil {
			in.Gap = true
		}
		chats = append(chats, more...)
		in.Offset = rs.last
	}
	in.Chats = clusterChats(chats)
	b.deliver(in)
}

// storedChat is one room chat as the stream holds it.
type storedChat struct {
	core.ClusterChat
	room   string
	stored time.Time // when the stream stored it (the NATS server's clock)
	origin string    // the node that published it
}

func clusterChats(chats []storedChat) []core.ClusterChat {
	out := make([]core.ClusterChat, len(chats))
	for i, c := range chats {
		out[i] = c.ClusterChat
	}
	return out
}

// fetchRange reads the stored chats of room with from <= offset < upTo (upTo 0: no
// bound), oldest first, page by page. With a non-zero at it starts at the first chat
// the stream stored at or after at instead of from.
func (b *Broker) fetchRange(ctx context.Context, room string, from uint64, at time.Time, upTo uint64) ([]storedChat, error) {
	var all []storedChat
	req := map[string]any{"seq": from, "next_by_subj": roomSubject(room), "batch": pageSize}
	if !at.IsZero() {
		delete(req, "seq")
		req["start_time"] = at.UTC()
	}
	for {
		page, last, more, err := b.directGet(ctx, room, req)
		for _, c := range page {
			if upTo > 0 && c.Offset >= upTo {
				return all, nil
			}
			all = append(all, c)
		}
		if err != nil || !more || last == 0 || upTo > 0 && last+1 >= upTo {
			return all, err
		}
		req = map[string]any{"seq": last + 1, "next_by_subj": roomSubject(room), "batch": pageSize}
	}
}

// fetchLast reads the newest stored chat of room (none: an empty slice).
func (b *Broker) fetchLast(ctx context.Context, room string) ([]storedChat, error) {
	chats, _, _, err := b.directGet(ctx, room, map[string]any{"last_by_subj": roomSubject(room)})
	return chats, err
}

// directGet runs one direct get against the room stream: a batch (req has "batch",
// answered by messages then an end-of-batch status) or a single message. It returns the
// chats, the last sequence read and whether the stream holds more after it.
func (b *Broker) directGet(ctx context.Context, room string, req map[string]any) (chats []storedChat, last uint64, more bool, err error) {
	_, batch := req["batch"]
	inbox := b.nc.NewRespInbox()
	sub, err := b.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, 0, false, err
	}
	defer sub.Unsubscribe()
	data, _ := json.Marshal(req)
	if err := b.nc.PublishRequest(directGetSubj, inbox, data); err != nil {
		return nil, 0, false, err
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return chats, last, false, err
		}
		switch m.Header.Get("Status") {
		case "":
		case "404":
			return chats, last, false, nil // nothing (more) there
		case "204":
			return chats, last, headerUint(m, "Nats-Num-Pending") > 0, nil // end of batch
		case "503":
			return chats, last, false, nats.ErrNoResponders
		default:
			return chats, last, false, errors.New("natsbroker: direct get: " + m.Header.Get("Status") + " " + m.Header.Get("Description"))
		}
		var w wireMsg
		seq := headerUint(m, "Nats-Sequence")
		last = max(last, seq)
		if err := w.decode(m.Data); err == nil && w.Kind == wireChat && seq != 0 {
			stored, _ := time.Parse(time.RFC3339Nano, m.Header.Get("Nats-Time-Stamp"))
			chats = append(chats, storedChat{core.ClusterChat{Sender: w.Sender, Content: w.Content, Offset: seq, Time: w.Time}, room, stored, w.Origin})
		}
		if !batch {
			return chats, last, false, nil
		}
	}
}

func headerUint(m *nats.Msg, key string) uint64 {
	if m.Header == nil {
		return 0
	}
	n, _ := strconv.ParseUint(m.Header.Get(key), 10, 64)
	return n
}
