// Package natsbroker is a Switchboard node's link to the other nodes of a cluster, over
// NATS and JetStream (an existing engine: nothing here orders or stores messages itself).
// It owns the subjects, the room stream, presence views of other nodes and the retry of
// unacknowledged chats. It must never touch a WebSocket or the core's state: it takes
// local facts as method calls and hands cluster facts to one deliver function as the
// core's own cluster events (core.RemoteChat, core.RemoteConn, …), which Link posts to
// the node as they are.
//
//	b, err := natsbroker.Connect(natsbroker.Options{URL: url, NodeID: "n1", History: 100,
//		HistoryTTL: 10 * time.Minute, DedupeWindow: 2 * time.Minute},
//		func(ev core.ClusterEvent) { events <- ev }) // called from one goroutine, in order
//	b.ConnOpened("ann", 7, time.Now().UnixNano())
//	b.RoomCount("lobby", "ann", 1)              // subscribes the room before announcing it
//	b.PublishChat("lobby", "ann", []byte("hi"), time.Now(), 0, "") // comes back as core.RemoteChat
//	defer b.Close()
//
// Subjects: sb.room.<room> (chats, stored by the stream SB_ROOMS), sb.live.<room> (the
// stream republishes each stored chat there with its sequence; ephemeral room events are
// published there directly, so they are never stored or numbered), sb.user.<user> (private
// copies, kicks), sb.all (broadcast, system), sb.pres (presence batches, heartbeats),
// sb.hello, sb.snap.<node> (presence snapshots by request/reply). A node subscribes to
// a room's live subject while it has connections in the room, and to a user's subject
// while it has connections of the user.
//
// Order and offsets: one stream over sb.room.>. A chat's offset is its stream sequence:
// JetStream assigns it, so every node delivers a room's chats in one order, and the
// offset grows with each chat of the room, cluster-wide. It grows by more than 1 when
// other rooms' chats come between (a contiguous per-room count would need one stream per
// room, or publishes serialized per room with Nats-Expected-Last-Subject-Sequence and
// retried on conflict; both cost far more than the protocol's "increasing" asks for).
// Live chats come from the stream's RePublish, not from a consumer per room: a plain
// subscription, whose Nats-Last-Sequence header (the previous sequence of the same
// subject) reveals any chat this node missed, which it then fetches with a batched direct
// get before going on.
//
// Windows: a live subscription gets chats only while it is in place at the server. A new
// one (a join) gets there a moment after the join it serves, a restored one (a reconnect)
// after the outage that took it away. So until a flush round trip confirms it, the room's
// live chats are held, then the stream is read, page by page however much it holds, from
// the room's last delivered chat (or from the join, minus a small clock allowance), and
// what did not come live is delivered first. Live chats always win: the first one names
// its room's previous chat (Nats-Last-Sequence), so a window whose chats all came live is
// complete even when the stream no longer holds them. Every chat stored after a join
// reaches the joiner, in order; a chat that is lost (dropped from the stream before this
// node read it) is reported as a room gap, never skipped silently.
//
// Epochs: the stream's name and creation time are its epoch (core.RemoteEpoch, before any
// chat of it). NATS restarted on an empty store, or the stream deleted, means a stream created
// again, numbering from 1: a new epoch, in which every room's last delivered offset
// restarts and the window checks read from the stream's start. Nodes set the stream up
// after every reconnect, when a publish finds no stream, and when JetStream announces
// that someone created it.
//
// History and gaps: the stream keeps History+1 chats per room (MaxMsgsPerSubject), each
// for HistoryTTL (MaxAge). A recovery reads the chats from `since` on: when the chat at
// `since` is still held, nothing after it was dropped; when it is not (expired, dropped,
// or never a chat of the room), the position is unknown: a history_gap. From 0, a gap is
// all History+1 being held (the oldest may have had older ones). A node serves at most
// the newest History.
//
// Presence: each node publishes batches of its own changes (connection opened/closed,
// a user's connection count in a room) numbered by a per-node sequence, and a heartbeat
// carrying the last number. Every node keeps one view per other node; a missing number
// (or an unknown node, or a restart seen as a new incarnation) makes it ask that node for
// a snapshot. A node silent for Expiry is dropped (core.RemoteGone first, so that app
// events it owned move to the living), its users' departures announced once; a node
// that shuts down says bye and is dropped at once. Nobody expires while this node's own
// link is down. A room count carries when it began on its node (core's room app event
// ids), in snapshots too.
//
// Per-user limit: connections carry their opening time on their node (tie-break: node,
// connection id), so every node agrees which connection of a user is the oldest; the
// node that owns it closes it.
//
// Per-user limit across node deaths: a node's connections count for the limit only once
// it was heard from (core.RemoteAlive) after the user's newest connection was seen, so the
// connections of a node that died, still listed until it expires, never close a live tab
// of a user who reconnected elsewhere; a live node's count within a heartbeat.
//
// NATS down: nats.go reconnects forever with backoff and restores subscriptions, and pings
// every Heartbeat (two unanswered: the link is stale), so a stalled link is noticed within a
// few heartbeats, before other nodes expire this one and while this node expires nobody.
// Nothing is buffered while the link is down: chats wait in a FIFO and are sent again, in
// the order published, once the stream is set up, with the same Nats-Msg-Id (stored once,
// within the stream's duplicate window) for up to a minute; so one sender's chats keep their
// order across an outage. A chat with a dedupe name (a client's chat id) uses it as its
// Nats-Msg-Id: a resend on any node is answered with the first one's offset and not
// delivered again. Notices (private, broadcast, events) sent while the link is down are
// dropped. Degraded reports the outage.
package natsbroker
