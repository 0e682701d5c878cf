package node

import (
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Tokens verifies the tokens that arrive in messages (PROTOCOL.md §8): the `auth` first
// message and `refresh` (connection tokens), and a join's room token. Its methods may
// block (a JWKS fetch): the node calls them off the owner goroutine, at most
// maxVerifying at a time (maxQueued more wait their turn). *auth.Authenticator
// implements it.
type Tokens interface {
	VerifyConnection(token string) (core.Identity, error)
	VerifyRoom(token string) (core.Identity, error)
}

const (
	// maxVerifying bounds the token verifications in flight, maxQueued those waiting;
	// beyond both, an `auth` is closed 4003 Server at capacity and an ask is answered
	// unavailable.
	maxVerifying = 64
	maxQueued    = 4096
	// maxEarly and maxEarlyBytes bound the messages an unidentified connection may send
	// behind its `auth` while that is verified; they are applied, in order, once it is
	// identified.
	maxEarly      = 32
	maxEarlyBytes = 256 << 10
)

// An unidentified connection (Identify answered auth.ErrAuthMessage) is attached with an
// empty Identity and unknown to the hub: the node sends it nothing until its first
// message, which must be `auth` with a token that verifies, arrives within AuthTimeout.
// Anything else closes it 4001 Unauthorized. A verified one is then connected to the hub
// like any other, and the messages it sent meanwhile follow.

// unidentified reports whether c awaits its auth message (or its verification).
func (n *Node) unidentified(c *Conn) bool { return n.awaiting[c.ID] == c }

// await registers c, attached without identity, until its auth message. Those waiting
// are bounded like connections (Core.MaxConns): beyond, c is closed 4003 at once.
func (n *Node) await(c *Conn) {
	if limit := n.opts.Core.MaxConns; limit > 0 && len(n.awaiting) >= limit {
		n.beginCloseUntracked(c, core.CloseCapacity, core.ReasonAtCapacity)
		return
	}
	n.awaiting[c.ID] = c
	c.pre.authDeadline = n.clock.Load() + int64(n.opts.AuthTimeout)
}

// authFrame takes one message of an unidentified connection.
func (n *Node) authFrame(c *Conn, payload []byte) {
	pre := c.pre
	if pre.authing {
		if len(pre.early) >= maxEarly || pre.earlyBytes+len(payload) > maxEarlyBytes {
			n.refuse(c, core.CloseUnauthorized, core.ReasonUnauthorized)
			return
		}
		pre.early = append(pre.early, append([]byte(nil), payload...))
		pre.earlyBytes += len(payload)
		return
	}
	req := &n.authReq
	if perr := proto.Parse(c.Format, payload, req); perr != nil || req.Type != proto.ReqAuth || n.opts.Tokens == nil {
		n.refuse(c, core.CloseUnauthorized, core.ReasonUnauthorized)
		return
	}
	token := string(req.Token)
	if !n.verify(func() event {
		id, err := n.opts.Tokens.VerifyConnection(token)
		a := &core.Answer{Conn: c.ID, Identity: id}
		if err != nil {
			a.Code = proto.Unauthorized
		}
		return event{kind: evAuthed, c: c, answer: a}
	}) {
		n.refuse(c, core.CloseCapacity, core.ReasonAtCapacity)
		return
	}
	pre.authing = true
}

// authed applies the verdict on c's auth message: connected, then its early messages;
// or closed 4001.
func (n *Node) authed(c *Conn, a *core.Answer) {
	if !n.unidentified(c) {
		return // closed meanwhile
	}
	delete(n.awaiting, c.ID)
	if a.Code != proto.OK {
		n.beginCloseUntracked(c, core.CloseUnauthorized, core.ReasonUnauthorized)
		return
	}
	early := c.pre.early
	c.pre.identity = a.Identity
	n.track(c)
	n.connectHub(c)
	for _, p := range early {
		if c.tracked {
			n.opts.Metrics.Received()
			n.step(core.Event{Kind: core.EventFrame, Conn: c.ID, Payload: p})
		}
	}
}

// connectHub tells the hub about c, identified, and drops what c kept for that.
func (n *Node) connectHub(c *Conn) {
	n.step(core.Event{Kind: core.EventConnect, Conn: c.ID, Identity: c.pre.identity, Format: c.Format})
	c.pre = nil
}

// refuse closes an unidentified connection.
func (n *Node) refuse(c *Conn, code uint16, reason string) {
	delete(n.awaiting, c.ID)
	c.pre = nil
	n.beginCloseUntracked(c, code, reason)
}

// forgetUnidentified drops c when it went away before being identified, counting its
// close as forget does for connections the hub knows.
func (n *Node) forgetUnidentified(c *Conn) {
	if n.unidentified(c) {
		delete(n.awaiting, c.ID)
		c.pre = nil
		n.opts.Metrics.ConnClosed(c.CloseCode())
	}
}

// authTimeouts closes 4001 the connections that sent no auth message in time.
func (n *Node) authTimeouts(now int64) {
	for _, c := range n.awaiting {
		if !c.pre.authing && now >= c.pre.authDeadline {
			n.refuse(c, core.CloseUnauthorized, core.ReasonUnauthorized)
		}
	}
}

// ask answers one of the hub's asks off the owner goroutine (PROTOCOL.md §8.1, §8.2).
func (n *Node) ask(q *core.Ask) {
	ask := *q
	answer := func(id core.Identity, err error) event {
		a := &core.Answer{ID: ask.ID, Conn: ask.Conn, Identity: id}
		if err != nil {
			a.Code = proto.Unauthorized
		}
		return event{kind: evAnswer, answer: a}
	}
	if n.opts.Tokens == nil {
		n.inbox.post(answer(core.Identity{}, errNoTokens))
		return
	}
	ok := n.verify(func() event {
		switch ask.Kind {
		case core.AskRefresh:
			return answer(n.opts.Tokens.VerifyConnection(ask.Token))
		case core.AskRoomToken:
			return answer(n.opts.Tokens.VerifyRoom(ask.Token))
		}
		return answer(core.Identity{}, errNoTokens)
	})
	if !ok {
		n.inbox.post(event{kind: evAnswer, answer: &core.Answer{ID: ask.ID, Conn: ask.Conn, Code: proto.Unavailable}})
	}
}

// verify runs check on its own goroutine and posts its event (marked verified), or
// queues it while maxVerifying run; it reports false, doing nothing, when the queue is
// full too.
func (n *Node) verify(check func() event) bool {
	if n.verifying >= maxVerifying {
		if len(n.toVerify) >= maxQueued {
			return false
		}
		n.toVerify = append(n.toVerify, check)
		return true
	}
	n.verifying++
	go func() {
		ev := check()
		ev.verified = true
		n.inbox.post(ev)
	}()
	return true
}

// verified notes that a check ended and starts the next queued one.
func (n *Node) verified() {
	n.verifying--
	if len(n.toVerify) > 0 {
		next := n.toVerify[0]
		n.toVerify[0] = nil
		n.toVerify = n.toVerify[1:]
		n.verify(next)
	}
}

type tokenError string

func (e tokenError) Error() string { return string(e) }

const errNoTokens = tokenError("node: no token verifier (Options.Tokens)")
