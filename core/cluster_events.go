package core

import "slices"

// App events in a cluster (PROTOCOL.md §9.2: each event once for the whole cluster, by
// one node, also when a node dies). Every node follows the cluster-wide transitions on
// its own view (appevents.go); the event's owner alone emits it. The owner of a key (a
// user, or a room) is chosen by rendezvous hashing over the nodes this hub believes
// alive: itself, every node heard from (RemoteAlive, a connection it announced), minus
// those the link reported gone (RemoteGone, after their expiry). Nodes with the same
// view pick the same owner, and a node joining or leaving moves only the keys it wins
// or held.
//
// Views differ for a moment, and this is what that costs:
//   - A node joining is heard by the others at slightly different times. Until all have
//     heard it, two nodes may each believe themselves the owner of a key it now wins:
//     an event then goes out twice, with the same ID when both saw the same cause.
//   - A node that died stays the owner of its keys until its expiry. An event it owned
//     meanwhile would be lost, so every other node holds the events it left to an owner
//     (deferred, at most maxDeferred) until that owner is heard again after them (it is
//     alive, and hears the same news); when the owner is reported gone instead, the new
//     owner emits them, with their IDs (at the time it saw them). So an event is lost
//     only when its owner is heard once more after the others saw it and then dies
//     before that news reached it (about one message's travel), or when more than
//     maxDeferred wait; and one the dead owner did send goes out again, same ID.
//   - The IDs derive from the event's cause (the connection, or a node's presence in a
//     room, with when it began), which every node knows alike, so a receiver drops a
//     repeat by its ID; two different events share one only by a 128-bit collision.
//   - A node that starts learns the others' presence from their snapshots: arrivals
//     that began before it started (by the cause's time on its node's clock) are state,
//     not news, and it sends none of them, though it may own them now. With clocks
//     apart by d, an arrival within d of its start may be taken for old (a gap of that
//     window) or for new (a repeat, same ID).
//   - A user's offline stays with the node that owned it when the grace began, unless
//     that node is gone by its end: a node joining during a grace knows nothing of it.
//   - A node shutting down sends the room events of its own users' departures that it
//     owns; the others, told it is gone, send them too, with the same IDs.
//
// Users of a node that dies keep their connections in the view until the node expires;
// then they vanish (RemoteConn closes, room counts drop) and go offline on the owner
// after the grace, as after any departure.

// RemoteGone says the link dropped Node (expired, said bye, or restarted): it owns no
// more events, and those it may have missed go to their new owners.
type RemoteGone struct{ Node string }

func (RemoteGone) clusterEvent() {}

// maxDeferred bounds the events held for owners not heard from since (see above); over
// it the oldest are forgotten.
const maxDeferred = 10000

// deferredEvent is an event this node left to its owner, seen at seen (unix ns).
type deferredEvent struct {
	owner string
	key   string
	seen  int64
	ev    AppEvent
}

// owner returns the node that owns key: the alive node with the highest score.
func (p *cluster) owner(key string) string {
	best, bestScore := p.h.cfg.NodeID, score(p.h.cfg.NodeID, key)
	for node := range p.alive {
		if s := score(node, key); s > bestScore || s == bestScore && node > best {
			best, bestScore = node, s
		}
	}
	return best
}

// score is rendezvous hashing's weight of node for key: FNV-1a over node, a NUL and
// key, then murmur3's finalizer (FNV alone barely moves its high bits for names that
// differ in one letter, and the highest score wins).
func score(node, key string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(node); i++ {
		h = (h ^ uint64(node[i])) * prime
	}
	h *= prime // the NUL
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * prime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	return h ^ h>>33
}

// isAlive reports whether node is this one or one believed alive.
func (p *cluster) isAlive(node string) bool { return node == p.h.cfg.NodeID || p.alive[node] }

// emit sends ev (of key, caused by c) when this node owns it: owner, when set, is the
// node chosen earlier, which keeps it while alive. Another owner's event is deferred.
// An arrival that began before this hub started is old news (see above).
func (p *cluster) emit(key, owner string, ev AppEvent, c cause, out *Outbox) {
	if c.at > 0 && c.at < p.started && arrival(ev.Type) {
		return
	}
	ev.ID = eventID(ev.Type, ev.User, ev.Room, c)
	if owner == "" || !p.isAlive(owner) {
		owner = p.owner(key)
	}
	if owner == p.h.cfg.NodeID {
		sendAppEvent(ev, out)
		return
	}
	if len(p.deferred) >= maxDeferred {
		p.deferred[0] = deferredEvent{}
		p.deferred = p.deferred[1:]
	}
	p.deferred = append(p.deferred, deferredEvent{owner: owner, key: key, seen: p.h.now.UnixNano(), ev: ev})
}

// arrival reports whether t says something began (its cause's time is that beginning).
func arrival(t AppEventType) bool {
	return t == UserOnline || t == RoomOccupied || t == MemberAdded
}

// start notes when this hub started: the time of its first event.
func (p *cluster) start() {
	if p.started == 0 {
		p.started = p.h.now.UnixNano()
	}
}

// nodeAlive notes that node is alive; the events it owns that this node saw before now
// are its own to send.
func (p *cluster) nodeAlive(node string) {
	if node == p.h.cfg.NodeID || node == "" {
		return
	}
	p.alive[node] = true
	now := p.h.now.UnixNano()
	p.deferred = slices.DeleteFunc(p.deferred, func(d deferredEvent) bool { return d.owner == node && d.seen < now })
}

// nodeGone forgets node: the events it owned and may not have sent go to their new
// owners, this node's among them sent now.
func (p *cluster) nodeGone(node string, out *Outbox) {
	if !p.alive[node] {
		return
	}
	delete(p.alive, node)
	self := p.h.cfg.NodeID
	p.deferred = slices.DeleteFunc(p.deferred, func(d deferredEvent) bool {
		if d.owner != node {
			return false
		}
		if p.owner(d.key) == self {
			sendAppEvent(d.ev, out)
		}
		return true // a new owner other than this one holds it too
	})
}

// connCause is the cause of an event about local connection c.
func (p *cluster) connCause(c *conn) cause {
	return cause{node: p.h.cfg.NodeID, conn: c.id, at: p.opened[c.id]}
}

// roomCause is the cause of an event about c's user's presence in r on this node.
func (p *cluster) roomCause(c *conn, r *room) cause {
	node := p.h.cfg.NodeID
	return cause{node: node, at: p.since[nodeRoomUser{node, r.name, c.user.id}]}
}
