package node

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/auth"
	"github.com/switchboard-ws/switchboard/adapters/origin"
	"github.com/switchboard-ws/switchboard/adapters/wsframe"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// ErrShuttingDown refuses new connections (Attach) and admin requests after Shutdown.
var ErrShuttingDown = errors.New("node: shutting down")

// Node owns a core.Hub on one goroutine (started by New, stopped by Shutdown) and
// routes its actions to the connections transports attach.
type Node struct {
	opts Options
	hub  *core.Hub

	inbox     inbox
	nextID    atomic.Uint64
	nextRef   atomic.Uint64
	accepting atomic.Bool
	clock     atomic.Int64 // coarse now (UnixNano), refreshed every sweep and batch

	slow atomic.Int64 // connections closed 4008
	full atomic.Int64 // writes deferred because a socket was full
	live atomic.Int64 // attached and not yet Finished

	origins    *origin.Policy
	budget     *wsframe.Budget // partial messages of every connection
	admitMu    sync.Mutex
	admission  *Admission
	drainingHS atomic.Bool // Drain began: handshakes are refused

	// Owned by the owner goroutine.
	conns      map[core.ConnID]*Conn
	closing    []*Conn
	delivery   // the delivery shards and the deliveries held for them (deliver.go)
	waiters    map[uint64]chan core.AdminReply
	awaiting   map[core.ConnID]*Conn // attached, waiting for their auth message (access.go)
	authReq    proto.Request
	verifying  int            // token verifications in flight (access.go)
	toVerify   []func() event // verifications waiting for one of them to end
	pending    []event        // transport-side closes discovered while draining (slow consumers)
	out        core.Outbox
	draining   bool          // Shutdown or Drain began
	drainRate  int           // Drain: connections closed per second (0: Shutdown, all at once)
	drainTick  *time.Ticker  // while a Drain closes connections in batches
	drainCarry float64       // connections owed by the rate but not yet closed
	drainLast  time.Time     // the last batch
	drained    chan struct{} // closed when draining and no connection is left

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	// Hooks and app events (hooks.go).
	pool          *hookPool // nil without Hooks
	events        chan core.AppEvent
	eventsDone    chan struct{}
	eventsDropped atomic.Int64
}

// New returns a running node with opts (defaults applied), its hub holding the streams
// of opts.Restore.
func New(opts Options) *Node {
	opts.applyDefaults()
	n := &Node{
		opts:     opts,
		hub:      core.New(opts.Core),
		conns:    make(map[core.ConnID]*Conn),
		waiters:  make(map[uint64]chan core.AdminReply),
		awaiting: make(map[core.ConnID]*Conn),
		drained:  make(chan struct{}),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),

		origins:   origin.New(opts.AllowedOrigins),
		budget:    wsframe.NewBudget(opts.PartialBytes),
		admission: NewAdmission(opts.MaxConnsPerIP, opts.AcceptRate),
	}
	now := time.Now()
	for i := range opts.Restore {
		if err := n.hub.Step(core.Event{Kind: core.EventRestore, Now: now, Restore: &opts.Restore[i]}, &n.out); err != nil {
			opts.Logger.Warn("stream not restored", "room", opts.Restore[i].Room, "err", err)
		}
	}
	n.out.Reset()
	n.opts.Restore = nil // the hub has them now
	n.startShards(opts.DeliveryShards)
	n.inbox.init()
	n.accepting.Store(true)
	n.clock.Store(time.Now().UnixNano())
	if opts.Hooks != nil {
		hm, _ := opts.Metrics.(HookMetrics)
		n.pool = newHookPool(opts.HookConcurrency, opts.HookQueue, opts.HookTimeout, hm)
	}
	if opts.Events != nil {
		n.events, n.eventsDone = make(chan core.AppEvent, opts.EventBuffer), make(chan struct{})
		go n.runEvents()
	}
	go n.run()
	if opts.Cluster != nil {
		opts.Cluster.Start(func(ev core.ClusterEvent) { n.inbox.post(event{kind: evCluster, cluster: ev}) })
	}
	return n
}

// Options returns the node's options with defaults applied.
func (n *Node) Options() Options { return n.opts }

// Identify runs Hooks.Connect when set (on the hook pool, hooks.go), else
// Options.Identify, or auth.NamedUser (the user the client names, else a guest) when
// that is nil.
func (n *Node) Identify(r *http.Request) (core.Identity, error) {
	if n.opts.Hooks != nil && n.opts.Hooks.Connect != nil {
		return n.connectHook(r)
	}
	if n.opts.Identify != nil {
		return n.opts.Identify(r)
	}
	id, herr := auth.NamedUser(r)
	if herr != nil {
		return core.Identity{}, herr
	}
	return id, nil
}

// Accepting reports whether the node takes new connections (false once Shutdown began).
func (n *Node) Accepting() bool { return n.accepting.Load() }

// Attach registers the connection of an Upgrade (an empty hs.Identity.User: not
// identified yet, its first message must be auth); link is how the node reaches the
// transport. Nothing happens on it until the transport, having stored the returned Conn
// where its link can see it, calls Start. It fails with ErrShuttingDown after Shutdown
// began. The transport calls Finished for every attached Conn.
func (n *Node) Attach(hs Handshake, link Link) (*Conn, error) {
	if !n.accepting.Load() {
		n.release(hs.IP)
		return nil, ErrShuttingDown
	}
	fr := hs.Framing
	if fr == nil {
		fr = wsframe.Framing{}
	}
	id := hs.Identity
	// The user id may be a substring of the handshake's request line: a copy of its own
	// lets the request go, since the hub keeps the id as long as the user is online.
	id.User = strings.Clone(id.User)
	cid := core.ConnID(n.nextID.Add(1))
	c := &Conn{ID: cid, Format: hs.Format, ip: hs.IP, n: n, link: link, framing: fr, shard: n.shardOf(cid),
		pre: &preConnect{identity: id}}
	c.lastSeen.Store(n.clock.Load())
	n.live.Add(1)
	return c, nil
}

// Abandon says the transport could not take an upgraded connection (and closed it)
// without attaching it: its admission ends.
func (n *Node) Abandon(hs Handshake) { n.release(hs.IP) }

// InitReader readies r for a connection speaking f with the node's frame limits: its
// message size limit and the partial-message budget every connection shares.
func (n *Node) InitReader(r *wsframe.Reader, f proto.Format) {
	r.Init(f, n.opts.MaxMessageBytes, n.budget)
}

// Start hands an attached connection to the hub: its first frame (connected, or a close
// at capacity) follows through its link.
func (c *Conn) Start() { c.n.inbox.post(event{kind: evConnect, c: c}) }

// Stats are the node's transport-side counters.
type Stats struct {
	Live          int64 // connections attached and not yet finished
	QueuedBytes   int64 // bytes queued on all connections and not yet written
	PeakConnQueue int64 // the most bytes ever queued on one connection (≤ SendQueueBytes)
	SlowConsumers int64 // connections closed 4008
	SocketFull    int64 // times a write found a socket full and waited for room
	PartialBytes  int64 // buffer held for messages not yet complete (≤ Options.PartialBytes)
	EventsDropped int64 // app events dropped because Options.Events fell behind
}

// Stats returns the node's counters; safe from any goroutine.
func (n *Node) Stats() Stats {
	queued, peak := n.queuedBytes()
	return Stats{Live: n.live.Load(), QueuedBytes: queued, PeakConnQueue: peak, SlowConsumers: n.slow.Load(), SocketFull: n.full.Load(), PartialBytes: n.budget.Used(), EventsDropped: n.eventsDropped.Load()}
}

// Admin runs an operator request on the owner goroutine and returns the hub's reply.
func (n *Node) Admin(ctx context.Context, req core.AdminRequest) (core.AdminReply, error) {
	if !n.accepting.Load() {
		return core.AdminReply{}, ErrShuttingDown
	}
	req.Ref = n.nextRef.Add(1)
	reply := make(chan core.AdminReply, 1)
	n.inbox.post(event{kind: evAdmin, admin: req, reply: reply})
	select {
	case r := <-reply:
		return r, nil
	case <-ctx.Done():
		return core.AdminReply{}, ctx.Err()
	case <-n.done:
		return core.AdminReply{}, ErrShuttingDown
	}
}

// Drain begins a drain (PROTOCOL.md §11): new handshakes get 503 with Retry-After from
// now on, and the open connections are closed 1001 "Server shutting down" in batches,
// rate per second (DefaultDrainRate when not positive), so that their clients come back
// gradually to other nodes. It returns the connections open when it began; Drained is
// closed when the last is gone. Calls after the first only count; Shutdown ends it at
// once.
func (n *Node) Drain(rate int) int {
	if rate <= 0 {
		rate = DefaultDrainRate
	}
	n.drainingHS.Store(true)
	n.inbox.post(event{kind: evDrain, n: rate})
	return int(n.live.Load())
}

// Drained is closed once a Drain or Shutdown began and no connection is left.
func (n *Node) Drained() <-chan struct{} { return n.drained }

// Shutdown stops accepting, closes every connection 1001 "Server shutting down" (what
// was queued, then the close frame), waits until the transports finished every socket,
// and stops the owner goroutine. When ctx ends first, the remaining sockets are aborted.
func (n *Node) Shutdown(ctx context.Context) error {
	n.accepting.Store(false)
	n.inbox.post(event{kind: evShutdown})
	var err error
	select {
	case <-n.drained:
	case <-n.done:
	case <-ctx.Done():
		err = ctx.Err()
		n.inbox.post(event{kind: evAbortAll})
		select {
		case <-n.drained:
		case <-n.done:
		}
	}
	n.stopOnce.Do(func() { close(n.stop) })
	<-n.done
	if n.pool != nil {
		n.pool.stop()
	}
	if n.events != nil {
		<-n.eventsDone
	}
	return err
}

// run is the owner goroutine: the only one that touches the hub.
func (n *Node) run() {
	defer close(n.done)
	defer n.stopShards()
	defer n.inbox.close()
	tick := time.NewTicker(n.sweepEvery())
	defer tick.Stop()
	defer func() {
		if n.drainTick != nil {
			n.drainTick.Stop()
		}
	}()
	var events []event
	var arena []byte
	for {
		select {
		case <-n.inbox.wake:
			events, arena = n.inbox.take(events, arena)
			n.clock.Store(time.Now().UnixNano())
			for i := range events {
				n.apply(&events[i], arena)
				events[i] = event{}
			}
			n.flush()
		case now := <-tick.C:
			n.sweep(now)
			n.flush()
		case now := <-n.drainC():
			n.drainBatch(now)
			n.flush()
		case <-n.stop:
			return
		}
	}
}

// drainEvery is the interval between a Drain's batches.
const drainEvery = 100 * time.Millisecond

// drainC is the drain ticker's channel; nil (never ready) when no Drain runs.
func (n *Node) drainC() <-chan time.Time {
	if n.drainTick == nil {
		return nil
	}
	return n.drainTick.C
}

// drainBatch closes the connections the drain rate allows since the last batch.
func (n *Node) drainBatch(now time.Time) {
	n.drainCarry += now.Sub(n.drainLast).Seconds() * float64(n.drainRate)
	n.drainLast = now
	k := int(n.drainCarry)
	n.drainCarry -= float64(k)
	for _, c := range n.conns {
		if k == 0 {
			break
		}
		k--
		n.beginClose(c, core.CloseGoingAway, core.ReasonShutdown)
	}
	if len(n.conns) == 0 {
		n.drainTick.Stop()
		n.drainTick = nil
		n.checkDrained()
	}
}

// sweepEvery is how often pings, idle timeouts and close deadlines are checked: a
// fraction of the shortest timer, so none is late by more than that.
func (n *Node) sweepEvery() time.Duration {
	d := time.Second
	for _, t := range []time.Duration{n.opts.PingInterval, n.opts.IdleTimeout, n.opts.MessageTimeout} {
		if t > 0 && t/4 < d {
			d = t / 4
		}
	}
	return max(d, 5*time.Millisecond)
}

func (n *Node) apply(ev *event, arena []byte) {
	c := ev.c
	switch ev.kind {
	case evConnect:
		n.opts.Metrics.ConnOpened()
		if c.pre.identity.User == "" { // identified by its auth message (access.go)
			n.await(c)
			if n.draining && n.unidentified(c) {
				n.refuse(c, core.CloseGoingAway, core.ReasonShutdown)
			}
			return
		}
		n.track(c)
		if n.draining {
			n.shutdownConn(c)
			return
		}
		n.connectHub(c)
	case evFrame:
		if c.tracked {
			n.opts.Metrics.Received()
			n.step(core.Event{Kind: core.EventFrame, Conn: c.ID, Payload: arena[ev.off : ev.off+ev.n]})
		} else if n.unidentified(c) {
			n.authFrame(c, arena[ev.off:ev.off+ev.n])
		}
	case evGone:
		n.forgetUnidentified(c)
		n.forget(c, true)
		n.addClosing(c)
	case evFinished:
		n.forgetUnidentified(c)
		n.forget(c, true)
		n.removeClosing(c)
		n.live.Add(-1)
		n.checkDrained()
	case evAdmin:
		if ev.reply != nil {
			n.waiters[ev.admin.Ref] = ev.reply
		}
		n.step(core.Event{Kind: core.EventAdmin, Admin: ev.admin})
	case evShutdown:
		if !n.draining || n.drainRate > 0 {
			n.draining, n.drainRate = true, 0
			for _, c := range n.conns {
				n.shutdownConn(c)
			}
			for _, c := range n.awaiting {
				n.refuse(c, core.CloseGoingAway, core.ReasonShutdown)
			}
		}
		n.checkDrained()
	case evDrain:
		if !n.draining {
			n.draining = true
			n.drainRate = ev.n
			n.drainLast = time.Now()
			n.drainTick = time.NewTicker(drainEvery)
		}
		n.checkDrained()
	case evCluster:
		n.step(core.Event{Kind: core.EventCluster, Cluster: ev.cluster})
	case evAuthed:
		n.verified()
		n.authed(c, ev.answer)
	case evAnswer:
		if ev.verified {
			n.verified()
		}
		n.step(core.Event{Kind: core.EventAnswer, Answer: ev.answer})
	case evAbortAll:
		for _, c := range slices.Clone(n.closing) {
			n.abort(c)
		}
		for _, c := range n.conns {
			n.abort(c)
		}
	}
}

func (n *Node) checkDrained() {
	if n.draining && n.live.Load() == 0 {
		select {
		case <-n.drained:
		default:
			close(n.drained)
		}
	}
}

// step applies one event to the hub and routes what it produced.
func (n *Node) step(ev core.Event) {
	ev.Now = time.Now()
	if err := n.hub.Step(ev, &n.out); err != nil {
		n.opts.Logger.Debug("hub refused event", "kind", ev.Kind, "conn", ev.Conn, "err", err)
		if ev.Kind == core.EventConnect {
			// The hub refused the identity: the connection cannot be served.
			n.closeUntracked(ev.Conn, core.CloseUnauthorized, core.ReasonUnauthorized)
		}
	}
	n.route()
	n.settle()
}

// settle tells the hub about the slow consumers found while routing; stepping them may
// produce more actions (user_left), routed in turn.
func (n *Node) settle() {
	for len(n.pending) > 0 {
		ev := n.pending[0]
		n.pending = n.pending[1:]
		n.forget(ev.c, true)
		n.addClosing(ev.c)
	}
	n.pending = n.pending[:0]
}

// route drains the outbox into the connections' send queues, after the store has
// written what the step asks it to keep (so no ack goes out before its chat is written).
func (n *Node) route() {
	if n.opts.Store != nil {
		for i := range n.out.Actions {
			if n.out.Actions[i].Kind == core.ActionStore {
				if err := n.opts.Store.Write(n.out.Actions); err != nil {
					n.opts.Logger.Error("store write failed: held messages may not survive a restart", "err", err)
				}
				break
			}
		}
	}
	for i := range n.out.Actions {
		a := &n.out.Actions[i]
		switch a.Kind {
		case core.ActionDeliver:
			n.routeDeliver(a.Msg, a.Targets)
		case core.ActionClose:
			n.closeUntracked(a.Conn, a.Code, a.Reason)
		case core.ActionAdminReply:
			n.reply(a.Reply)
		case core.ActionCluster:
			n.opts.Cluster.Do(a.Cluster)
		case core.ActionAsk:
			n.answerAsk(a.Ask)
		case core.ActionAppEvent:
			n.emit(a.App)
		}
	}
	n.out.Reset()
}

func (n *Node) reply(r *core.AdminReply) {
	if r == nil {
		return
	}
	if r.Ref == 0 {
		n.opts.Metrics.Rooms(r.Stats.Rooms)
		return
	}
	ch := n.waiters[r.Ref]
	if ch == nil {
		return
	}
	delete(n.waiters, r.Ref)
	cp := *r
	cp.Users = slices.Clone(r.Users)
	cp.Rooms = slices.Clone(r.Rooms)
	cp.Members = slices.Clone(r.Members)
	ch <- cp
}

// beginClose closes a connection the hub still knows: the close frame is queued, the
// hub is told it is gone.
func (n *Node) beginClose(c *Conn, code uint16, reason string) {
	n.fanout()
	if c.beginClose(code, reason, true) {
		n.markDirty(c)
	}
	n.forget(c, true)
	n.addClosing(c)
}

// shutdownConn closes c 1001 without stepping the hub, which is going away with the
// node (telling it would route a user_left per connection to connections also closing).
func (n *Node) shutdownConn(c *Conn) {
	n.fanout()
	if c.beginClose(core.CloseGoingAway, core.ReasonShutdown, true) {
		n.markDirty(c)
	}
	n.forget(c, false)
	n.addClosing(c)
}

// closeUntracked closes the connection id, if the node still has it, which the hub has
// forgotten (it closed it, or refused it): what was delivered to it before goes first.
func (n *Node) closeUntracked(id core.ConnID, code uint16, reason string) {
	n.fanout()
	if c := n.conns[id]; c != nil {
		n.untrack(c)
		n.beginCloseUntracked(c, code, reason)
	}
}

// beginCloseUntracked closes a connection the hub has already forgotten.
func (n *Node) beginCloseUntracked(c *Conn, code uint16, reason string) {
	n.fanout()
	if c.beginClose(code, reason, true) {
		n.markDirty(c)
	}
	n.opts.Metrics.ConnClosed(c.CloseCode())
	n.addClosing(c)
}

// forget removes c from the hub (telling it when tellHub) and counts its close, once.
func (n *Node) forget(c *Conn, tellHub bool) {
	if !c.tracked {
		return
	}
	n.untrack(c)
	n.opts.Metrics.ConnClosed(c.CloseCode())
	if tellHub {
		n.step(core.Event{Kind: core.EventDisconnect, Conn: c.ID, Code: c.CloseCode()})
	}
}

// addClosing starts c's grace period: Abort is due if it is not finished by then.
func (n *Node) addClosing(c *Conn) {
	if c.deadline != 0 || c.state.Load() == stateDone {
		return
	}
	c.deadline = n.clock.Load() + int64(closeGrace)
	n.closing = append(n.closing, c)
	c.closingAt = int32(len(n.closing))
}

// removeClosing takes a finished c out of the closing list (swap with the last: O(1),
// so a shutdown of many connections stays linear).
func (n *Node) removeClosing(c *Conn) {
	i := int(c.closingAt) - 1
	if i < 0 {
		return
	}
	last := n.closing[len(n.closing)-1]
	n.closing[i] = last
	last.closingAt = int32(i + 1)
	n.closing[len(n.closing)-1] = nil
	n.closing = n.closing[:len(n.closing)-1]
	c.closingAt = 0
}

func (n *Node) abort(c *Conn) {
	n.fanout()
	if !c.aborted && c.state.Load() != stateDone {
		c.aborted = true
		c.link.Abort()
	}
}

// markDirty notes, on the owner, that c has frames to be woken for at the end of the round.
func (n *Node) markDirty(c *Conn) { n.shards[0].mark(c) }

// flush ends a round: the held deliveries are fanned out, the slow consumers they found
// settled with the hub (which may deliver more: user_left), until nothing is held; then
// every connection the owner queued to this round is woken, once each.
func (n *Node) flush() {
	for n.fanout(); len(n.pending) > 0; n.fanout() {
		n.settle()
	}
	n.shards[0].wake()
}

// sweep is the periodic pass: the hub's clock, pings, idle timeouts, close deadlines.
func (n *Node) sweep(now time.Time) {
	t := now.UnixNano()
	n.clock.Store(t)
	n.step(core.Event{Kind: core.EventTick})
	n.authTimeouts(t)
	ping, idle, message := int64(n.opts.PingInterval), int64(n.opts.IdleTimeout), int64(n.opts.MessageTimeout)
	for _, c := range n.conns {
		if start := c.msgStart.Load(); message > 0 && start != 0 && t-start >= message {
			n.beginClose(c, core.ClosePolicy, core.ReasonMessageTimeout)
			continue
		}
		if idle > 0 && t-c.lastSeen.Load() >= idle {
			n.beginClose(c, core.CloseGoingAway, core.ReasonIdle)
			continue
		}
		if ping > 0 && t-c.lastPing >= ping {
			if c.lastPing == 0 {
				c.lastPing = t // the first ping comes one interval after connecting
				continue
			}
			c.lastPing = t
			n.fanout() // the ping goes behind what was delivered before it
			switch c.enqueue(frame{b: c.framing.Ping()}) {
			case enqueued, started:
				n.markDirty(c)
			case overLimit:
				n.markDirty(c)
				n.pending = append(n.pending, event{kind: evGone, c: c, code: core.CloseSlowConsumer})
			}
		}
	}
	n.settle()
	for _, c := range n.closing {
		if t >= c.deadline {
			n.abort(c)
		}
	}
	if _, ok := n.opts.Metrics.(nopMetrics); !ok {
		n.step(core.Event{Kind: core.EventAdmin, Admin: core.AdminRequest{Op: core.AdminStats}})
	}
}
