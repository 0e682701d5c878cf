package core

import (
	"container/heap"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// Asks are decisions the hub cannot take itself because they need I/O or a secret: a
// token to verify, later a backend hook. The hub emits an ActionAsk, holds the
// connection's later requests in order, and goes on when the adapter steps the
// EventAnswer; the request that asked is then replayed with the answer.

// AskKind says what an Ask wants to know.
type AskKind uint8

const (
	AskRefresh   AskKind = iota // verify Token as a connection token (refresh, PROTOCOL.md §8.2)
	AskRoomToken                // verify Token as a room token for Room (§8.1)
	AskJoin                     // may User join Room, a `join: proxy` room (§9.1, hooks.go)
	AskPublish                  // may User send Content (Type chat or event) to Room, a `publish: proxy` room
	AskRPC                      // what does the backend answer to Method with Data
)

// Ask is one question to the adapter; answer it with an EventAnswer carrying its ID
// and Conn. Token and Room are copies the adapter may keep.
type Ask struct {
	ID    uint64
	Conn  ConnID
	Kind  AskKind
	Token string
	Room  string
	// The backend's asks (PROTOCOL.md §9.1) also carry the connection's user and what
	// was sent: copies the adapter may keep.
	User    string
	Type    proto.RequestType // AskPublish: ReqChat or ReqEvent
	Event   string            // AskPublish of an event: its name
	Content []byte            // AskPublish
	Method  string            // AskRPC
	Data    []byte            // AskRPC: JSON text (null when the client sent none)
}

// Answer is the adapter's verdict on an Ask. Code is proto.OK when Token verified, with
// what it says in Identity (a room token: User = sub, Rooms = [room], Publish = [room]
// when it grants publishing, Expires = exp); any other code refuses it. An answer for a
// connection that has gone since is ignored.
//
// For the backend's asks (hooks.go), Code proto.OK allows the request (a join, a chat
// or event, an rpc whose result is Result) and any other code refuses it with an error
// frame of that code, or of ErrorCode when the backend named its own, and Message as its
// text (empty: the server's sentence). proto.Unavailable is the answer of a backend
// that failed or took too long.
type Answer struct {
	ID       uint64
	Conn     ConnID
	Code     proto.Code
	Identity Identity

	ErrorCode string
	Message   string
	Rewrite   bool   // AskPublish allowed: Content replaces what was sent
	Content   []byte // AskPublish
	Result    []byte // AskRPC allowed: one JSON value (empty: null)
}

// maxHeld and maxHeldBytes bound the requests a connection may send while it waits for
// an answer; more are refused limit_exceeded.
const (
	maxHeld      = 32
	maxHeldBytes = 256 << 10
)

const msgTooManyHeld = "too many requests waiting for an earlier one's answer"

// waiting is a connection's pending ask: its id, the request that asked (replayed with
// the answer) and the requests held behind it.
type waiting struct {
	ask   uint64
	kind  AskKind
	asked []byte
	held  [][]byte
	bytes int // of held
}

// ask emits an Ask of kind for req (the frame being applied, h.raw) and makes c wait.
func (h *Hub) ask(c *conn, kind AskKind, req *proto.Request, out *Outbox) {
	if c.grants == nil {
		c.grants = &grants{}
	}
	h.asks++
	w := &c.grants.waiting
	w.ask, w.kind, w.asked = h.asks, kind, append([]byte(nil), h.raw...)
	a := &Ask{ID: h.asks, Conn: c.id, Kind: kind, Token: string(req.Token), Room: string(req.Room)}
	if kind >= AskJoin {
		a.fillBackend(c, req)
	}
	out.Actions = append(out.Actions, Action{Kind: ActionAsk, Ask: a})
}

// hold keeps payload for later when c waits for an answer, and reports whether it did.
func (h *Hub) hold(c *conn, payload []byte, out *Outbox) bool {
	if c.grants == nil || c.grants.ask == 0 {
		return false
	}
	w := &c.grants.waiting
	if len(w.held) >= maxHeld || w.bytes+len(payload) > maxHeldBytes {
		_ = proto.Parse(c.format, payload, &h.req) // for the id to echo, if any
		h.fail(c, proto.LimitExceeded, msgTooManyHeld, &h.req, out)
		return true
	}
	w.held = append(w.held, append([]byte(nil), payload...))
	w.bytes += len(payload)
	return true
}

// answer applies the adapter's verdict: the request that asked is replayed with it, then
// the held requests in order, until one of them asks again.
func (h *Hub) answer(a *Answer, out *Outbox) {
	c := h.conns[a.Conn]
	if c == nil || c.grants == nil || c.grants.ask != a.ID || a.ID == 0 {
		return // the connection is gone (or the answer is not the one awaited)
	}
	w := &c.grants.waiting
	payload, kind := w.asked, w.kind
	w.ask, w.asked = 0, nil
	if perr := proto.Parse(c.format, payload, &h.req); perr == nil {
		h.raw = payload
		h.answering = a
		switch kind {
		case AskRefresh:
			h.refreshed(c, &h.req, a, out)
		case AskRoomToken, AskJoin:
			h.reqJoin(c, &h.req, out)
		case AskPublish:
			if h.req.Type == proto.ReqEvent {
				h.reqEvent(c, &h.req, out)
			} else {
				h.reqChat(c, &h.req, out)
			}
		case AskRPC:
			h.reqRPC(c, &h.req, out)
		}
		h.answering = nil
	}
	for h.conns[c.id] == c && w.ask == 0 && len(w.held) > 0 {
		next := w.held[0]
		w.held[0] = nil
		w.held = w.held[1:]
		w.bytes -= len(next)
		h.frame(c, next, out) // not held: c waits for nothing now
	}
	if len(w.held) == 0 {
		w.held = nil
	}
}

// reqRefresh asks for the new token to be verified.
func (h *Hub) reqRefresh(c *conn, req *proto.Request, out *Outbox) {
	h.ask(c, AskRefresh, req, out)
}

// refreshed applies a verified (or refused) refresh: an invalid token changes nothing
// (error unauthorized), another user's closes 4001, a valid one replaces the grants
// and the expiry and takes c out of the rooms no longer granted.
func (h *Hub) refreshed(c *conn, req *proto.Request, a *Answer, out *Outbox) {
	switch {
	case a.Code != proto.OK:
		h.fail(c, proto.Unauthorized, msgBadRefresh, req, out)
		return
	case a.Identity.User != c.user.id:
		h.closeConn(c, CloseUnauthorized, ReasonUnauthorized, out)
		return
	}
	c.setGrants(&a.Identity)
	h.watchExpiry(c)
	h.revoke(c, out)
	h.ack(c, req, out)
}

const msgBadRefresh = "the new token is not valid"

// expiry is when one connection's token expires; the hub's expiries form a min-heap,
// checked on every tick, so no connection needs a timer of its own. An entry whose time
// no longer matches its connection's (refreshed or gone) is skipped when it surfaces.
type expiry struct {
	at   int64
	conn ConnID
}

type expiryHeap []expiry

func (e expiryHeap) Len() int           { return len(e) }
func (e expiryHeap) Less(i, j int) bool { return e[i].at < e[j].at }
func (e expiryHeap) Swap(i, j int)      { e[i], e[j] = e[j], e[i] }
func (e *expiryHeap) Push(x any)        { *e = append(*e, x.(expiry)) }
func (e *expiryHeap) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

// watchExpiry schedules the check of c's token expiry, when it has one.
func (h *Hub) watchExpiry(c *conn) {
	if c.grants != nil && c.grants.expires != 0 {
		heap.Push(&h.expiries, expiry{at: c.grants.expires, conn: c.id})
	}
}

// expire closes 4002 every connection whose token expired by now.
func (h *Hub) expire(out *Outbox) {
	now := h.now.UnixNano()
	for len(h.expiries) > 0 && h.expiries[0].at <= now {
		e := heap.Pop(&h.expiries).(expiry)
		if c := h.conns[e.conn]; c != nil && c.grants != nil && c.grants.expires == e.at {
			h.closeConn(c, CloseTokenExpired, ReasonTokenExpired, out)
		}
	}
}
