package core

import "github.com/switchboard-ws/switchboard/core/proto"

// admin applies an operator request (PROTOCOL.md §6): its effects first, then its reply.
func (h *Hub) admin(req *AdminRequest, out *Outbox) {
	rep := &AdminReply{Ref: req.Ref, Op: req.Op, Status: 200}
	if msg := h.checkAdmin(req); msg != "" {
		rep.Status, rep.Error, rep.Message = 400, "bad_request", msg
		out.reply(rep)
		return
	}
	if h.undeclared(req.Room) {
		rep.Status, rep.Error, rep.Message = 404, "not_found", msgUndeclared
		out.reply(rep)
		return
	}
	if h.cfg.Cluster && h.clusterAdmin(req, rep, out) {
		return
	}
	switch req.Op {
	case AdminStats:
		rep.Stats = Stats{
			TotalConnections: len(h.conns),
			UniqueUsers:      len(h.users),
			MaxConnections:   h.cfg.MaxConns,
			Rooms:            len(h.rooms),
			NodeID:           h.cfg.NodeID,
		}
	case AdminUsers:
		rep.Users = append([]string{}, h.sortedUsers()...)
		rep.Total = len(rep.Users)
	case AdminRooms:
		names := h.sortedRooms()
		rep.Rooms = make([]RoomInfo, len(names))
		for i, name := range names {
			rep.Rooms[i] = RoomInfo{Name: name, Members: h.rooms[name].users()}
		}
		rep.Total = len(rep.Rooms)
	case AdminRoomMembers:
		rep.Room, rep.Members = req.Room, []string{}
		if r := h.rooms[req.Room]; r != nil {
			rep.Members = r.appendUsers(rep.Members)
		}
	case AdminBroadcast:
		m := proto.NewMessage(proto.MsgBroadcast)
		m.Sender, m.Time = ServerSender, h.now
		m.Content = append(m.Content[:0], req.Content...)
		rep.Delivered = h.deliverAll(m, req.Exclude, out)
	case AdminPublish:
		m := proto.NewMessage(proto.MsgChat)
		m.Room, m.Sender, m.Time = req.Room, ServerSender, h.now
		m.Content = append(m.Content[:0], req.Content...)
		if r := h.rooms[req.Room]; r != nil {
			m.Room = r.name
			rep.Delivered = h.deliverChat(r, m, out)
			rep.Offset = m.Offset
		} else if keep, ttl := h.streamPolicy(req.Room); keep > 0 && ttl > 0 {
			s := h.streamOf(req.Room) // kept for members to come (§10.2)
			m.Room = s.name
			h.append(s, m, out)
			rep.Offset = m.Offset
			m.Release()
		} else {
			m.Release()
		}
	case AdminHistory:
		h.history(req, rep)
	case AdminSendUser:
		u := h.users[req.User]
		if u == nil {
			rep.Status, rep.Error, rep.Message = 404, "not_found", "user is not online"
			break
		}
		m := proto.NewMessage(proto.MsgPrivate)
		m.Sender, m.To, m.Time = ServerSender, u.id, h.now
		m.Content = append(m.Content[:0], req.Content...)
		rep.Delivered = h.deliverPrivate(m, u, nil, out)
	case AdminDisconnect:
		if u := h.users[req.User]; u != nil {
			for len(u.conns) > 0 { // the user is forgotten with its last conn
				h.closeConn(u.conns[0], CloseKicked, ReasonKicked, out)
				rep.Closed++
			}
		}
	case AdminJoinRoom:
		u := h.users[req.User]
		if u == nil {
			rep.Status, rep.Error, rep.Message = 404, "not_found", "user is not online"
			break
		}
		rep.Joined = h.seatUser(u, req.Room, out)
	case AdminLeaveRoom:
		if u := h.users[req.User]; u != nil {
			rep.Left = h.unseatUser(u, req.Room, out)
		}
	case AdminSystem:
		m := proto.NewMessage(proto.MsgSystem)
		m.Time = h.now
		m.Content = append(m.Content[:0], req.Content...)
		if req.Room == "" {
			rep.Delivered = h.deliverAll(m, "", out)
		} else if r := h.rooms[req.Room]; r != nil {
			m.Room = r.name
			mark := out.mark()
			r.addTargets(out)
			rep.Delivered = out.deliver(m, mark)
		} else {
			m.Release()
		}
	}
	out.reply(rep)
}

// checkAdmin validates the fields req.Op uses and returns what is wrong, or "".
func (h *Hub) checkAdmin(req *AdminRequest) string {
	needRoom, optRoom, needUser, needContent := false, false, false, false
	switch req.Op {
	case AdminStats, AdminUsers, AdminRooms:
	case AdminRoomMembers, AdminHistory:
		needRoom = true
	case AdminBroadcast:
		needContent = true
		if req.Exclude != "" && !validUser(req.Exclude) {
			return "exclude must be a user id: 1–64 characters of A-Z a-z 0-9 _ . @ -"
		}
	case AdminPublish:
		needRoom, needContent = true, true
	case AdminSendUser:
		needUser, needContent = true, true
	case AdminDisconnect:
		needUser = true
	case AdminJoinRoom, AdminLeaveRoom:
		needUser, needRoom = true, true
	case AdminSystem:
		optRoom, needContent = true, true
	default:
		return "unknown operation"
	}
	switch {
	case (needRoom || optRoom && req.Room != "") && !validRoom(req.Room):
		return "room must be 1–128 characters of A-Z a-z 0-9 _ . : @ / -"
	case needUser && !validUser(req.User):
		return "user must be 1–64 characters of A-Z a-z 0-9 _ . @ -"
	case needContent && req.Content == "":
		return "content is required"
	case needContent && h.cfg.MaxMessageBytes > 0 && len(req.Content) > h.cfg.MaxMessageBytes:
		return "content is larger than the server accepts"
	}
	return ""
}

// Body returns the reply as the admin HTTP API answers it (PROTOCOL.md §6), ready for
// encoding/json: the error object when Status is not 200.
func (r *AdminReply) Body() any {
	if r.Status != 200 {
		return struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}{r.Error, r.Message}
	}
	switch r.Op {
	case AdminStats:
		return r.Stats
	case AdminUsers:
		return struct {
			Users []string `json:"users"`
			Total int      `json:"total"`
		}{nonNil(r.Users), r.Total}
	case AdminRooms:
		rooms := r.Rooms
		if rooms == nil {
			rooms = []RoomInfo{}
		}
		return struct {
			Rooms []RoomInfo `json:"rooms"`
			Total int        `json:"total"`
		}{rooms, r.Total}
	case AdminRoomMembers:
		return struct {
			Room    string   `json:"room"`
			Members []string `json:"members"`
		}{r.Room, nonNil(r.Members)}
	case AdminPublish:
		return struct {
			Delivered int    `json:"delivered"`
			Offset    uint64 `json:"offset"`
		}{r.Delivered, r.Offset}
	case AdminDisconnect:
		return struct {
			Closed int `json:"closed"`
		}{r.Closed}
	case AdminHistory:
		msgs := make([]historyFrame, len(r.Messages))
		for i, m := range r.Messages {
			msgs[i] = historyFrame{"chat", r.Room, m.Sender, string(m.Content), m.Offset,
				proto.Timestamp(m.Time)}
		}
		return struct {
			Room     string         `json:"room"`
			Epoch    string         `json:"epoch"`
			Offset   uint64         `json:"offset"`
			Messages []historyFrame `json:"messages"`
		}{r.Room, r.Epoch, r.Offset, msgs}
	case AdminJoinRoom:
		return struct {
			Joined int `json:"joined"`
		}{r.Joined}
	case AdminLeaveRoom:
		return struct {
			Left int `json:"left"`
		}{r.Left}
	default: // broadcast, send, system
		return struct {
			Delivered int `json:"delivered"`
		}{r.Delivered}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// historyFrame is a held message as a history reply lists it: the chat frame a client
// gets (PROTOCOL.md §4).
type historyFrame struct {
	Type      string `json:"type"`
	Room      string `json:"room"`
	Sender    string `json:"sender"`
	Content   string `json:"content"`
	Offset    uint64 `json:"offset"`
	Timestamp string `json:"timestamp"`
}
