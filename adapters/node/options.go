package node

import (
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/auth"
	"github.com/switchboard-ws/switchboard/core"
)

// Options configure a Node. Zero durations and sizes take the defaults of PROTOCOL.md §1;
// a negative PingInterval, IdleTimeout or MessageTimeout turns that timer off.
type Options struct {
	Core             core.Config
	SendQueueBytes   int           // unsent bytes over this: close 4008 "Slow consumer"
	MaxMessageBytes  int           // frame / reassembled message over this: close 1009
	PingInterval     time.Duration // server pings this often
	IdleTimeout      time.Duration // no complete frame this long: close 1001 "Idle timeout"
	HandshakeTimeout time.Duration // the upgrade must be done within this
	// MessageTimeout: a message not complete this long after its first byte closes
	// 1008 "Message timeout".
	MessageTimeout time.Duration
	// PartialBytes bounds the bytes every connection together holds of messages (and
	// control frames) not yet complete; a connection that would pass it is closed 1009.
	PartialBytes int64
	// AllowedOrigins are the Origin patterns a browser handshake may come from besides
	// the request's own host (adapters/origin); the rule holds whatever Identify does.
	AllowedOrigins []string
	// MaxConnsPerIP (open WebSocket connections per client address) and AcceptRate (new
	// handshakes per second): over either, 503 with Retry-After. 0: no limit.
	MaxConnsPerIP int
	AcceptRate    float64
	// Identify decides who a WebSocket handshake is (auth, Origin): the user and the
	// grants of its token. A non-nil error is a *HTTPError; the transport answers it as
	// JSON {"error":Code,"message":Message} with Status and never upgrades. When nil, the
	// user is the one the client names (auth.NamedUser: /ws/{user}, ?user=, else a guest).
	Identify func(r *http.Request) (core.Identity, error)
	// Tokens verifies the tokens of auth, refresh and room-token joins; nil: none is
	// (auth closes 4001, refresh answers unauthorized, a room token is forbidden).
	Tokens Tokens
	// AuthTimeout is how long a connection Identify answered auth.ErrAuthMessage has to
	// send its auth message before it is closed 4001.
	AuthTimeout time.Duration
	Metrics     Metrics      // may be nil
	Logger      *slog.Logger // may be nil
	// Cluster links the node to the other nodes of a cluster (adapters/nats); nil: a
	// single node. Setting it turns on Core.Cluster.
	Cluster Cluster
	// Store keeps room streams across restarts (--data-dir, adapters/store); nil: in
	// memory only. Setting it turns on Core.Durable. Restore is what the store held at
	// start (its Load): New gives it to the hub before the node serves anyone.
	Store   Store
	Restore []core.StreamState

	// Hooks are the application's decisions (PROTOCOL.md §9.1, hooks.go); setting them
	// turns on Core.Backend. They run on a pool of HookConcurrency workers with a queue
	// of HookQueue calls, each answered within HookTimeout (else unavailable).
	Hooks           *Hooks
	HookConcurrency int
	HookQueue       int
	HookTimeout     time.Duration
	// Events receives the app events (§9.2: user_online, user_offline after
	// Core.OfflineGrace, room_occupied, …) in order, on a goroutine of its own fed through
	// a buffer of EventBuffer events; when the buffer is full, events are dropped and
	// counted (Stats.EventsDropped). Setting it turns on Core.AppEvents.
	Events      func(core.AppEvent)
	EventBuffer int

	// DeliveryShards is how many goroutines queue a large round's deliveries (deliver.go):
	// the owner and DeliveryShards-1 helpers, each taking its share of the connections
	// (runs of consecutive IDs, dealt round-robin). Default runtime.GOMAXPROCS(0) at New; 1 queues every
	// delivery on the owner as the hub emits it, with no helper goroutine.
	DeliveryShards int
}

// Store keeps the hub's room streams on disk (PROTOCOL.md §10.2).
type Store interface {
	// Write carries out the ActionStore actions among actions (one step's), in order,
	// and returns once the operating system has them. It is called on the owner
	// goroutine before that step's deliveries (its acks) are queued.
	Write(actions []core.Action) error
}

// Cluster carries the hub's cluster actions to other nodes and their news back.
type Cluster interface {
	// Start hands every cluster event to post (any goroutine, in order); New calls it once.
	Start(post func(core.ClusterEvent))
	// Do carries one action; called on the owner goroutine, it must not block.
	Do(a core.ClusterAction)
}

// Defaults of PROTOCOL.md §1.
const (
	DefaultSendQueueBytes   = 1 << 20
	DefaultPingInterval     = 25 * time.Second
	DefaultIdleTimeout      = 60 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMessageTimeout   = 10 * time.Second
	DefaultPartialBytes     = 64 << 20
	DefaultDrainRate        = 1000 // connections closed per second by Drain

	// MaxHandshakeHeaderBytes bounds a handshake's request line and headers together:
	// over it, 431 and never upgraded (PROTOCOL.md §11).
	MaxHandshakeHeaderBytes = 16 << 10
	DefaultAuthTimeout      = 10 * time.Second

	// closeGrace is how long a closing connection may take to take its close frame
	// (and to answer it) before its socket is closed regardless.
	closeGrace = 5 * time.Second
)

func (o *Options) applyDefaults() {
	if o.SendQueueBytes <= 0 {
		o.SendQueueBytes = DefaultSendQueueBytes
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = core.DefaultConfig().MaxMessageBytes
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MessageTimeout == 0 {
		o.MessageTimeout = DefaultMessageTimeout
	}
	if o.PartialBytes <= 0 {
		o.PartialBytes = DefaultPartialBytes
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.AuthTimeout <= 0 {
		o.AuthTimeout = DefaultAuthTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = nopMetrics{}
	}
	if o.Cluster != nil {
		o.Core.Cluster = true
	}
	if o.Store != nil {
		o.Core.Durable = true
	}
	if o.Hooks != nil {
		o.Core.Backend = true
	}
	if o.HookConcurrency <= 0 {
		o.HookConcurrency = DefaultHookConcurrency
	}
	if o.HookQueue <= 0 {
		o.HookQueue = DefaultHookQueue
	}
	if o.HookTimeout <= 0 {
		o.HookTimeout = DefaultHookTimeout
	}
	if o.Events != nil {
		o.Core.AppEvents = true
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = DefaultEventBuffer
	}
	if o.DeliveryShards <= 0 {
		o.DeliveryShards = runtime.GOMAXPROCS(0)
	}
}

// HTTPError refuses a WebSocket handshake: the transport answers it as JSON
// {"error":Code,"message":Message} with Status and never upgrades. It is auth's Error,
// so the binary's own rules and an application's Identify refuse the same way.
type HTTPError = auth.Error

// Metrics receives what the node counts (adapters/metrics exports it to Prometheus).
// Its methods are called from the owner goroutine and must not block; Delivered counts
// the frames queued by one fan-out (deliver.go), all shards together.
type Metrics interface {
	ConnOpened()
	ConnClosed(code uint16)
	Received()
	Delivered(n int)
	Rooms(n int)
}

type nopMetrics struct{}

func (nopMetrics) ConnOpened()       {}
func (nopMetrics) ConnClosed(uint16) {}
func (nopMetrics) Received()         {}
func (nopMetrics) Delivered(int)     {}
func (nopMetrics) Rooms(int)         {}
