package client

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
)

// request sends the message build returns, with a fresh id, on the open connection
// (waiting for one while there is none), and waits for its answer of kind. build runs
// with c.mu held, just before the message is queued, so it sees and may change the
// client's state atomically with the send.
func (c *Client) request(ctx context.Context, build func() (request, error), kind, room string) (*frame, error) {
	for {
		c.mu.Lock()
		if c.err != nil {
			c.mu.Unlock()
			return nil, c.err
		}
		cn := c.conn
		if cn == nil {
			ready := c.ready
			c.mu.Unlock()
			select {
			case <-ready:
				continue
			case <-c.done:
				return nil, c.Err()
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		r, err := build()
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		r.ID = c.nextID()
		typ, msg, err := encode(c.opts.Format, &r)
		if err == nil {
			err = cn.enqueueLocked(typ, msg)
		}
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		w := &waiter{kind: kind, room: room, sentSince: r.Since != nil, ch: make(chan answer, 1)}
		cn.pending[r.ID] = w
		c.mu.Unlock()
		select {
		case a := <-w.ch:
			return a.fr, a.err
		case <-ctx.Done():
			c.mu.Lock()
			delete(cn.pending, r.ID)
			c.mu.Unlock()
			return nil, ctx.Err()
		}
	}
}

func (c *Client) ack(ctx context.Context, r request) error {
	_, err := c.request(ctx, func() (request, error) { return r, nil }, "", "")
	return err
}

// JoinResult is a join's outcome (PROTOCOL.md §10.1): the room's epoch and last offset,
// and whether every message after the `since` it was joined with follows. A server
// that predates `joined` leaves Epoch and Offset empty.
type JoinResult struct {
	Epoch     string
	Offset    uint64
	Recovered bool
}

// Join joins room and remembers it: after every reconnect the client joins it again
// with `since` and `epoch`, so the server replays what was missed (EventRejoined reports
// each). A refusal is an *Error (ErrForbidden, ErrLimitExceeded …) and the room is not
// remembered. While disconnected, Join waits for the connection (or ctx).
func (c *Client) Join(ctx context.Context, room string) (JoinResult, error) {
	return c.join(ctx, room, nil)
}

// JoinAt joins room from a position kept earlier (Position): the server replays every
// held message after offset when epoch is still the room's, else it reports a gap
// (Recovered false) and sends what it holds.
func (c *Client) JoinAt(ctx context.Context, room, epoch string, offset uint64) (JoinResult, error) {
	return c.join(ctx, room, &roomState{since: offset, known: true, epoch: epoch})
}

func (c *Client) join(ctx context.Context, room string, at *roomState) (JoinResult, error) {
	fr, err := c.request(ctx, func() (request, error) {
		rs := c.rooms[room]
		if rs == nil {
			rs = &roomState{}
			c.rooms[room] = rs
			c.order = append(c.order, room)
		}
		if at != nil {
			*rs = *at
		}
		r := request{Type: "join", Room: room}
		if rs.known {
			since := rs.since
			r.Since, r.Epoch = &since, rs.epoch
		}
		return r, nil
	}, "joined", room)
	if err != nil {
		if permanent(err) {
			c.forget(room)
		}
		return JoinResult{}, err
	}
	return JoinResult{Epoch: fr.Epoch, Offset: fr.Offset, Recovered: fr.Recovered}, nil
}

// Leave forgets room and leaves it. While disconnected there is nothing to leave: the
// room is only forgotten, so the next connection does not rejoin it.
func (c *Client) Leave(ctx context.Context, room string) error {
	c.mu.Lock()
	c.forgetLocked(room)
	connected := c.conn != nil
	c.mu.Unlock()
	if !connected {
		return nil
	}
	err := c.ack(ctx, request{Type: "leave", Room: room})
	if errors.Is(err, ErrNotMember) { // connected meanwhile, without rejoining it
		return nil
	}
	return err
}

// Rooms lists the rooms the client is in (or will rejoin), in join order.
func (c *Client) Rooms() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.order)
}

func (c *Client) forget(room string) {
	c.mu.Lock()
	c.forgetLocked(room)
	c.mu.Unlock()
}

func (c *Client) forgetLocked(room string) {
	if _, ok := c.rooms[room]; !ok {
		return
	}
	delete(c.rooms, room)
	c.order = slices.DeleteFunc(c.order, func(r string) bool { return r == room })
}

// ChatResult is an acked chat: its id and, from servers with idempotent chat (§10.4),
// its offset in the room.
type ChatResult struct {
	ID     string
	Offset uint64
}

// Chat sends content to room and waits for the server's ack. Unlike other requests it
// survives reconnects: a chat not yet acked stays queued (at most Options.MaxQueued) and
// is sent again, with the same id and in order, after the rooms are rejoined, so the
// server stores it once. When ctx ends first the chat is no longer resent, but a copy
// already sent may still be delivered.
func (c *Client) Chat(ctx context.Context, room, content string) (ChatResult, error) {
	id := c.nextID()
	typ, msg, err := encode(c.opts.Format, &request{Type: "chat", ID: id, Room: room, Content: &content})
	if err != nil {
		return ChatResult{}, err
	}
	cr := &chatReq{id: id, typ: typ, msg: msg, ch: make(chan answer, 1)}
	c.mu.Lock()
	switch {
	case c.err != nil:
		err = c.err
	case len(c.outbox) >= c.opts.MaxQueued:
		err = ErrQueueFull
	case c.conn != nil:
		err = c.conn.enqueueLocked(typ, msg)
	}
	if err == nil {
		c.outbox = append(c.outbox, cr)
	}
	c.mu.Unlock()
	if err != nil {
		return ChatResult{}, err
	}
	select {
	case a := <-cr.ch:
		if a.err != nil {
			return ChatResult{}, a.err
		}
		return ChatResult{ID: id, Offset: a.fr.Offset}, nil
	case <-ctx.Done():
		c.mu.Lock()
		c.outbox = slices.DeleteFunc(c.outbox, func(q *chatReq) bool { return q == cr })
		c.mu.Unlock()
		return ChatResult{}, ctx.Err()
	}
}

// Private sends content to every connection of user to (ErrUserOffline when it has
// none).
func (c *Client) Private(ctx context.Context, to, content string) error {
	return c.ack(ctx, request{Type: "private", To: to, Content: &content})
}

// Broadcast sends content to every connection (ErrForbidden when the server does not
// allow client broadcasts).
func (c *Client) Broadcast(ctx context.Context, content string) error {
	return c.ack(ctx, request{Type: "broadcast", Content: &content})
}

// SendEvent sends an ephemeral event (§10.3: typing, cursors) to the room's other
// connections: never stored, never replayed, never resent.
func (c *Client) SendEvent(ctx context.Context, room, name, content string) error {
	return c.ack(ctx, request{Type: "event", Room: room, Event: name, Content: &content})
}

// Members lists room's members (user ids, sorted).
func (c *Client) Members(ctx context.Context, room string) ([]string, error) {
	fr, err := c.request(ctx, func() (request, error) { return request{Type: "members", Room: room}, nil }, "members", room)
	if err != nil {
		return nil, err
	}
	return fr.Members, nil
}

// Online lists users online (sorted, at most the server's listing cap) and their total.
func (c *Client) Online(ctx context.Context) (users []string, total int, err error) {
	fr, err := c.request(ctx, func() (request, error) { return request{Type: "online"}, nil }, "online", "")
	if err != nil {
		return nil, 0, err
	}
	return fr.Users, fr.Total, nil
}

// Ping asks the server for a pong: a round trip through the hub.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.request(ctx, func() (request, error) { return request{Type: "ping"}, nil }, "pong", "")
	return err
}

// RPC calls method on the application's backend through the server (§9.1) with data
// (any JSON value, marshalled with encoding/json) and returns its result as JSON. A
// refusal or a backend failure is an *Error (code "unavailable" when there is no
// backend). An RPC is not resent after a reconnect: ErrConnectionLost means its outcome
// is unknown.
func (c *Client) RPC(ctx context.Context, method string, data any) (json.RawMessage, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	fr, err := c.request(ctx, func() (request, error) {
		return request{Type: "rpc", Method: method, Data: raw}, nil
	}, "rpc_result", "")
	if err != nil {
		return nil, err
	}
	return fr.Result, nil
}
