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
	switch req.Op {
	case AdminStats:
		_, users := h.peers.online(nil, 0)
		rep.Stats = Stats{
			TotalConnections: len(h.conns) + h.peers.conns(),
			UniqueUsers:      users,
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
		rep.Delivered = out.toAll(broadcastMsg(ServerSender, req.Content, h.now), &h.all, req.Exclude) +
			h.peers.forwardBroadcast(ServerSender, req.Exclude, []byte(req.Content), out)
	case AdminPublish:
		if h.peers.publish(req.Room, req.Content, rep, out) {
			return // answered when the cluster has sequenced it
		}
	case AdminHistory:
		h.history(req, rep)
	case AdminSendUser:
		rep.Delivered = h.onlineCount(req.User)
		if rep.Delivered == 0 {
			rep.Status, rep.Error, rep.Message = 404, "not_found", msgUserOffline
			break
		}
		if u := h.users[req.User]; u != nil {
			out.toUser(privateMsg(ServerSender, u.id, req.Content, h.now), u, nil)
		}
		h.peers.forwardPrivate(ServerSender, req.User, []byte(req.Content), false, out)
	case AdminDisconnect:
		rep.Closed = h.onlineCount(req.User)
		if u := h.users[req.User]; u != nil {
			for len(u.conns) > 0 { // the user is forgotten with its last conn
				h.closeConn(u.conns[0], CloseKicked, ReasonKicked, out)
			}
		}
		if rep.Closed > 0 {
			h.peers.forwardKick(req.User, out)
		}
	case AdminJoinRoom, AdminLeaveRoom:
		h.adminSeat(req, rep, out)
	case AdminSystem:
		if req.Room == "" {
			out.toAll(systemMsg("", req.Content, h.now), &h.all, "")
			rep.Delivered = len(h.conns) + h.peers.conns()
		} else if r := h.rooms[req.Room]; r != nil {
			out.toRoom(systemMsg(r.name, req.Content, h.now), r)
			rep.Delivered = r.conns() // on every node
		} else {
			break
		}
		h.peers.forwardSystem(req.Room, []byte(req.Content), out)
	}
	out.reply(rep)
}

// adminSeat is server-side membership (PROTOCOL.md §8.3): the user's connections here
// join or leave now, those on other nodes when told. The counts include the other
// nodes' connections as far as their presence news has arrived.
func (h *Hub) adminSeat(req *AdminRequest, rep *AdminReply, out *Outbox) {
	remote := h.peers.userConns(req.User)
	inRoom := h.peers.roomUserConns(req.Room, req.User)
	u := h.users[req.User]
	leave := req.Op == AdminLeaveRoom
	switch {
	case !leave && u == nil && remote == 0:
		rep.Status, rep.Error, rep.Message = 404, "not_found", msgUserOffline
		return
	case !leave:
		if u != nil {
			rep.Joined = h.seatUser(u, req.Room, out)
		}
		rep.Joined += remote - inRoom
	default:
		if u != nil {
			rep.Left = h.unseatUser(u, req.Room, out)
		}
		rep.Left += inRoom
	}
	// Told even when no other node is known to hold the user: presence news may be on
	// its way, and each node knows its own connections.
	h.peers.forwardSeat(req.User, req.Room, leave, out)
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
