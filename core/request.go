package core

import "github.com/switchboard-ws/switchboard/core/proto"

// Texts of the error frames the hub sends (static: an error costs no allocation).
const (
	msgRateLimited  = "rate limit exceeded: message dropped"
	msgNotMember    = "not a member of this room"
	msgUserOffline  = "user is not online"
	msgForbidden    = "client broadcast is disabled on this server"
	msgTooManyRooms = "this connection is in too many rooms"
	msgTooLarge     = "content is larger than the server accepts"
	msgHistoryGap   = "history no longer reaches back to since: some messages are lost"
	msgIdentified   = "this connection is already identified: send refresh for a new token"
)

// frame applies one client message from c: rate limit, parse, then the request.
func (h *Hub) frame(c *conn, payload []byte, out *Outbox) {
	if h.hold(c, payload, out) {
		return
	}
	h.raw = payload
	req := &h.req
	perr := proto.Parse(c.format, payload, req)
	if !h.allow(c, h.now.UnixNano()) {
		// Dropped, but the id (when the message had a readable one) is echoed.
		h.fail(c, proto.RateLimited, msgRateLimited, req, out)
		return
	}
	if perr != nil {
		h.fail(c, perr.Code, perr.Message, req, out)
		return
	}
	switch req.Type {
	case proto.ReqJoin:
		h.reqJoin(c, req, out)
	case proto.ReqLeave:
		h.reqLeave(c, req, out)
	case proto.ReqChat:
		h.reqChat(c, req, out)
	case proto.ReqPrivate:
		h.reqPrivate(c, req, out)
	case proto.ReqBroadcast:
		h.reqBroadcast(c, req, out)
	case proto.ReqEvent:
		h.reqEvent(c, req, out)
	case proto.ReqMembers:
		if h.hidesMembers(c, req, out) {
			break
		}
		m := proto.NewMessage(proto.MsgMembers)
		m.Room = string(req.Room) // allocates; members is not a hot path
		x := m.Extra()
		x.Members = x.Members[:0]
		if r := h.rooms[string(req.Room)]; r != nil {
			m.Room = r.name
			x.Members = r.appendUsers(x.Members)
		}
		out.deliverTo(m, c.id)
		h.ack(c, req, out)
	case proto.ReqOnline:
		m := proto.NewMessage(proto.MsgOnline)
		x := m.Extra()
		x.Users, x.Total = h.peers.online(x.Users[:0], h.cfg.MaxListed)
		out.deliverTo(m, c.id)
		h.ack(c, req, out)
	case proto.ReqPing:
		out.deliverTo(proto.NewMessage(proto.MsgPong), c.id)
		h.ack(c, req, out)
	case proto.ReqRefresh:
		h.reqRefresh(c, req, out)
	case proto.ReqAuth:
		h.fail(c, proto.BadRequest, msgIdentified, req, out)
	case proto.ReqRPC:
		h.reqRPC(c, req, out)
	default:
		h.fail(c, proto.UnknownType, "unknown type", req, out)
	}
}

func (h *Hub) reqJoin(c *conn, req *proto.Request, out *Outbox) {
	via, ok := h.mayJoin(c, req, out) // before the room exists: a refused join creates none
	if !ok {
		return
	}
	r := h.rooms[string(req.Room)]
	if r != nil && c.roomIndex(r) >= 0 {
		h.ack(c, req, out) // joining again changes nothing
		return
	}
	if limit := h.cfg.MaxRoomsPerConn; limit > 0 && len(c.rooms) >= limit {
		h.fail(c, proto.LimitExceeded, msgTooManyRooms, req, out)
		return
	}
	if r == nil {
		r = h.createRoom(string(req.Room))
	}
	later := h.enter(c, r, req, out)
	c.rooms[len(c.rooms)-1].via = via
	if !later {
		h.ack(c, req, out)
	}
}

// enter seats c in r as every join does, a client's, a token's subs or the admin's
// (PROTOCOL.md §10.1): joined first (and for a join with since, history_gap and the
// replay), then the join and its user_joined. It reports whether the join's ack comes
// later (a cluster recovery under way sends it); otherwise the caller acks.
func (h *Hub) enter(c *conn, r *room, req *proto.Request, out *Outbox) (ackLater bool) {
	return h.peers.enter(c, r, req, out)
}

// noPosition is a join without since, id or epoch, as server-side joins are.
var noPosition proto.Request

func (h *Hub) reqLeave(c *conn, req *proto.Request, out *Outbox) {
	i := -1
	if r := h.rooms[string(req.Room)]; r != nil {
		i = c.roomIndex(r)
	}
	if i < 0 {
		h.fail(c, proto.NotMember, msgNotMember, req, out)
		return
	}
	h.leave(c, i, out)
	h.ack(c, req, out)
}

// sendingRoom returns the room a chat or an event of c goes to, or nil when it may not
// go (the error is sent): c must be a member, allowed to publish, the content in bounds.
func (h *Hub) sendingRoom(c *conn, kind sendKind, req *proto.Request, out *Outbox) *room {
	r := h.rooms[string(req.Room)]
	if r == nil || c.roomIndex(r) < 0 {
		h.fail(c, proto.NotMember, msgNotMember, req, out)
		return nil
	}
	if !h.mayPublish(c, r, kind, req, out) {
		return nil
	}
	if h.tooLarge(req.Content) {
		h.fail(c, proto.TooLarge, msgTooLarge, req, out)
		return nil
	}
	return r
}

func (h *Hub) reqChat(c *conn, req *proto.Request, out *Outbox) {
	r := h.sendingRoom(c, sendChat, req, out)
	if r == nil {
		return
	}
	h.peers.chat(c, r, req, out)
}

// reqEvent sends an ephemeral event to the room's other connections (PROTOCOL.md §10.3):
// no offset, never stored or replayed.
func (h *Hub) reqEvent(c *conn, req *proto.Request, out *Outbox) {
	r := h.sendingRoom(c, sendEvent, req, out)
	if r == nil {
		return
	}
	h.deliverUnstored(roomMsg(proto.MsgEvent, r, c.user.id, req.Event, req.Content, h.now), r, c, out)
	h.ack(c, req, out)
}

func (h *Hub) reqPrivate(c *conn, req *proto.Request, out *Outbox) {
	if h.tooLarge(req.Content) {
		h.fail(c, proto.TooLarge, msgTooLarge, req, out)
		return
	}
	to := h.users[string(req.To)]
	var name string
	if to != nil {
		name = to.id
	} else if name = string(req.To); h.peers.userConns(name) == 0 {
		h.fail(c, proto.UserOffline, msgUserOffline, req, out)
		return
	}
	out.toUser(privateMsg(c.user.id, name, req.Content, h.now), to, c)
	h.peers.forwardPrivate(c.user.id, name, req.Content, true, out)
	h.ack(c, req, out)
}

func (h *Hub) reqBroadcast(c *conn, req *proto.Request, out *Outbox) {
	if !h.cfg.AllowClientBroadcast {
		h.fail(c, proto.Forbidden, msgForbidden, req, out)
		return
	}
	if h.tooLarge(req.Content) {
		h.fail(c, proto.TooLarge, msgTooLarge, req, out)
		return
	}
	out.toAll(broadcastMsg(c.user.id, req.Content, h.now), &h.all, "")
	h.peers.forwardBroadcast(c.user.id, "", req.Content, out)
	h.ack(c, req, out)
}

func (h *Hub) tooLarge(content []byte) bool {
	return h.cfg.MaxMessageBytes > 0 && len(content) > h.cfg.MaxMessageBytes
}

// ack confirms a request that carried an id, after its effects.
func (h *Hub) ack(c *conn, req *proto.Request, out *Outbox) {
	if !req.HasID {
		return
	}
	m := proto.NewMessage(proto.MsgAck)
	m.ID = append(m.ID[:0], req.ID...)
	out.deliverTo(m, c.id)
}

// ackOffset confirms a chat that carried an id with the offset it got (§10.4).
func (h *Hub) ackOffset(c *conn, req *proto.Request, offset uint64, out *Outbox) {
	if !req.HasID {
		return
	}
	m := proto.NewMessage(proto.MsgAck)
	m.ID = append(m.ID[:0], req.ID...)
	m.Offset, m.HasOffset = offset, true
	out.deliverTo(m, c.id)
}

// fail sends c an error frame carrying the id of req, when it had a readable one.
func (h *Hub) fail(c *conn, code proto.Code, text string, req *proto.Request, out *Outbox) {
	h.failNamed(c, code, "", text, req, out)
}

// failNamed is fail with the error code a backend named (named, when not empty, is sent
// instead of code's name: PROTOCOL.md §9.1).
func (h *Hub) failNamed(c *conn, code proto.Code, named, text string, req *proto.Request, out *Outbox) {
	m := proto.NewMessage(proto.MsgError)
	x := m.Extra()
	x.Code, x.ErrorCode, x.Text = code, named, text
	if req.HasID {
		m.ID, x.HasID = append(m.ID[:0], req.ID...), true
	}
	out.deliverTo(m, c.id)
}
