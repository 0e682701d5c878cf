package natsbroker

import (
	"context"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboard-ws/switchboard/core"
)

// streamConfig is the room stream: every room's chats, at most History+1 per room (one
// more than a node serves: that one proves whether a recovery from offset 0 lost
// anything), each kept HistoryTTL, chats with one Nats-Msg-Id stored once within the
// duplicate window.
func (b *Broker) streamConfig() jetstream.StreamConfig {
	// Resends after an outage rely on the duplicate window too: it covers publishSpan
	// even when the chat-id window (--dedupe-window) is shorter. JetStream wants it no
	// longer than MaxAge.
	dupes := max(b.opts.DedupeWindow, publishSpan)
	if b.opts.HistoryTTL > 0 {
		dupes = min(dupes, b.opts.HistoryTTL)
	}
	return jetstream.StreamConfig{
		Name:              streamName,
		Subjects:          []string{roomPrefix + ">"},
		Storage:           jetstream.FileStorage,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: int64(b.opts.History) + 1,
		MaxAge:            b.opts.HistoryTTL,
		AllowDirect:       true,
		Duplicates:        dupes,
		RePublish:         &jetstream.RePublish{Source: roomPrefix + ">", Destination: livePrefix + ">"},
	}
}

// epochOf names the stream's life: its name and creation time. A stream created again
// (lost with NATS's store, or deleted) is a new epoch, and its sequences start again at 1.
func epochOf(info *jetstream.StreamInfo) string {
	return info.Config.Name + "-" + strconv.FormatInt(info.Created.UnixNano(), 36)
}

// setupStream creates or updates the room stream and returns its epoch ("" when it
// failed). It runs at start, after every reconnect (a restarted NATS server may have lost
// the stream) and whenever a publish found no stream or another node created it.
func (b *Broker) setupStream() string {
	ctx, cancel := context.WithTimeout(b.life, b.opts.RequestTimeout)
	defer cancel()
	b.needSetup.Store(false) // a trigger from now on asks again
	st, err := b.js.CreateOrUpdateStream(ctx, b.streamConfig())
	if err != nil {
		b.log.Warn("room stream setup failed", "err", err)
		b.needSetup.Store(true)
		b.streamReady.Store(false)
		return ""
	}
	b.streamReady.Store(true)
	return epochOf(st.CachedInfo())
}

// sync brings the broker in step with the stream after a start, a reconnect or a stream
// trigger: the stream is set up, a new epoch is adopted (offsets restart), every room
// subscription catches up with what it may have missed while the link was away, and the
// chats waiting to be stored are sent, oldest first. It runs on the dispatcher.
func (b *Broker) sync() {
	if !b.linkUp.Load() {
		return
	}
	gen := b.reconnects()
	epoch := b.setupStream()
	if epoch == "" {
		b.reportLink()
		return
	}
	b.mu.Lock()
	changed := epoch != b.epoch
	first := b.epoch == ""
	b.epoch = epoch
	b.mu.Unlock()
	if changed {
		if !first {
			b.log.Warn("room stream is new: offsets start again", "epoch", epoch)
		}
		b.deliver(core.RemoteEpoch{Epoch: epoch})
	}
	if changed || gen != b.synced || !b.everSynced {
		b.synced, b.everSynced = gen, true
		b.resyncRooms(changed && !first)
	}
	b.resume()
	b.reportLink()
}

// reconnects counts the NATS connections this broker made: nats.go counts a reconnect
// before the new connection reads anything, so a message read under another count than
// the last sync's came over a link the broker has not caught up yet.
func (b *Broker) reconnects() uint64 { return b.nc.Stats().Reconnects }

// outageAge is how long ago the link could first have missed a chat: when it went down,
// less the time a stalled link takes to be noticed.
func (b *Broker) outageAge(now time.Time) time.Duration {
	down := b.downAt.Load()
	if down == 0 {
		return 0
	}
	return now.Sub(time.Unix(0, down)) + 3*b.opts.Heartbeat + time.Second
}
