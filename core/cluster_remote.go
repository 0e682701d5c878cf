package core

import (
	"slices"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// step applies what another node (or the cluster link) reported.
func (p *cluster) step(e ClusterEvent, out *Outbox) error {
	h := p.h
	p.start()
	switch ev := e.(type) {
	case RemoteChat:
		p.remoteChat(&ev, out)
	case RemoteRoomGap:
		if r := h.rooms[ev.Room]; r != nil {
			out.toRoom(historyGap(r.name), r)
		}
	case RemotePrivate:
		name := ev.To
		if ev.Copy {
			name = ev.Sender
		}
		if u := h.users[name]; u != nil {
			out.toUser(privateMsg(ev.Sender, ev.To, ev.Content, ev.Time), u, nil)
		}
	case RemoteBroadcast:
		out.toAll(broadcastMsg(ev.Sender, ev.Content, ev.Time), &h.all, ev.Exclude)
	case RemoteSystem:
		if ev.Room == "" {
			out.toAll(systemMsg("", ev.Content, ev.Time), &h.all, "")
		} else if r := h.rooms[ev.Room]; r != nil {
			out.toRoom(systemMsg(r.name, ev.Content, ev.Time), r)
		}
	case RemoteKick:
		if u := h.users[ev.User]; u != nil {
			for len(u.conns) > 0 {
				h.closeConn(u.conns[0], CloseKicked, ReasonKicked, out)
			}
		}
	case RemoteSeat:
		if u := h.users[ev.User]; u != nil && validRoom(ev.Room) {
			if ev.Leave {
				h.unseatUser(u, ev.Room, out)
			} else {
				h.seatUser(u, ev.Room, out)
			}
		}
	case RemoteConn:
		if ev.Open { // a close may be the expiry's, said for a dead node
			p.nodeHeard(ev.Node, out)
		}
		p.remoteConn(&ev, out)
	case RemoteRoomPresence:
		p.remotePresence(&ev, out)
	case RemoteAlive:
		p.nodeHeard(ev.Node, out)
	case RemoteGone:
		p.nodeGone(ev.Node, out)
	case RemoteRecovered:
		p.recovered(&ev, out)
	case RemoteEpoch:
		p.remoteEpoch(ev.Epoch, out)
	case RemoteRoomMessage:
		if r := h.rooms[ev.Room]; r != nil && int(ev.Type) < proto.NumMessageTypes {
			out.toRoom(roomMsg(ev.Type, r, ev.Sender, ev.Event, ev.Content, ev.Time), r)
		}
	case RemotePublished:
		p.published(&ev, out)
	default:
		return ErrUnknownEvent
	}
	return nil
}

// published acks a client's chat, or answers an operator's publish, once sequenced.
func (p *cluster) published(ev *RemotePublished, out *Outbox) {
	if pa, ok := p.acks[ev.Ref]; ok {
		delete(p.acks, ev.Ref)
		if p.h.conns[pa.conn] != nil && !ev.Failed {
			m := proto.NewMessage(proto.MsgAck)
			m.ID = append(m.ID[:0], pa.id...)
			m.Offset, m.HasOffset = ev.Offset, true
			out.deliverTo(m, pa.conn)
		}
		return
	}
	rep := p.publishing[ev.Ref]
	if rep == nil {
		return
	}
	delete(p.publishing, ev.Ref)
	if ev.Failed {
		rep.Status, rep.Error, rep.Message, rep.Delivered = 503, "unavailable", "the cluster did not store the message", 0
	} else {
		rep.Offset = ev.Offset
	}
	out.reply(rep)
}

// remoteEpoch adopts the cluster stream's epoch. A new one after another (the stream was
// lost, e.g. NATS restarted on an empty store) restarts every room's offsets at 1: the
// offsets this node knows are reset, and every local member gets history_gap, so that a
// client stops taking the smaller offsets to come for replays and knows it may have
// missed chats; a later since join naming the old epoch gets history_gap too.
func (p *cluster) remoteEpoch(epoch string, out *Outbox) {
	h := p.h
	old := p.epoch
	if epoch == "" || epoch == old {
		return
	}
	p.epoch = epoch
	if old == "" {
		return // the first one: nothing was numbered before it
	}
	for _, s := range h.streams {
		s.offset = 0
	}
	for k, rec := range p.recovering {
		if !rec.pending {
			delete(p.recovering, k) // its bound is an old offset: the new ones all follow it
		}
	}
	for _, name := range h.sortedRooms() {
		r := h.rooms[name]
		if r.members.live > 0 {
			out.toRoom(historyGap(r.name), r)
		}
	}
}

// remoteChat delivers a sequenced chat to the room's local members, except those still
// catching up (they get it with their recovered chats).
func (p *cluster) remoteChat(ev *RemoteChat, out *Outbox) {
	r := p.h.rooms[ev.Room]
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
		if len(p.recovering) > 0 {
			key := connRoom{c.id, r.name}
			if rec, ok := p.recovering[key]; ok {
				if rec.pending || ev.Offset <= rec.bound {
					continue
				}
				delete(p.recovering, key)
			}
		}
		out.addTarget(c.id)
	}
	out.deliver(m, mark)
}

// recovered sends a connection that joined with since what the cluster holds for it:
// joined, history_gap when some is lost, the chats, its own user_joined, the join's ack.
func (p *cluster) recovered(ev *RemoteRecovered, out *Outbox) {
	h := p.h
	key := connRoom{ev.Conn, ev.Room}
	rec, ok := p.recovering[key]
	c := h.conns[ev.Conn]
	if !ok || !rec.pending || c == nil {
		return // the conn left the room (or is gone) meanwhile
	}
	gap := ev.Gap || rec.bound != 0 // bound set while pending: the epoch was another
	if r := h.rooms[ev.Room]; r != nil && ev.Offset > r.s.offset {
		r.s.offset = ev.Offset
	}
	j := proto.NewMessage(proto.MsgJoined)
	x := j.Extra()
	j.Room, x.Epoch, j.Offset, x.Recovered = ev.Room, p.currentEpoch(), ev.Offset, !gap
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
	p.recovering[key] = recovery{bound: ev.Offset}
}

func (p *cluster) remoteConn(ev *RemoteConn, out *Outbox) {
	h := p.h
	k := nodeConn{ev.Node, ev.Conn}
	if ev.Open {
		if _, dup := p.remotes[k]; dup {
			return
		}
		p.remotes[k] = remoteConn{user: ev.User, order: ev.Order, seen: h.now.UnixNano()}
		uc := p.byUser[ev.User]
		if uc == nil {
			uc = map[nodeConn]int64{}
			p.byUser[ev.User] = uc
			h.userNames.dirty = true
			if h.users[ev.User] == nil { // its first connection anywhere
				h.userArrived(ev.User, cause{ev.Node, ev.Conn, ev.Order}, out)
			}
		}
		uc[k] = ev.Order
		p.limit(ev.User, out)
		return
	}
	rc, ok := p.remotes[k]
	if !ok {
		return
	}
	delete(p.remotes, k)
	if uc := p.byUser[rc.user]; uc != nil {
		delete(uc, k)
		if len(uc) == 0 {
			delete(p.byUser, rc.user)
			h.userNames.dirty = true
			if h.users[rc.user] == nil { // its last connection anywhere
				h.userDeparted(rc.user, cause{ev.Node, ev.Conn, rc.order}, out)
			}
		}
	}
	if p.limitWait[rc.user] {
		p.limit(rc.user, out) // perhaps no longer over the limit
	}
}

// nodeHeard notes that node spoke now; users whose limit waited for it are checked.
func (p *cluster) nodeHeard(node string, out *Outbox) {
	p.heard[node] = p.h.now.UnixNano()
	p.nodeAlive(node)
	if len(p.limitWait) == 0 {
		return
	}
	users := make([]string, 0, len(p.limitWait))
	for name := range p.limitWait {
		users = append(users, name)
	}
	slices.Sort(users) // closes come out in one order
	for _, name := range users {
		p.limit(name, out)
	}
}

// remotePresence moves the presence another node reports for (Room, User) into the
// room's presence, announcing a user's first arrival and last departure cluster-wide.
func (p *cluster) remotePresence(ev *RemoteRoomPresence, out *Outbox) {
	h := p.h
	if !validRoom(ev.Room) || !validUser(ev.User) {
		return
	}
	k := nodeRoomUser{ev.Node, ev.Room, ev.User}
	old, now := p.inRooms[k], int32(max(ev.Count, 0))
	if old == now {
		return
	}
	if now > 0 {
		p.inRooms[k] = now
	} else {
		delete(p.inRooms, k)
	}
	c := cause{node: ev.Node, at: p.since[k]}
	if old == 0 {
		c.at = ev.Began
		p.since[k] = ev.Began
	} else if now == 0 {
		delete(p.since, k)
	}
	r := h.rooms[ev.Room]
	if r == nil {
		if now < old {
			return
		}
		r = h.createRoom(ev.Room)
	}
	for i := old; i < now; i++ {
		empty := r.users() == 0
		first := r.addPresence(ev.User)
		h.roomEntered(r, ev.User, empty, first, c, out)
		if first && !r.quiet() {
			out.toRoom(r.userJoined(ev.User, h.now), r)
		}
	}
	for i := now; i < old; i++ {
		last := r.removePresence(ev.User)
		h.roomLeft(r, ev.User, last, c, out)
		if last && !r.quiet() {
			out.toRoom(r.userLeft(ev.User, h.now), r)
		}
	}
	if r.empty() {
		h.deleteRoom(r, out)
	}
}
