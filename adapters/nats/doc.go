// Package natsbroker is a Switchboard node's link to the other nodes of a cluster, over
// NATS and JetStream (an existing engine: nothing here orders or stores messages itself).
// It owns the subjects, the room stream, presence views of other nodes and the retry of
// unacknowledged chats. It must never touch a WebSocket or the core's state: it takes
// local facts as method calls and hands cluster facts to one deliver function, which
// the node turns into core events.
//
//	b, err := natsbroker.Connect(natsbroker.Options{URL: url, NodeID: "n1", History: 100},
//		func(in natsbroker.Inbound) { events <- in }) // called from one goroutine, in order
//	b.ConnOpened("ann", 7, time.Now().UnixNano())
//	b.RoomCount("lobby", "ann", 1)              // subscribes the room before announcing it
//	b.PublishChat("lobby", "ann", []byte("hi"), time.Now(), 0) // comes back as KindChat
//	defer b.Close()
//
// Subjects: sb.room.<room> (chats, stored by the stream SB_ROOMS), sb.live.<room> (the
// stream republishes each stored chat there with its sequence), sb.user.<user> (private
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
// Joins: a node subscribes a room's live subject before it announces the join, on the same
// connection, so whoever hears of the join is heard by the joiner. A new subscription
// still reaches the server a moment after the join: until a flush round trip confirms it,
// live chats of the room are held, then chats the stream stored since the join (minus a
// small clock allowance) that did not come live are delivered first. So every chat
// stored after a join reaches the joiner, in order.
//
// History and gaps: the stream keeps History+1 chats per room (MaxMsgsPerSubject). A
// recovery reads the chats after `since`; if all History+1 are after it, the chat right
// after `since` may be gone and the oldest one held is beyond the History a single node
// keeps: that, and only that, is a history_gap, and the newest History are served.
//
// Presence: each node publishes batches of its own changes (connection opened/closed,
// a user's connection count in a room) numbered by a per-node sequence, and a heartbeat
// carrying the last number. Every node keeps one view per other node; a missing number
// (or an unknown node, or a restart seen as a new incarnation) makes it ask that node for
// a snapshot. A node silent for Expiry is dropped, its users' departures announced once;
// a node that shuts down says bye and is dropped at once. Nobody expires while this
// node's own link is down.
//
// Per-user limit: connections carry their opening time on their node (tie-break: node,
// connection id), so every node agrees which connection of a user is the oldest; the
// node that owns it closes it.
//
// NATS down: nats.go reconnects forever with backoff and restores subscriptions;
// unacknowledged chats are resent with the same Nats-Msg-Id (stored once) for up to a
// minute; after a reconnect each room catches up from the stream. Degraded reports the
// outage. A chat resent after an outage may be ordered after a later one of the same node.
package natsbroker
