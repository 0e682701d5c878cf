package core

import "github.com/switchboard-ws/switchboard/core/proto"

// peers is what differs between a hub alone and a hub that is one node of a cluster, in
// the way etcd's raft swaps its step function per role: requests are handled once, in
// request.go and admin.go, and call these few operations where other nodes matter.
// solo (below) is a hub alone; cluster (cluster.go) is one node of many. New picks one.
type peers interface {
	// admit applies, right after c's connected frame, its token's subs and the per-user
	// limit.
	admit(c *conn, out *Outbox)
	// gone is told that c, already out of its rooms and the hub, is gone.
	gone(c *conn, out *Outbox)
	// moved is told that c just joined or left r, before anyone hears of it.
	moved(c *conn, r *room, out *Outbox)
	// enter tells c where it stands in r's stream (joined, any replay) and seats it
	// (PROTOCOL.md §10.1). It reports whether the join's ack comes later.
	enter(c *conn, r *room, req *proto.Request, out *Outbox) (ackLater bool)
	// chat sequences a client's room chat, delivers it and acks it (§10.4).
	chat(c *conn, r *room, req *proto.Request, out *Outbox)
	// publish sequences an operator's room chat (§6); later: its reply goes out later.
	publish(room, content string, rep *AdminReply, out *Outbox) (later bool)

	// The forwards tell the other nodes what the local connections were just given; a
	// count is how many connections of other nodes it reaches.
	forwardRoom(m *proto.Message, out *Outbox) // an unstored room message (deliverUnstored)
	forwardPrivate(sender, to string, content []byte, copies bool, out *Outbox)
	forwardBroadcast(sender, exclude string, content []byte, out *Outbox) int
	forwardSystem(room string, content []byte, out *Outbox)
	forwardKick(user string, out *Outbox)
	forwardSeat(user, room string, leave bool, out *Outbox)

	// What other nodes hold, as far as their news has arrived.
	conns() int                          // connections
	userConns(user string) int           // connections of user
	roomUserConns(room, user string) int // connections of user in room
	// online appends up to max user ids of every node, sorted, to dst and returns the
	// number of users.
	online(dst []string, max int) ([]string, int)
	// allUsers appends every user id of every node, sorted, to dst.
	allUsers(dst []string) []string
	// presenceCounts adds other nodes' connections in room, per user, to count (Verify).
	presenceCounts(room string, count map[string]int32)
	// keepsStreams reports whether this hub keeps the streams of rooms without members
	// (a cluster's live in the cluster).
	keepsStreams() bool
	// step applies what another node reported (EventCluster).
	step(ev ClusterEvent, out *Outbox) error

	// App events (appevents.go, cluster_events.go). emit sends ev, of key (its user or
	// room) and caused by c, if this hub owns it; owner, when set, is the owner chosen
	// when it began. owner returns key's owner now ("" alone).
	emit(key, owner string, ev AppEvent, c cause, out *Outbox)
	owner(key string) string
	connCause(c *conn) cause          // an event about connection c
	roomCause(c *conn, r *room) cause // an event about c's user's presence in r here
}

// solo is a hub alone: every connection, user and room is local.
type solo struct{ h *Hub }

func (p solo) admit(c *conn, out *Outbox) {
	h := p.h
	h.joinSubs(c, out)
	if limit := h.cfg.MaxPerUser; limit > 0 {
		u := c.user
		for len(u.conns) > limit {
			h.closeConn(u.conns[0], CloseReplaced, replacedReason(limit), out)
		}
	}
}

// replacedReason is the reason of a close for the per-user limit (PROTOCOL.md §5).
func replacedReason(limit int) string {
	if limit == 1 {
		return ReasonReplaced
	}
	return ReasonTooMany
}

func (solo) gone(*conn, *Outbox)         {}
func (solo) moved(*conn, *room, *Outbox) {}

func (p solo) enter(c *conn, r *room, req *proto.Request, out *Outbox) bool {
	p.h.sendJoined(c, r, req, out)
	p.h.join(c, r, out)
	return false
}

func (p solo) chat(c *conn, r *room, req *proto.Request, out *Outbox) {
	h := p.h
	if req.HasID {
		if offset, seen := h.dedupe.seen(c.user.id, r.name, req.ID); seen {
			h.ackOffset(c, req, offset, out) // a resend: not stored or delivered again
			return
		}
	}
	m := proto.NewMessage(proto.MsgChat)
	m.Room, m.Sender, m.Time = r.name, c.user.id, h.now
	m.Content = append(m.Content[:0], req.Content...)
	if h.cfg.Durable && req.HasID { // the store keeps the id, so a resend after a restart is known
		m.ID = append(m.ID[:0], req.ID...)
	}
	h.deliverChat(r, m, out) // sets m.Offset; m stays valid until the outbox's Reset
	if req.HasID {
		h.dedupe.remember(c.user.id, r.name, req.ID, m.Offset, h.now.UnixNano(), h.cfg.DedupeWindow)
	}
	h.ackOffset(c, req, m.Offset, out)
}

func (p solo) publish(room, content string, rep *AdminReply, out *Outbox) bool {
	h := p.h
	m := proto.NewMessage(proto.MsgChat)
	m.Room, m.Sender, m.Time = room, ServerSender, h.now
	m.Content = append(m.Content[:0], content...)
	if r := h.rooms[room]; r != nil {
		m.Room = r.name
		rep.Delivered = h.deliverChat(r, m, out)
		rep.Offset = m.Offset
	} else if keep, ttl := h.streamPolicy(room); keep > 0 && ttl > 0 {
		s := h.streamOf(room) // kept for members to come (§10.2)
		m.Room = s.name
		h.append(s, m, out)
		rep.Offset = m.Offset
		m.Release()
	} else {
		m.Release()
	}
	return false
}

func (solo) forwardRoom(*proto.Message, *Outbox)                  {}
func (solo) forwardPrivate(string, string, []byte, bool, *Outbox) {}
func (solo) forwardBroadcast(string, string, []byte, *Outbox) int { return 0 }
func (solo) forwardSystem(string, []byte, *Outbox)                {}
func (solo) forwardKick(string, *Outbox)                          {}
func (solo) forwardSeat(string, string, bool, *Outbox)            {}

func (solo) conns() int                       { return 0 }
func (solo) userConns(string) int             { return 0 }
func (solo) roomUserConns(string, string) int { return 0 }

// online is O(max), however many users there are.
func (p solo) online(dst []string, max int) ([]string, int) {
	set := &p.h.userNames.set
	return set.appendFirst(dst, max), set.len()
}

func (p solo) allUsers(dst []string) []string {
	set := &p.h.userNames.set
	return set.appendFirst(dst, set.len())
}

func (solo) presenceCounts(string, map[string]int32) {}
func (solo) keepsStreams() bool                      { return true }
func (solo) step(ClusterEvent, *Outbox) error        { return ErrUnknownEvent }

// A hub alone owns every event; its sender numbers them (no ID, no cause needed).
func (solo) emit(_, _ string, ev AppEvent, _ cause, out *Outbox) { sendAppEvent(ev, out) }
func (solo) owner(string) string                                 { return "" }
func (solo) connCause(*conn) cause                               { return cause{} }
func (solo) roomCause(*conn, *room) cause                        { return cause{} }
