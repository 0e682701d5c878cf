package client

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// Format is the subprotocol a client speaks: JSON (switchboard.json, the default) or
// Msgpack (switchboard.msgpack). Both carry the same messages.
type Format = proto.Format

// The two formats of PROTOCOL.md §2.
const (
	JSON    = proto.JSON
	Msgpack = proto.Msgpack
)

// Overflow says what happens to a server message when the Events channel is full. The
// read loop never waits for the application, so a full channel has to give somewhere.
type Overflow uint8

const (
	// DropOldest discards the oldest unread event to make room (counted by Dropped).
	DropOldest Overflow = iota
	// DropNewest discards the event that did not fit (counted by Dropped).
	DropNewest
	// Reconnect drops the connection instead of an event and reconnects: the rooms are
	// joined again with `since` = the offset of the last chat that went into the channel,
	// so the server replays every chat the application did not get. Presence and other
	// non-chat events of that moment are not replayed.
	Reconnect
)

// TokenFunc returns the token to identify with. It is called before every connection
// attempt and again before the token's `exp` (read from the JWT, unverified) to
// `refresh` the open connection, so it should return a fresh token each time.
type TokenFunc func(ctx context.Context) (string, error)

// Options tune a Client. The zero value works: JSON, no token, defaults below.
type Options struct {
	Format Format
	// Token, when set, identifies the user (PROTOCOL.md §8.2). The token goes in an
	// `Authorization: Bearer` header, or in an `auth` first message when AuthMessage is set
	// (for servers behind proxies that drop the header).
	Token       TokenFunc
	AuthMessage bool
	Header      http.Header  // extra handshake headers (Origin, cookies…)
	HTTPClient  *http.Client // for the handshake; http.DefaultClient when nil

	EventBuffer int      // capacity of the Events channel (default 256)
	Overflow    Overflow // what a full Events channel does (default DropOldest)
	MaxQueued   int      // chats awaiting their ack, sent or not (default 1024); more: ErrQueueFull

	MinDelay     time.Duration // first reconnect's backoff cap (default 250ms)
	MaxDelay     time.Duration // largest backoff cap (default 30s)
	PingInterval time.Duration // client pings; no pong within it drops the connection (default 25s, <0: off)
	// HandshakeTimeout bounds one attempt: dial, upgrade and the `connected` frame
	// (default 10s).
	HandshakeTimeout time.Duration
	MaxMessageBytes  int64 // largest server message read (default 1 MiB)

	Logger *slog.Logger // connection changes at Debug, failures at Warn; discarded when nil

	rand func(n int64) int64 // for tests: uniform in [0, n)
}

// Defaults of Options.
const (
	DefaultEventBuffer      = 256
	DefaultMaxQueued        = 1024
	DefaultMinDelay         = 250 * time.Millisecond
	DefaultMaxDelay         = 30 * time.Second
	DefaultPingInterval     = 25 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxMessageBytes  = 1 << 20
)

func (o *Options) applyDefaults() {
	if o.EventBuffer <= 0 {
		o.EventBuffer = DefaultEventBuffer
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	if o.MinDelay <= 0 {
		o.MinDelay = DefaultMinDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.MaxDelay < o.MinDelay {
		o.MaxDelay = o.MinDelay
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.rand == nil {
		o.rand = rand.Int64N
	}
}

// backoff is the wait before reconnect attempt n (0 for the first retry): "full
// jitter", uniform in [0, min(max, min·2ⁿ)], so that clients dropped together do not
// come back together; on top of at least the server's Retry-After when it sent one.
func backoff(n int, minDelay, maxDelay, retryAfter time.Duration, rnd func(int64) int64) time.Duration {
	ceiling := maxDelay
	if n < 32 && minDelay<<n < maxDelay && minDelay<<n > 0 {
		ceiling = minDelay << n
	}
	return retryAfter + time.Duration(rnd(int64(ceiling)+1))
}
