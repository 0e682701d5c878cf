package core

import (
	"slices"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// clusterEvent applies what another node reported.
func (h *Hub) clusterEvent(ev *ClusterEvent, out *Outbox) {
	h.clusterInit()
	switch ev.Kind {
	case RemoteChat:
		h.remoteChat(ev, out)
	case RemoteRoomGap:
		if r := h.rooms[ev.Room]; r != nil {
			r.deliver(historyGap(r.name), out)
		}
	case RemotePrivate:
		name := ev.To
		if ev.Copy {
			name = ev.Sender
		}
		if u := h.users[name]; u != nil {
			m := proto.NewMessage(proto.MsgPrivate)
			m.Sender, m.To, m.Time = ev.Sender, ev.To, ev.Time
			m.Content = append(m.Content[:0], ev.Content...)
			h.deliverPrivate(m, u, nil, out)
		}
	case RemoteBroadcast:
		m := proto.NewMessage(proto.MsgBroadcast)
		m.Sender, m.Time = ev.Sender, ev.Time
		m.Content = append(m.Content[:0], ev.Content...)
		h.deliverAll(m, ev.Exclude, out)
	case RemoteSystem:
		m := proto.NewMessage(proto.MsgSystem)
		m.Time = ev.Time
		m.Content = append(m.Content[:0], ev.Content...)
		if ev.Room == "" {
			h.deliverAll(m, "", out)
		} else if r := h.rooms[ev.Room]; r != nil {
			m.Room = r.name
			mark := out.mark()
			r.addTargets(out)
			out.deliver(m, mark)
		} else {
			m.Release()
		}
	case RemoteKick:
		if u := h.users[ev.User]; u != nil {
			for len(u.conns) > 0 {
				h.closeConn(u.conns[0], CloseKicked, ReasonKicked, out)
			}
		}
	case RemoteSeat, RemoteUnseat:
		if u := h.users[ev.User]; u != nil && validRoom(ev.Room) {
			if ev.Kind == RemoteSeat {
				h.seatUser(u, ev.Room, out)
			} else {
				h.unseatUser(u, ev.Room, out)
			}
		}
	case RemoteConn:
		if ev.Open { // a close may be the expiry's, said for a dead node
			h.nodeHeard(ev.Node, out)
		}
		h.remoteConn(ev, out)
	case RemoteRoomPresence:
		h.remotePresence(ev, out)
	case RemoteAlive:
		h.nodeHeard(ev.Node, out)
	case RemoteRecovered:
		h.remoteRecovered(ev, out)
	case RemoteEpoch:
		h.remoteEpoch(ev, out)
	case RemoteRoomEvent:
		if r := h.rooms[ev.Room]; r != nil {
			m := proto.NewMessage(proto.MsgEvent)
			m.Room, m.Sender, m.Time = r.name, ev.Sender, ev.Time
			m.Event = append(m.Event[:0], ev.Event...)
			m.Content = append(m.Content[:0], ev.Content...)
			mark := out.mark()
			r.addTargets(out)
			out.deliver(m, mark)
		}
	case RemotePublished:
		if pa, ok := h.cl.acks[ev.Ref]; ok {
			delete(h.cl.acks, ev.Ref)
			if h.conns[pa.conn] != nil && !ev.Failed {
				m := proto.NewMessage(proto.MsgAck)
				m.ID = append(m.ID[:0], pa.id...)
				m.Offset, m.HasOffset = ev.Offset, true
				out.deliverTo(m, pa.conn)
			}
			return
		}
		rep := h.cl.publishing[ev.Ref]
		if rep == nil {
			return
		}
		delete(h.cl.publishing, ev.Ref)
		if ev.Failed {
			rep.Status, rep.Error, rep.Message, rep.Delivered = 503, "unavailable", "the cluster did not store the message", 0
		} else {
			rep.Offset = ev.Offset
		}
		out.reply(rep)
	}
}

// remoteEpoch adopts the cluster stream's epoch. A new one after another (the stream was
// lost, e.g. NATS restarted on an empty store) restarts every room's offsets at 1: the
// offsets this node knows are reset, and every local member gets history_gap, so that a
// client stops taking the smaller offsets to come for replays and knows it may have
// missed chats; a later since join naming the old epoch gets history_gap too.
func (h *Hub) remoteEpoch(ev *ClusterEvent, out *Outbox) {
	old := h.cl.epoch
	if ev.Epoch == "" || ev.Epoch == old {
		return
	}
	h.cl.epoch = ev.Epoch
	if old == "" {
		return // the first one: nothing was numbered before it
	}
	for _, s := range h.streams {
		s.offset = 0
	}
	for k, rec := range h.cl.recovering {
		if !rec.pending {
			delete(h.cl.recovering, k) // its bound is an old offset: the new ones all follow it
		}
	}
	for _, name := range h.sortedRooms() {
		r := h.rooms[name]
		if r.members.live > 0 {
			r.deliver(historyGap(r.name), out)
		}
	}
}

// remoteChat delivers a sequenced chat to the room's local members, except those still
// catching up (they get it with their recovered chats).
func (h *Hub) remoteChat(ev *ClusterEvent, out *Outbox) {
	r := h.rooms[ev.Room]
	if r == nil || r.members.live == 0 {
		return
	}
	if ev.Offset > r.s.offset {
		r.s.offset = ev.Offset
	}
	m := proto.NewMessage(proto.MsgChat)
	m.Room, m.Sender, m.Offset, m.Time = r.name, ev.Sender, ev.Offset, ev.Time
	m.Content = append(m.Content[:0], ev.Content...)
	mark := out.mark()
	for _, c := range r.members.slots {
		if c == nil {
			continue
		}
		if len(h.cl.recovering) > 0 {
			key := connRoom{c.id, r.name}
			if rec, ok := h.cl.recovering[key]; ok {
				if rec.pending || ev.Offset <= rec.bound {
					continue
				}
				delete(h.cl.recovering, key)
			}
		}
		out.addTarget(c.id)
	}
	out.deliver(m, mark)
}

func (h *Hub) remoteRecovered(ev *ClusterEvent, out *Outbox) {
	key := connRoom{ev.Conn, ev.Room}
	rec, ok := h.cl.recovering[key]
	c := h.conns[ev.Conn]
	if !ok || !rec.pending || c == nil {
		return // the conn left the room (or is gone) meanwhile
	}
	gap := ev.Gap || rec.bound != 0 // bound set while pending: the epoch was another
	if r := h.rooms[ev.Room]; r != nil && ev.Offset > r.s.offset {
		r.s.offset = ev.Offset
	}
	j := proto.NewMessage(proto.MsgJoined)
	j.Room, j.Epoch, j.Offset, j.Recovered = ev.Room, h.clusterEpoch(), ev.Offset, !gap
	out.deliverTo(j, c.id)
	if gap {
		out.deliverTo(historyGap(ev.Room), c.id)
	}
	for _, ch := range ev.Chats {
		m := proto.NewMessage(proto.MsgChat)
		m.Room, m.Sender, m.Offset, m.Time = ev.Room, ch.Sender, ch.Offset, ch.Time
		m.Content = append(m.Content[:0], ch.Content...)
		out.deliverTo(m, c.id)
	}
	if r := h.rooms[ev.Room]; rec.welcome && r != nil {
		out.deliverTo(r.userJoined(c.user.id, h.now), c.id)
	}
	if rec.hasAck {
		m := proto.NewMessage(proto.MsgAck)
		m.ID = append(m.ID[:0], rec.ack...)
		out.deliverTo(m, c.id)
	}
	h.cl.recovering[key] = recovery{bound: ev.Offset}
}

func (h *Hub) remoteConn(ev *ClusterEvent, out *Outbox) {
	k := nodeConn{ev.Node, ev.Conn}
	if ev.Open {
		if _, dup := h.cl.conns[k]; dup {
			return
		}
		h.cl.conns[k] = remoteConn{user: ev.User, order: ev.Order, seen: h.now.UnixNano()}
		uc := h.cl.userConns[ev.User]
		if uc == nil {
			uc = map[nodeConn]int64{}
			h.cl.userConns[ev.User] = uc
			h.userNames.dirty = true
		}
		uc[k] = ev.Order
		h.clusterLimit(ev.User, out)
		return
	}
	rc, ok := h.cl.conns[k]
	if !ok {
		return
	}
	delete(h.cl.conns, k)
	if uc := h.cl.userConns[rc.user]; uc != nil {
		delete(uc, k)
		if len(uc) == 0 {
			delete(h.cl.userConns, rc.user)
			h.userNames.dirty = true
		}
	}
	if h.cl.limitWait[rc.user] {
		h.clusterLimit(rc.user, out) // perhaps no longer over the limit
	}
}

// nodeHeard notes that node spoke now; users whose limit waited for it are checked.
func (h *Hub) nodeHeard(node string, out *Outbox) {
	h.cl.heard[node] = h.now.UnixNano()
	if len(h.cl.limitWait) == 0 {
		return
	}
	users := make([]string, 0, len(h.cl.limitWait))
	for name := range h.cl.limitWait {
		users = append(users, name)
	}
	slices.Sort(users) // closes come out in one order
	for _, name := range users {
		h.clusterLimit(name, out)
	}
}

// remotePresence moves the presence another node reports for (Room, User) into the
// room's presence, announcing a user's first arrival and last departure cluster-wide.
func (h *Hub) remotePresence(ev *ClusterEvent, out *Outbox) {
	if !validRoom(ev.Room) || !validUser(ev.User) {
		return
	}
	k := nodeRoomUser{ev.Node, ev.Room, ev.User}
	old, now := h.cl.rooms[k], int32(max(ev.Count, 0))
	if old == now {
		return
	}
	if now > 0 {
		h.cl.rooms[k] = now
	} else {
		delete(h.cl.rooms, k)
	}
	r := h.rooms[ev.Room]
	if r == nil {
		if now < old {
			return
		}
		r = h.createRoom(ev.Room)
	}
	for i := old; i < now; i++ {
		if r.addPresence(ev.User) && !r.quiet() {
			r.deliver(r.userJoined(ev.User, h.now), out)
		}
	}
	for i := now; i < old; i++ {
		if r.removePresence(ev.User) && !r.quiet() {
			m := proto.NewMessage(proto.MsgUserLeft)
			m.Room, m.UserID, m.Time = r.name, ev.User, h.now
			mark := out.mark()
			r.addTargets(out)
			out.deliver(m, mark)
		}
	}
	if r.empty() {
		h.deleteRoom(r, out)
	}
}

// remotePresenceCounts adds other nodes' presence in room to count (Verify).
func (h *Hub) remotePresenceCounts(room string, count map[string]int32) {
	for k, n := range h.cl.rooms {
		if k.room == room {
			count[k.user] += n
		}
	}
}
