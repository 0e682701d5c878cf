package natsbroker

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// roomSub is this node's live subscription to one room, open while the room has local
// connections. last is the newest offset delivered (dispatcher-owned; 0 before the first).
type roomSub struct {
	name    string
	conns   int            // local connections in the room
	members map[string]int // local connections per user
	sub     *nats.Subscription
	last    uint64

	// A new subscription reaches the server a moment after the join it serves: chats the
	// stream stored in between would never come live. Until the broker has checked that
	// window (checkJoinWindow), live chats wait in held (dispatcher-owned, like last).
	fresh  bool
	joined time.Time
	held   []*nats.Msg
}

// joinSkew widens the join window for clock differences between a node and NATS.
const joinSkew = 20 * time.Millisecond

// ErrPublish is the error of a chat that could not be stored before its retries ran out.
var ErrPublish = errors.New("natsbroker: chat not stored")

// pendingPub is a chat sent to the stream and not yet acknowledged. It is resent with the
// same Nats-Msg-Id until stored, so a retry after an outage is never stored twice.
type pendingPub struct {
	msg   *nats.Msg
	ref   uint64
	first time.Time
	sent  time.Time
}

const (
	ackWait     = 2 * time.Second  // resend a chat whose ack has not come by then
	publishSpan = 60 * time.Second // give up on a chat not stored by then
)

// PublishChat sends a room chat to the stream. Every node with connections in the room,
// this one included, delivers it when it comes back sequenced (KindChat). A non-zero ref
// asks for a KindPublished answer with the offset.
func (b *Broker) PublishChat(room, sender string, content []byte, at time.Time, ref uint64) {
	w := wireMsg{Kind: wireChat, Origin: b.opts.NodeID, Sender: sender, Room: room, Time: at, Content: content}
	b.mu.Lock()
	b.pubCount++
	n := b.pubCount
	tok := strconv.FormatUint(n, 36)
	msg := &nats.Msg{
		Subject: roomSubject(room),
		Reply:   b.ackPrefix + tok,
		Header:  nats.Header{"Nats-Msg-Id": []string{b.opts.NodeID + "/" + strconv.FormatInt(b.incarnation, 36) + "/" + tok}},
		Data:    w.encode(nil),
	}
	now := time.Now()
	b.pubs[tok] = &pendingPub{msg: msg, ref: ref, first: now, sent: now}
	b.mu.Unlock()
	if err := b.nc.PublishMsg(msg); err != nil {
		b.log.Warn("chat publish failed, will retry", "room", room, "err", err)
	}
}

type pubAck struct {
	Seq   uint64 `json:"seq"`
	Error *struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
	} `json:"error"`
}

func (b *Broker) onAck(m *nats.Msg) {
	tok := m.Subject[len(b.ackPrefix):]
	var ack pubAck
	err := json.Unmarshal(m.Data, &ack)
	if err != nil || ack.Error != nil || ack.Seq == 0 {
		// No responders (stream not there yet) or a stream error: resend on a later tick.
		b.mu.Lock()
		if p := b.pubs[tok]; p != nil {
			p.sent = time.Now().Add(-ackWait + 250*time.Millisecond)
		}
		b.mu.Unlock()
		return
	}
	b.mu.Lock()
	p := b.pubs[tok]
	delete(b.pubs, tok)
	b.mu.Unlock()
	if p != nil && p.ref != 0 {
		b.deliver(Inbound{Kind: KindPublished, Ref: p.ref, Offset: ack.Seq})
	}
}

func (b *Broker) retryPublishes(now time.Time) {
	if !b.linkUp.Load() {
		return // nats.go holds what was sent while down; resend once it is back
	}
	var failed []*pendingPub
	b.mu.Lock()
	for tok, p := range b.pubs {
		if now.Sub(p.first) > publishSpan {
			delete(b.pubs, tok)
			failed = append(failed, p)
			continue
		}
		if now.Sub(p.sent) >= ackWait {
			p.sent = now
			_ = b.nc.PublishMsg(p.msg)
		}
	}
	b.mu.Unlock()
	for _, p := range failed {
		b.log.Warn("chat dropped: not stored in time", "subject", p.msg.Subject)
		if p.ref != 0 {
			b.deliver(Inbound{Kind: KindPublished, Ref: p.ref, Err: ErrPublish})
		}
	}
}

// onLive delivers one chat republished by the stream, first fetching any chats of the
// room this node missed (NATS down, slow consumer), so delivery has no gap.
func (b *Broker) onLive(m *nats.Msg) {
	b.mu.Lock()
	rs := b.bySub[m.Sub]
	b.mu.Unlock()
	if rs == nil {
		return // a subscription already closed
	}
	if rs.fresh {
		rs.held = append(rs.held, m)
		return
	}
	seq := headerUint(m, "Nats-Sequence")
	if seq == 0 || seq <= rs.last {
		return // a duplicate of what a catch-up already delivered
	}
	if prev := headerUint(m, "Nats-Last-Sequence"); rs.last > 0 && prev > rs.last {
		b.catchUp(rs, seq)
		if seq <= rs.last {
			return
		}
	}
	var w wireMsg
	if err := w.decode(m.Data); err != nil || w.Kind != wireChat {
		rs.last = seq
		return
	}
	rs.last = seq
	b.deliver(Inbound{Kind: KindChat, Room: rs.name, Sender: w.Sender, Content: w.Content, Offset: seq, Time: w.Time, Node: w.Origin})
}

// checkJoinWindow runs once per new room subscription: when the server has it (a flush
// round trip), chats stored since the join that the subscription may have missed are
// read from the stream; finishJoinWindow delivers them before the held live ones.
func (b *Broker) checkJoinWindow(rs *roomSub) {
	defer b.wg.Done()
	ctx, cancel := context.WithTimeout(b.life, b.opts.RequestTimeout)
	defer cancel()
	var chats []Chat
	missed := false
	err := b.nc.FlushWithContext(ctx)
	if err == nil {
		chats, err = b.fetchLast(ctx, rs.name)
		since := rs.joined.Add(-joinSkew)
		if err == nil && len(chats) == 1 && !chats[0].stored.Before(since) {
			missed = true
			chats, err = b.fetchStoredSince(ctx, rs.name, since, b.opts.History+1)
		}
	}
	b.post(func() { b.finishJoinWindow(rs, chats, missed, err) })
}

// finishJoinWindow delivers the chats of the join window (missed), or only takes the
// room's newest offset as where live delivery continues from, then the held live chats.
func (b *Broker) finishJoinWindow(rs *roomSub, chats []Chat, missed bool, err error) {
	if !rs.fresh {
		return
	}
	rs.fresh = false
	held := rs.held
	rs.held = nil
	b.mu.Lock()
	current := b.rooms[rs.name] == rs
	b.mu.Unlock()
	if !current {
		return // the room's last local connection left meanwhile
	}
	if err != nil {
		b.log.Warn("join window check failed", "room", rs.name, "err", err)
	}
	// What came live is authoritative; the stream only fills in what lies before it.
	firstLive := uint64(1<<64 - 1)
	for _, m := range held {
		if seq := headerUint(m, "Nats-Sequence"); seq != 0 {
			firstLive = min(firstLive, seq)
		}
	}
	for _, c := range chats {
		if c.Offset <= rs.last || c.Offset >= firstLive {
			continue
		}
		rs.last = c.Offset
		if missed {
			b.deliver(Inbound{Kind: KindChat, Room: c.Room, Sender: c.Sender, Content: c.Content, Offset: c.Offset, Time: c.Time})
		}
	}
	for _, m := range held {
		b.onLive(m)
	}
}

// catchUp delivers the stored chats of rs after rs.last and before upTo (0: all).
func (b *Broker) catchUp(rs *roomSub, upTo uint64) {
	if rs.last == 0 {
		return // nothing delivered yet: nothing to continue from
	}
	ctx, cancel := context.WithTimeout(b.life, b.opts.RequestTimeout)
	defer cancel()
	chats, err := b.fetchRoom(ctx, rs.name, rs.last, b.opts.History+1)
	if err != nil {
		b.log.Warn("room catch-up failed", "room", rs.name, "err", err)
		if upTo > 0 {
			b.deliver(Inbound{Kind: KindRoomGap, Room: rs.name})
		}
		return
	}
	if len(chats) > b.opts.History {
		b.deliver(Inbound{Kind: KindRoomGap, Room: rs.name}) // the oldest missed ones may be gone
	}
	for _, c := range chats {
		if upTo > 0 && c.Offset >= upTo {
			break
		}
		rs.last = c.Offset
		b.deliver(Inbound{Kind: KindChat, Room: c.Room, Sender: c.Sender, Content: c.Content, Offset: c.Offset, Time: c.Time})
	}
}

// Recover fetches the chats of room after since for connection conn; the answer is a
// KindRecovered. The caller has already announced conn in room (RoomCount), so live
// chats are flowing: the answer covers every chat delivered before it.
func (b *Broker) Recover(conn uint64, room string, since uint64) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		ctx, cancel := context.WithTimeout(b.life, b.opts.RequestTimeout)
		defer cancel()
		chats, err := b.fetchRoom(ctx, room, since, b.opts.History+1)
		b.post(func() { b.finishRecover(conn, room, since, chats, err) })
	}()
}

func (b *Broker) finishRecover(conn uint64, room string, since uint64, chats []Chat, err error) {
	in := Inbound{Kind: KindRecovered, Conn: conn, Room: room, Since: since, Offset: since, Err: err}
	if err == nil {
		// The stream keeps History+1 chats per room: when all of them are after since,
		// the chat just after since may have been dropped, and the oldest one held is
		// beyond the History a single node would keep. Either way: a gap.
		if len(chats) > b.opts.History {
			in.Gap = true
			chats = chats[len(chats)-b.opts.History:]
		}
		newest := since
		if len(chats) > 0 {
			newest = chats[len(chats)-1].Offset
		}
		// Live chats delivered while the fetch was out must be covered too.
		b.mu.Lock()
		rs := b.rooms[room]
		b.mu.Unlock()
		if rs != nil && rs.last > newest {
			ctx, cancel := context.WithTimeout(b.life, b.opts.RequestTimeout)
			more, err := b.fetchRoom(ctx, room, newest, int(rs.last-newest))
			cancel()
			if err != nil {
				in.Err = err
			}
			for _, c := range more {
				if c.Offset > rs.last {
					break
				}
				chats = append(chats, c)
			}
		}
		if len(chats) > 0 {
			in.Offset = chats[len(chats)-1].Offset
		}
		if rs != nil && rs.last > in.Offset {
			in.Offset = rs.last
		}
	} else {
		in.Gap = true
	}
	in.Chats = chats
	b.deliver(in)
}

// fetchRoom reads up to max stored chats of room with offset > after, oldest first, with
// one batched direct get.
func (b *Broker) fetchRoom(ctx context.Context, room string, after uint64, max int) ([]Chat, error) {
	if max <= 0 {
		return nil, nil
	}
	return b.directGet(ctx, room, map[string]any{"seq": after + 1, "next_by_subj": roomSubject(room), "batch": max})
}

// fetchLast reads the newest stored chat of room (none: an empty slice).
func (b *Broker) fetchLast(ctx context.Context, room string) ([]Chat, error) {
	return b.directGet(ctx, room, map[string]any{"last_by_subj": roomSubject(room)})
}

// fetchStoredSince reads up to max chats of room that the stream stored at or after t.
func (b *Broker) fetchStoredSince(ctx context.Context, room string, t time.Time, max int) ([]Chat, error) {
	return b.directGet(ctx, room, map[string]any{"start_time": t.UTC(), "next_by_subj": roomSubject(room), "batch": max})
}

// directGet runs one direct get against the room stream: a batch (req has "batch",
// answered by messages then an end-of-batch status) or a single message.
func (b *Broker) directGet(ctx context.Context, room string, req map[string]any) ([]Chat, error) {
	_, batch := req["batch"]
	inbox := b.nc.NewRespInbox()
	sub, err := b.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	data, _ := json.Marshal(req)
	if err := b.nc.PublishRequest(directGetSubj, inbox, data); err != nil {
		return nil, err
	}
	var chats []Chat
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return chats, err
		}
		switch m.Header.Get("Status") {
		case "":
		case "404":
			return chats, nil // nothing after `after`
		case "204":
			return chats, nil // end of batch
		case "503":
			return chats, nats.ErrNoResponders
		default:
			return chats, errors.New("natsbroker: direct get: " + m.Header.Get("Status") + " " + m.Header.Get("Description"))
		}
		var w wireMsg
		seq := headerUint(m, "Nats-Sequence")
		if err := w.decode(m.Data); err == nil && w.Kind == wireChat && seq != 0 {
			stored, _ := time.Parse(time.RFC3339Nano, m.Header.Get("Nats-Time-Stamp"))
			chats = append(chats, Chat{Room: room, Sender: w.Sender, Content: w.Content, Offset: seq, Time: w.Time, stored: stored})
		}
		if !batch {
			return chats, nil
		}
	}
}
