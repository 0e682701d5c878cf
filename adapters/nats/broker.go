package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Options configure a Broker.
type Options struct {
	URL     string // NATS URL, e.g. nats://127.0.0.1:4222
	NodeID  string // this node's name; unique in the cluster
	History int    // chats kept per room for recovery (the stream keeps one more, see doc)
	// HistoryTTL is how long the stream keeps a chat (MaxAge; 0: until History newer
	// ones replace it). DedupeWindow is how long a chat's dedupe name is remembered
	// (the stream's duplicate window, at least publishSpan, which resends rely on).
	HistoryTTL   time.Duration
	DedupeWindow time.Duration
	// Heartbeat is how often the node says it is alive and pings NATS (default 2s; two
	// unanswered pings end the link); Expiry is how long a silent node stays in presence
	// (default 10s, more than three heartbeats: a node notices its own stalled link first).
	Heartbeat time.Duration
	Expiry    time.Duration
	// RequestTimeout bounds one request to NATS (snapshot, history fetch; default 3s).
	RequestTimeout time.Duration
	// NATS are extra connection options (tests pass nats.InProcessServer).
	NATS   []nats.Option
	Logger *slog.Logger
}

// Broker is one node's link to the cluster. Its methods are safe for concurrent use and
// never wait for the network; what the cluster says arrives through the deliver function
// given to Connect, called from one goroutine at a time, in the order NATS delivered it.
type Broker struct {
	opts        Options
	deliver     func(core.ClusterEvent)
	log         *slog.Logger
	nc          *nats.Conn
	js          jetstream.JetStream
	incarnation int64
	ackPrefix   string

	life context.Context // ends when the broker closes: bounds every request
	end  context.CancelFunc
	in   chan *nats.Msg // every subscription but snapshot requests, in NATS order
	work chan func()    // results of background requests, run by the dispatcher
	kick chan struct{}  // presence ops are waiting to be published
	done chan struct{}
	wg   sync.WaitGroup

	closeOnce   sync.Once
	linkUp      atomic.Bool
	streamReady atomic.Bool
	needSetup   atomic.Bool  // the stream must be set up (again): the dispatcher syncs
	flowing     atomic.Bool  // chats go straight out; else they wait in pubs (see pause)
	downAt      atomic.Int64 // unix ns the link last went down (0: never)

	mu       sync.Mutex
	local    localPresence
	rooms    map[string]*roomSub
	bySub    map[*nats.Subscription]*roomSub
	users    map[string]*userSub
	pubs     pendingPubs
	pubCount uint64
	epoch    string // the room stream's epoch ("" before the first setup)

	// Owned by the dispatcher goroutine.
	remotes      map[string]*remoteNode
	lastDegraded bool
	synced       uint64 // reconnects() as of the last sync: live chats of another count wait
	everSynced   bool
}

type userSub struct {
	conns int
	sub   *nats.Subscription
}

// Connect joins the cluster at opts.URL. It returns once the connection is set up, or
// with an error when the URL or options are unusable; a NATS server that is down is not
// an error: the broker keeps retrying with backoff and reports Degraded meanwhile.
func Connect(opts Options, deliver func(core.ClusterEvent)) (*Broker, error) {
	if opts.NodeID == "" {
		return nil, errors.New("natsbroker: empty node id")
	}
	if opts.History < 0 {
		return nil, errors.New("natsbroker: negative history")
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 2 * time.Second
	}
	if opts.Expiry <= 0 {
		opts.Expiry = 10 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 3 * time.Second
	}
	b := &Broker{
		opts:        opts,
		deliver:     deliver,
		log:         opts.Logger,
		incarnation: time.Now().UnixNano(),
		in:          make(chan *nats.Msg, 1<<16),
		work:        make(chan func(), 1024),
		kick:        make(chan struct{}, 1),
		done:        make(chan struct{}),
		rooms:       map[string]*roomSub{},
		bySub:       map[*nats.Subscription]*roomSub{},
		users:       map[string]*userSub{},
		pubs:        pendingPubs{byTok: map[string]*pendingPub{}},
		remotes:     map[string]*remoteNode{},
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.life, b.end = context.WithCancel(context.Background())
	b.local.init()
	b.needSetup.Store(true)
	b.lastDegraded = true

	natsOpts := []nats.Option{
		nats.Name("switchboard " + opts.NodeID),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.NoEcho(), // a node's own presence and notices need not come back to it
		// Nothing is buffered while the link is down: chats wait in pubs and are resent in
		// order once the stream is back (a buffer flushed on reconnect would store them
		// ahead of older unacknowledged ones); notices are dropped, as on a cut link.
		nats.ReconnectBufSize(-1),
		// A stalled link (no TCP reset) is noticed from missing pongs within a few
		// heartbeats, before other nodes expire this one; nats.go's default takes minutes.
		nats.PingInterval(opts.Heartbeat),
		nats.MaxPingsOutstanding(2),
		// A write into a stalled link holds whoever publishes (the node's own goroutine,
		// through Link.Do, and nats.go's ping timer, which waits for the same lock) for up to
		// this: nats.go's default is a minute.
		nats.FlusherTimeout(max(2*opts.Heartbeat, time.Second)),
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			d := 50 * time.Millisecond << min(attempts, 6) // 50ms … 3.2s
			return min(d, 2*time.Second)
		}),
		nats.ConnectHandler(func(*nats.Conn) { b.linkChanged(true) }),
		nats.ReconnectHandler(func(*nats.Conn) { b.linkChanged(true) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Warn("nats link down", "err", err)
			b.linkChanged(false)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			b.log.Warn("nats error", "err", err) // slow consumer: room gaps are refetched, presence resnapshotted
		}),
	}
	nc, err := nats.Connect(opts.URL, append(natsOpts, opts.NATS...)...)
	if err != nil {
		return nil, fmt.Errorf("natsbroker: %w", err)
	}
	b.nc = nc
	if nc.IsConnected() {
		b.linkUp.Store(true)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbroker: %w", err)
	}
	b.js = js
	b.ackPrefix = nc.NewInbox() + "."

	for _, subj := range []string{presenceSubj, helloSubj, broadcastSubj, b.ackPrefix + "*", streamAdvisorySubj} {
		if _, err := nc.ChanSubscribe(subj, b.in); err != nil {
			nc.Close()
			return nil, fmt.Errorf("natsbroker: subscribe %s: %w", subj, err)
		}
	}
	if _, err := nc.Subscribe(snapSubject(opts.NodeID), b.answerSnapshot); err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbroker: subscribe snapshot: %w", err)
	}
	b.publishPresence(helloSubj, presenceBatch{Node: opts.NodeID, Incarnation: b.incarnation})

	b.wg.Add(1)
	go b.dispatch()
	return b, nil
}

// Degraded reports whether the cluster link is impaired: NATS unreachable or the room
// stream not set up. Local connections keep being served meanwhile.
func (b *Broker) Degraded() bool { return !b.linkUp.Load() || !b.streamReady.Load() }

// NodeID is this node's name in the cluster.
func (b *Broker) NodeID() string { return b.opts.NodeID }

// Close says goodbye (other nodes drop this node's presence at once) and closes the link.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.flushPresenceLocked()
		b.mu.Unlock()
		b.publishPresence(presenceSubj, presenceBatch{Node: b.opts.NodeID, Incarnation: b.incarnation, Bye: true})
		_ = b.nc.FlushTimeout(time.Second)
		b.stop()
	})
	return nil
}

// kill drops the link without a goodbye, as a crashed node would: tests use it.
func (b *Broker) kill() {
	b.closeOnce.Do(b.stop)
}

func (b *Broker) stop() {
	close(b.done)
	b.end()
	b.nc.Close()
	b.wg.Wait()
}

func (b *Broker) linkChanged(up bool) {
	b.linkUp.Store(up)
	if up {
		b.post(func() { b.onReconnect() })
	} else {
		b.downAt.Store(time.Now().UnixNano())
		b.pause()
	}
	b.post(func() { b.reportLink() })
}

// post hands f to the dispatcher; it is dropped once the broker is closed.
func (b *Broker) post(f func()) {
	select {
	case b.work <- f:
	case <-b.done:
	}
}

func (b *Broker) reportLink() {
	if d := b.Degraded(); d != b.lastDegraded {
		b.lastDegraded = d
		b.log.Info("cluster link", "degraded", d)
	}
}

// dispatch is the one goroutine that reads every subscription and calls deliver.
func (b *Broker) dispatch() {
	defer b.wg.Done()
	tick := time.NewTicker(b.tickEvery())
	defer tick.Stop()
	b.sync()
	b.reportLink()
	lastBeat := time.Now()
	for {
		select {
		case <-b.done:
			return
		case m := <-b.in:
			b.handle(m)
		case f := <-b.work:
			f()
		case <-b.kick:
			b.mu.Lock()
			b.flushPresenceLocked()
			b.mu.Unlock()
		case now := <-tick.C:
			if b.linkUp.Load() && (b.needSetup.Load() || b.reconnects() != b.synced) {
				b.sync()
			}
			if now.Sub(lastBeat) >= b.opts.Heartbeat {
				lastBeat = now
				b.heartbeat()
			}
			b.expire(now)
			b.retryPublishes(now)
		}
	}
}

func (b *Broker) tickEvery() time.Duration {
	return max(min(b.opts.Heartbeat, b.opts.Expiry/4, 500*time.Millisecond), 10*time.Millisecond)
}

// onReconnect runs after NATS came back: subscriptions are restored by nats.go; the
// stream is set up and every room catches up (sync), presence views are refreshed.
func (b *Broker) onReconnect() {
	b.sync()
	b.publishPresence(helloSubj, presenceBatch{Node: b.opts.NodeID, Incarnation: b.incarnation})
	b.heartbeat()
	now := time.Now()
	for _, r := range b.remotes {
		r.heard = now // they could not reach us either; give them a fresh expiry
	}
	b.reportLink()
}

// handle routes one message from NATS.
func (b *Broker) handle(m *nats.Msg) {
	switch {
	case m.Subject == presenceSubj:
		b.onPresence(m)
	case m.Subject == helloSubj:
		b.heartbeat()
	case m.Subject == broadcastSubj:
		b.onNotice(m)
	case m.Subject == streamAdvisorySubj:
		b.needSetup.Store(true) // someone created the stream: perhaps a new epoch
	case len(m.Subject) > len(b.ackPrefix) && m.Subject[:len(b.ackPrefix)] == b.ackPrefix:
		b.onAck(m)
	case len(m.Subject) > len(livePrefix) && m.Subject[:len(livePrefix)] == livePrefix:
		b.onLive(m)
	case len(m.Subject) > len(userPrefix) && m.Subject[:len(userPrefix)] == userPrefix:
		b.onNotice(m)
	}
}

// onNotice delivers a private message, broadcast, system notice or kick.
func (b *Broker) onNotice(m *nats.Msg) {
	var w wireMsg
	if err := w.decode(m.Data); err != nil {
		b.log.Warn("dropping corrupt notice", "subject", m.Subject)
		return
	}
	if w.Origin == b.opts.NodeID {
		return // the origin delivered its own connections' share itself
	}
	switch w.Kind {
	case wirePrivate:
		b.deliver(core.RemotePrivate{Node: w.Origin, Sender: w.Sender, To: w.To, Copy: w.Copy, Content: w.Content, Time: w.Time})
	case wireBroadcast:
		b.deliver(core.RemoteBroadcast{Node: w.Origin, Sender: w.Sender, Exclude: w.Exclude, Content: w.Content, Time: w.Time})
	case wireSystem:
		b.deliver(core.RemoteSystem{Node: w.Origin, Room: w.Room, Content: w.Content, Time: w.Time})
	case wireKick:
		b.deliver(core.RemoteKick{Node: w.Origin, User: w.To})
	case wireSeat, wireUnseat:
		b.deliver(core.RemoteSeat{Node: w.Origin, User: w.To, Room: w.Room, Leave: w.Kind == wireUnseat})
	}
}

// Private sends a private message to the connections of to on other nodes and, when
// copies is set, a copy to the sender's connections on other nodes (not for operator
// messages, whose sender is no user). This node's share is the caller's.
func (b *Broker) Private(from, to string, content []byte, at time.Time, copies bool) {
	w := wireMsg{Kind: wirePrivate, Origin: b.opts.NodeID, Sender: from, To: to, Time: at, Content: content}
	b.publish(userSubject(to), w.encode(nil))
	if copies && from != to {
		w.Copy = true
		b.publish(userSubject(from), w.encode(nil))
	}
}

// Broadcast sends content to every connection on other nodes except user exclude's.
func (b *Broker) Broadcast(sender string, content []byte, exclude string, at time.Time) {
	w := wireMsg{Kind: wireBroadcast, Origin: b.opts.NodeID, Sender: sender, Exclude: exclude, Time: at, Content: content}
	b.publish(broadcastSubj, w.encode(nil))
}

// System sends an operator notice to every connection on other nodes, or to room's.
func (b *Broker) System(room string, content []byte, at time.Time) {
	w := wireMsg{Kind: wireSystem, Origin: b.opts.NodeID, Room: room, Time: at, Content: content}
	b.publish(broadcastSubj, w.encode(nil))
}

// RoomMessage sends a room message that is never stored (an ephemeral event, PROTOCOL.md
// §10.3) to the room's connections on other nodes: on the room's live subject, so only
// nodes with members get it, and never through the stream, so it is neither stored nor
// numbered.
func (b *Broker) RoomMessage(m core.ClusterRoomMessage) {
	w := wireMsg{Kind: wireRoomMsg, Origin: b.opts.NodeID, Sender: m.Sender, Room: m.Room, Event: m.Event,
		Type: uint8(m.Type), Time: m.Time, Content: m.Content}
	b.publish(liveSubject(m.Room), w.encode(nil))
}

// onRoomMessage delivers an unstored room message that came on rs's live subject. It does
// not wait for a window check: it has no offset and is never replayed.
func (b *Broker) onRoomMessage(rs *roomSub, m *nats.Msg) {
	var w wireMsg
	if err := w.decode(m.Data); err != nil || w.Kind != wireRoomMsg || w.Origin == b.opts.NodeID {
		return
	}
	b.deliver(core.RemoteRoomMessage{Node: w.Origin, Room: rs.name, Type: proto.MessageType(w.Type),
		Sender: w.Sender, Event: w.Event, Content: w.Content, Time: w.Time})
}

// Kick asks other nodes to close every connection of user.
func (b *Broker) Kick(user string) {
	w := wireMsg{Kind: wireKick, Origin: b.opts.NodeID, To: user, Time: time.Now()}
	b.publish(userSubject(user), w.encode(nil))
}

// Seat asks other nodes to join every connection of user to room (join) or to take
// them out of it (PROTOCOL.md §8.3).
func (b *Broker) Seat(user, room string, join bool) {
	w := wireMsg{Kind: wireUnseat, Origin: b.opts.NodeID, To: user, Room: room, Time: time.Now()}
	if join {
		w.Kind = wireSeat
	}
	b.publish(userSubject(user), w.encode(nil))
}

func (b *Broker) publish(subj string, data []byte) {
	if err := b.nc.Publish(subj, data); err != nil {
		b.log.Warn("nats publish failed", "subject", subj, "err", err)
	}
}
