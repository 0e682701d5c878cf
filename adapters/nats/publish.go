package natsbroker

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/switchboard-ws/switchboard/core"
)

// pendingPub is a chat sent to the stream and not yet acknowledged. It is resent with the
// same Nats-Msg-Id until stored, so a retry after an outage is never stored twice.
type pendingPub struct {
	tok   string
	msg   *nats.Msg
	ref   uint64
	first time.Time
	sent  time.Time // zero: not sent on the current link yet
	done  bool      // acknowledged or given up: skipped in order, trimmed from its front
}

// pendingPubs are the chats not yet stored, in the order they were published: they are
// (re)sent in that order, so one sender's chats keep their order across an outage (a
// later chat is never sent before an earlier one that is not yet stored).
type pendingPubs struct {
	byTok map[string]*pendingPub
	order []*pendingPub
}

func (q *pendingPubs) push(p *pendingPub) {
	q.byTok[p.tok] = p
	q.order = append(q.order, p)
}

// take removes the chat named tok and returns it (nil when unknown).
func (q *pendingPubs) take(tok string) *pendingPub {
	p := q.byTok[tok]
	if p == nil {
		return nil
	}
	delete(q.byTok, tok)
	p.done = true
	q.trim()
	return p
}

// trim drops finished chats from the front of order, and compacts order when most of it
// is finished, so it stays proportional to what is pending.
func (q *pendingPubs) trim() {
	i := 0
	for i < len(q.order) && q.order[i].done {
		q.order[i] = nil
		i++
	}
	q.order = q.order[i:]
	if len(q.order) > 64 && len(q.byTok) < len(q.order)/4 {
		live := make([]*pendingPub, 0, 2*len(q.byTok))
		for _, p := range q.order {
			if !p.done {
				live = append(live, p)
			}
		}
		q.order = live
	}
}

const (
	ackWait     = 2 * time.Second  // resend a chat whose ack has not come by then
	publishSpan = 60 * time.Second // give up on a chat not stored by then
	maxPending  = 1 << 16          // chats waiting for the stream at most (the rest are refused)
)

// PublishChat sends a room chat to the stream. Every node with connections in the room,
// this one included, delivers it when it comes back sequenced (core.RemoteChat). A non-zero
// ref asks for a core.RemotePublished answer with the offset. A non-empty dedupe names the chat for
// the stream's duplicate window: the same dedupe published again, from any node, is not
// stored again and is answered with the first one's offset.
func (b *Broker) PublishChat(room, sender string, content []byte, at time.Time, ref uint64, dedupe string) {
	w := wireMsg{Kind: wireChat, Origin: b.opts.NodeID, Sender: sender, Room: room, Time: at, Content: content}
	b.mu.Lock()
	if len(b.pubs.byTok) >= maxPending {
		b.mu.Unlock()
		b.log.Warn("chat refused: stream backlog full", "room", room)
		if ref != 0 {
			b.post(func() { b.deliver(core.RemotePublished{Ref: ref, Failed: true}) })
		}
		return
	}
	b.pubCount++
	tok := strconv.FormatUint(b.pubCount, 36)
	id := b.opts.NodeID + "/" + strconv.FormatInt(b.incarnation, 36) + "/" + tok
	if dedupe != "" {
		// the client's id may hold any byte: base64 keeps the header one clean line
		id = "d/" + base64.RawURLEncoding.EncodeToString([]byte(dedupe))
	}
	msg := &nats.Msg{
		Subject: roomSubject(room),
		Reply:   b.ackPrefix + tok,
		Header:  nats.Header{"Nats-Msg-Id": []string{id}},
		Data:    w.encode(nil),
	}
	now := time.Now()
	p := &pendingPub{tok: tok, msg: msg, ref: ref, first: now}
	b.pubs.push(p)
	if b.flowing.Load() {
		b.sendLocked(p, now)
	}
	b.mu.Unlock()
}

func (b *Broker) sendLocked(p *pendingPub, now time.Time) {
	p.sent = now
	if err := b.nc.PublishMsg(p.msg); err != nil {
		b.log.Warn("chat publish failed, will retry", "subject", p.msg.Subject, "err", err)
	}
}

// pause stops sending chats (the link is down, or the stream is not there): they wait in
// order until resume.
func (b *Broker) pause() {
	b.mu.Lock()
	b.flowing.Store(false)
	for _, p := range b.pubs.order {
		p.sent = time.Time{}
	}
	b.mu.Unlock()
}

// resume sends every waiting chat, oldest first, then lets new ones go straight out.
func (b *Broker) resume() {
	now := time.Now()
	b.mu.Lock()
	for _, p := range b.pubs.order {
		if !p.done {
			b.sendLocked(p, now)
		}
	}
	b.flowing.Store(true)
	b.mu.Unlock()
}

type pubAck struct {
	Seq       uint64 `json:"seq"`
	Duplicate bool   `json:"duplicate"`
	Error     *struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
	} `json:"error"`
}

func (b *Broker) onAck(m *nats.Msg) {
	tok := m.Subject[len(b.ackPrefix):]
	var ack pubAck
	err := json.Unmarshal(m.Data, &ack)
	if err != nil || ack.Error != nil || ack.Seq == 0 {
		// No responders (the stream is gone: NATS restarted on an empty store, or it was
		// deleted) or a stream error. Sending later chats now could store them before this
		// one: stop, set the stream up again, then resend everything in order.
		b.log.Warn("chat not stored, setting the stream up again", "status", m.Header.Get("Status"))
		b.pause()
		b.needSetup.Store(true)
		return
	}
	b.mu.Lock()
	p := b.pubs.take(tok)
	b.mu.Unlock()
	if p != nil && p.ref != 0 {
		// a duplicate's Seq is the first one's: the chat was delivered once, at that offset
		b.deliver(core.RemotePublished{Ref: p.ref, Offset: ack.Seq})
	}
}

// retryPublishes resends, in order, the chats whose ack is late, and gives up on those
// pending for longer than publishSpan.
func (b *Broker) retryPublishes(now time.Time) {
	var failed []*pendingPub
	b.mu.Lock()
	for _, p := range b.pubs.order {
		switch {
		case p.done:
		case now.Sub(p.first) > publishSpan:
			delete(b.pubs.byTok, p.tok)
			p.done = true
			failed = append(failed, p)
		case b.flowing.Load() && now.Sub(p.sent) >= ackWait:
			b.sendLocked(p, now)
		}
	}
	b.pubs.trim()
	b.mu.Unlock()
	for _, p := range failed {
		b.log.Warn("chat dropped: not stored in time", "subject", p.msg.Subject)
		if p.ref != 0 {
			b.deliver(core.RemotePublished{Ref: p.ref, Failed: true})
		}
	}
}
