package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// conn is one WebSocket connection of a Client, with its reader, writer and pinger.
// sendq and pending are guarded by the Client's mu; last and gaps belong to the reader.
type conn struct {
	ws     *websocket.Conn
	ctx    context.Context // ends when the connection does
	cancel context.CancelFunc
	once   sync.Once
	err    error // why it ended; set once, before ctx ends
	wg     sync.WaitGroup

	sendq   []outFrame // frames for the writer, in send order
	signal  chan struct{}
	pending map[string]*waiter

	// Answers seen but not yet acked: a request's answer comes just before its ack
	// ("members:"+room, "online", "pong", "joined:"+room), and rooms whose last join
	// reported a history_gap.
	last map[string]*frame
	gaps map[string]bool
}

type outFrame struct {
	typ websocket.MessageType
	msg []byte
}

// waiter is a request awaiting its answer. kind is the frame its ack stands for ("" a
// bare ack; "members", "online", "pong", "joined"; "rpc_result", which has no ack).
type waiter struct {
	kind      string
	room      string
	rejoin    bool // a join the client sent itself after a reconnect
	reported  bool // its EventRejoined went out (at `joined`, ahead of the replay)
	sentSince bool
	ch        chan answer // buffered 1: answering never waits
}

// maxSendQueue bounds the frames waiting for the writer beyond the chat outbox: every
// other request waits for its answer, so this many would mean that many callers.
const maxSendQueue = 4096

func newConn(ws *websocket.Conn) *conn {
	cn := &conn{
		ws:      ws,
		signal:  make(chan struct{}, 1),
		pending: make(map[string]*waiter),
		last:    make(map[string]*frame),
		gaps:    make(map[string]bool),
	}
	cn.ctx, cn.cancel = context.WithCancel(context.Background())
	return cn
}

func (cn *conn) start(f func()) {
	cn.wg.Add(1)
	go func() {
		defer cn.wg.Done()
		f()
	}()
}

// fail ends the connection with err (the first reason wins).
func (cn *conn) fail(err error) {
	cn.once.Do(func() {
		cn.err = err
		cn.cancel()
	})
}

func (cn *conn) wake() {
	select {
	case cn.signal <- struct{}{}:
	default:
	}
}

// enqueueLocked queues a frame for the writer; c.mu is held, so the queue's order is
// the order requests were made.
func (cn *conn) enqueueLocked(typ websocket.MessageType, msg []byte) error {
	if len(cn.sendq) >= maxSendQueue {
		return ErrQueueFull
	}
	cn.sendq = append(cn.sendq, outFrame{typ, msg})
	cn.wake()
	return nil
}

func (c *Client) writeLoop(cn *conn) {
	for {
		select {
		case <-cn.ctx.Done():
			return
		case <-cn.signal:
		}
		c.mu.Lock()
		q := cn.sendq
		cn.sendq = nil
		c.mu.Unlock()
		for _, f := range q {
			if err := cn.ws.Write(cn.ctx, f.typ, f.msg); err != nil {
				cn.fail(err)
				return
			}
		}
	}
}

// pingLoop notices a dead peer: a ping without a pong within the interval ends the
// connection (the server's own pings keep only the server informed).
func (c *Client) pingLoop(cn *conn) {
	t := time.NewTicker(c.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-cn.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(cn.ctx, c.opts.PingInterval)
		err := cn.ws.Ping(ctx)
		cancel()
		if err != nil && cn.ctx.Err() == nil {
			cn.fail(fmt.Errorf("switchboard: no pong within %v: %w", c.opts.PingInterval, err))
			return
		}
	}
}

// errOverflow ends a connection whose events did not fit (Overflow Reconnect).
var errOverflow = errors.New("switchboard: events channel full")

func (c *Client) readLoop(cn *conn) {
	for {
		typ, p, err := cn.ws.Read(cn.ctx)
		if err != nil {
			cn.fail(err)
			return
		}
		fr, err := decode(c.opts.Format, typ, p)
		if err != nil {
			c.opts.Logger.Warn("switchboard: unreadable message", "err", err)
			continue
		}
		if !c.handle(cn, fr) {
			_ = cn.ws.Close(websocket.StatusNormalClosure, "events not read")
			cn.fail(errOverflow)
			return
		}
	}
}

// handle routes one server message: answers to their callers, the rest to Events. It
// reports false when an event did not fit under the Reconnect policy.
func (c *Client) handle(cn *conn, fr *frame) bool {
	switch fr.Type {
	case "connected":
		return true
	case "members":
		cn.last["members:"+fr.Room] = fr
		return true
	case "online", "pong":
		cn.last[fr.Type] = fr
		return true
	case "ack", "rpc_result":
		c.answer(cn, fr.ID, fr, nil)
		return true
	case "error":
		if fr.ID != "" {
			c.answer(cn, fr.ID, fr, &Error{Code: fr.Code, Message: fr.Message, ID: fr.ID})
			return true
		}
		if fr.Code == historyGap {
			cn.gaps[fr.Room] = true
		}
	case "joined":
		cn.last["joined:"+fr.Room] = fr
		c.mu.Lock()
		if rs := c.rooms[fr.Room]; rs != nil {
			w := cn.joinWaiterLocked(fr.Room)
			switch {
			case w == nil || !w.sentSince: // a fresh join: nothing before it is owed
				rs.since, rs.known = fr.Offset, true
			case !fr.Recovered: // position unknown in this epoch: the replay sets it
				rs.since, rs.known = 0, true
			}
			rs.epoch = fr.Epoch
			if w != nil && w.rejoin {
				w.reported = true
				c.emit(Event{Type: EventRejoined, Room: fr.Room, Epoch: fr.Epoch, Offset: fr.Offset, Recovered: fr.Recovered}, false)
			}
		}
		c.mu.Unlock()
	case "chat":
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.emit(fr.Event, true) {
			// Owed from this chat on; a server without `joined` told no position yet.
			if rs := c.rooms[fr.Room]; rs != nil && !rs.known && fr.Offset > 0 {
				rs.since, rs.known = fr.Offset-1, true
			}
			return false
		}
		if rs := c.rooms[fr.Room]; rs != nil && fr.Offset > 0 {
			rs.since, rs.known = fr.Offset, true
		}
		return true
	case "left":
		c.forget(fr.Room)
	}
	return c.emit(fr.Event, true)
}

// joinWaiterLocked finds the join in flight for room, if any.
func (cn *conn) joinWaiterLocked(room string) *waiter {
	for _, w := range cn.pending {
		if w.kind == "joined" && w.room == room {
			return w
		}
	}
	return nil
}

// answer settles the request with id: a chat in the outbox, or a waiter of cn. fr is the
// ack (or rpc_result, or error); the answer a waiter wants came just before it.
func (c *Client) answer(cn *conn, id string, fr *frame, err error) {
	c.mu.Lock()
	for i, cr := range c.outbox {
		if cr.id == id {
			c.outbox = append(c.outbox[:i], c.outbox[i+1:]...)
			c.mu.Unlock()
			cr.ch <- answer{fr, err}
			return
		}
	}
	w := cn.pending[id]
	delete(cn.pending, id)
	if w != nil && w.rejoin && err != nil && permanent(err) {
		c.forgetLocked(w.room)
	}
	c.mu.Unlock()
	if w == nil {
		return // its caller gave up
	}
	res := fr
	switch w.kind {
	case "members":
		res = cn.last["members:"+w.room]
	case "online", "pong":
		res = cn.last[w.kind]
	case "joined":
		res = cn.last["joined:"+w.room]
		if res == nil { // a server without `joined` (v1): judge by history_gap
			res = &frame{Event: Event{Type: "joined", Room: w.room, Recovered: w.sentSince && !cn.gaps[w.room]}}
		}
		delete(cn.last, "joined:"+w.room)
		delete(cn.gaps, w.room)
	}
	if err == nil && res == nil {
		err = fmt.Errorf("switchboard: ack without its %s answer", w.kind)
	}
	if w.rejoin && !w.reported { // a refusal, or a server without `joined`
		ev := Event{Type: EventRejoined, Room: w.room, Err: err}
		if err == nil {
			ev.Epoch, ev.Offset, ev.Recovered = res.Epoch, res.Offset, res.Recovered
		}
		c.emit(ev, false)
	}
	w.ch <- answer{res, err}
}

// permanent reports whether a refused join would be refused again (everything but
// rate_limited and unavailable).
func permanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code != ErrRateLimited.Code && e.Code != "unavailable"
}

// rejoinLocked queues a join for every wanted room on a new connection, with `since`
// and `epoch` where the client knows its position.
func (c *Client) rejoinLocked(cn *conn) {
	for _, room := range c.order {
		rs := c.rooms[room]
		r := request{Type: "join", Room: room, ID: c.nextID()}
		if rs.known {
			since := rs.since
			r.Since, r.Epoch = &since, rs.epoch
		}
		typ, msg, err := encode(c.opts.Format, &r)
		if err != nil {
			continue
		}
		cn.pending[r.ID] = &waiter{kind: "joined", room: room, rejoin: true, sentSince: r.Since != nil, ch: make(chan answer, 1)}
		cn.sendq = append(cn.sendq, outFrame{typ, msg})
	}
}

// refreshLoop sends `refresh` with a fresh token before the current one's exp (§8.2).
func (c *Client) refreshLoop(cn *conn, token string) {
	for {
		exp, ok := expiry(token)
		if !ok {
			return
		}
		left := time.Until(exp)
		lead := min(left/5, time.Minute)
		t := time.NewTimer(left - lead)
		select {
		case <-cn.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		next, err := c.opts.Token(cn.ctx)
		if err == nil {
			_, err = c.request(cn.ctx, func() (request, error) { return request{Type: "refresh", Token: next}, nil }, "", "")
		}
		if err != nil {
			if cn.ctx.Err() == nil && !errors.Is(err, ErrUnknownType) { // a server without refresh: it closes 4002
				c.emit(Event{Type: EventRefreshFailed, Err: err}, false)
			}
			return
		}
		token = next
	}
}
