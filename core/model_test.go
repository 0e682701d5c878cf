package core

import (
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// model is a naive, map-and-slice version of the hub's rules, written to be obviously
// right rather than fast. Property tests step it beside the real hub and compare what
// each says happens, action by action.
type model struct {
	cfg    Config
	now    int64
	conns  map[ConnID]*modelConn
	order  []ConnID            // connect order
	rooms  map[string][]ConnID // join order
	offset map[string]uint64   // last offset of each existing room
}

type modelConn struct {
	user   string
	rooms  []string // join order
	tokens float64
	last   int64
}

func newModel(cfg Config) *model {
	return &model{cfg: cfg, conns: map[ConnID]*modelConn{}, rooms: map[string][]ConnID{}, offset: map[string]uint64{}}
}

// userConns returns the user's connections, oldest first.
func (m *model) userConns(user string) []ConnID {
	var ids []ConnID
	for _, id := range m.order {
		if m.conns[id].user == user {
			ids = append(ids, id)
		}
	}
	return ids
}

func (m *model) users() []string {
	var us []string
	for _, c := range m.conns {
		if !slices.Contains(us, c.user) {
			us = append(us, c.user)
		}
	}
	slices.Sort(us)
	return us
}

// presence returns the sorted users present in room.
func (m *model) presence(room string) []string {
	var us []string
	for _, id := range m.rooms[room] {
		if u := m.conns[id].user; !slices.Contains(us, u) {
			us = append(us, u)
		}
	}
	slices.Sort(us)
	return us
}

func (m *model) inRoom(id ConnID, room string) bool {
	return slices.Contains(m.rooms[room], id)
}

// The model speaks in summaries of actions, one string each.
func deliver(typ string, targets ...ConnID) string { return fmt.Sprintf("%s %v", typ, targets) }

func closeOf(id ConnID, code int) string { return fmt.Sprintf("close %d %d", id, code) }

// summarize renders the hub's actions as the model's summaries.
func summarize(out *Outbox) []string {
	var s []string
	for _, a := range out.Actions {
		switch a.Kind {
		case ActionDeliver:
			typ := a.Msg.Type.String()
			switch a.Msg.Type {
			case proto.MsgChat:
				typ = fmt.Sprintf("chat %s %d", a.Msg.Room, a.Msg.Offset)
			case proto.MsgError:
				typ = "error " + a.Msg.Extra().Code.String()
			case proto.MsgUserJoined:
				typ = fmt.Sprintf("user_joined %s %s %s", a.Msg.Room, a.Msg.UserID, strings.Join(a.Msg.Extra().Members, ","))
			case proto.MsgUserLeft:
				typ = fmt.Sprintf("user_left %s %s", a.Msg.Room, a.Msg.UserID)
			case proto.MsgJoined:
				typ = fmt.Sprintf("joined %s %d", a.Msg.Room, a.Msg.Offset)
			}
			s = append(s, deliver(typ, a.Targets...))
		case ActionClose:
			s = append(s, closeOf(a.Conn, int(a.Code)))
		case ActionAdminReply:
			s = append(s, fmt.Sprintf("reply %d", a.Reply.Status))
		}
	}
	return s
}

func (m *model) connect(id ConnID, user string) (want []string, err error) {
	if m.conns[id] != nil {
		return nil, ErrDuplicateConn
	}
	if m.cfg.MaxConns > 0 && len(m.conns) >= m.cfg.MaxConns {
		return []string{closeOf(id, CloseCapacity)}, nil
	}
	m.conns[id] = &modelConn{user: user, tokens: float64(max(m.cfg.Burst, 1)), last: m.now}
	m.order = append(m.order, id)
	want = append(want, deliver("connected", id))
	if limit := m.cfg.MaxPerUser; limit > 0 {
		for ids := m.userConns(user); len(ids) > limit; ids = ids[1:] {
			want = append(want, closeOf(ids[0], CloseReplaced))
			want = append(want, m.remove(ids[0])...)
		}
	}
	return want, nil
}

// remove forgets a connection and returns its departures.
func (m *model) remove(id ConnID) (want []string) {
	for len(m.conns[id].rooms) > 0 {
		want = append(want, m.leave(id, m.conns[id].rooms[0])...)
	}
	delete(m.conns, id)
	m.order = slices.DeleteFunc(m.order, func(x ConnID) bool { return x == id })
	return want
}

func (m *model) leave(id ConnID, room string) (want []string) {
	c := m.conns[id]
	c.rooms = slices.DeleteFunc(c.rooms, func(r string) bool { return r == room })
	m.rooms[room] = slices.DeleteFunc(m.rooms[room], func(x ConnID) bool { return x == id })
	if len(m.rooms[room]) == 0 {
		delete(m.rooms, room)
		delete(m.offset, room)
		return nil
	}
	if !slices.Contains(m.presence(room), c.user) {
		want = append(want, deliver("user_left "+room+" "+c.user, m.rooms[room]...))
	}
	return want
}

func (m *model) join(id ConnID, room string) (want []string) {
	c := m.conns[id]
	first := !slices.Contains(m.presence(room), c.user)
	want = append(want, deliver(fmt.Sprintf("joined %s %d", room, m.offset[room]), id))
	c.rooms = append(c.rooms, room)
	m.rooms[room] = append(m.rooms[room], id)
	if first {
		want = append(want, deliver(fmt.Sprintf("user_joined %s %s %s", room, c.user, strings.Join(m.presence(room), ",")), m.rooms[room]...))
	}
	return want
}

func (m *model) chat(room string) string {
	m.offset[room]++
	return deliver(fmt.Sprintf("chat %s %d", room, m.offset[room]), m.rooms[room]...)
}

// allow is the token bucket, as the protocol describes it.
func (m *model) allow(c *modelConn) bool {
	if m.cfg.Rate <= 0 {
		return true
	}
	if m.now > c.last {
		c.tokens = min(c.tokens+float64(m.now-c.last)*m.cfg.Rate/1e9, float64(max(m.cfg.Burst, 1)))
		c.last = m.now
	}
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// request is one client message of the property tests.
type request struct {
	typ, room, to string
	id            bool
	garbage       bool
}

func (r request) payload() []byte {
	if r.garbage {
		return []byte(`{"type":`)
	}
	s := `{"type":"` + r.typ + `"`
	if r.room != "" {
		s += `,"room":"` + r.room + `"`
	}
	if r.to != "" {
		s += `,"to":"` + r.to + `"`
	}
	if r.typ == "chat" || r.typ == "private" || r.typ == "broadcast" {
		s += `,"content":"x"`
	}
	if r.id {
		s += `,"id":"i"`
	}
	return []byte(s + "}")
}

func (m *model) frame(id ConnID, r request) (want []string, err error) {
	c := m.conns[id]
	if c == nil {
		return nil, ErrUnknownConn
	}
	fail := func(code string) []string { return []string{deliver("error "+code, id)} }
	if !m.allow(c) {
		return fail("rate_limited"), nil
	}
	if r.garbage {
		return fail("bad_request"), nil
	}
	switch r.typ {
	case "join":
		if m.inRoom(id, r.room) {
			break
		}
		if limit := m.cfg.MaxRoomsPerConn; limit > 0 && len(c.rooms) >= limit {
			return fail("limit_exceeded"), nil
		}
		want = m.join(id, r.room)
	case "leave":
		if !m.inRoom(id, r.room) {
			return fail("not_member"), nil
		}
		want = m.leave(id, r.room)
	case "chat":
		if !m.inRoom(id, r.room) {
			return fail("not_member"), nil
		}
		want = append(want, m.chat(r.room))
	case "private":
		to := m.userConns(r.to)
		if len(to) == 0 {
			return fail("user_offline"), nil
		}
		if r.to != c.user {
			for _, x := range m.userConns(c.user) {
				if x != id {
					to = append(to, x)
				}
			}
		}
		want = append(want, deliver("private", to...))
	case "broadcast":
		if !m.cfg.AllowClientBroadcast {
			return fail("forbidden"), nil
		}
		want = append(want, deliver("broadcast", m.order...))
	case "members":
		want = append(want, deliver("members", id))
	case "online":
		want = append(want, deliver("online", id))
	case "ping":
		want = append(want, deliver("pong", id))
	}
	if r.id {
		want = append(want, deliver("ack", id))
	}
	return want, nil
}

func (m *model) admin(req AdminRequest) (want []string) {
	switch req.Op {
	case AdminDisconnect:
		for _, id := range m.userConns(req.User) {
			want = append(want, closeOf(id, CloseKicked))
			want = append(want, m.remove(id)...)
		}
	case AdminPublish:
		if len(m.rooms[req.Room]) > 0 {
			want = append(want, m.chat(req.Room))
		}
	case AdminBroadcast:
		var to []ConnID
		for _, id := range m.order {
			if m.conns[id].user != req.Exclude {
				to = append(to, id)
			}
		}
		if len(to) > 0 {
			want = append(want, deliver("broadcast", to...))
		}
	case AdminSendUser:
		to := m.userConns(req.User)
		if len(to) == 0 {
			return []string{"reply 404"}
		}
		want = append(want, deliver("private", to...))
	}
	return append(want, "reply 200")
}

// check compares the hub's state with the model's: connections and their users,
// memberships in join order, presence per room, and users.
func (m *model) check(h *Hub) error {
	if err := h.Verify(); err != nil {
		return err
	}
	if len(h.conns) != len(m.conns) {
		return fmt.Errorf("hub has %d conns, model %d", len(h.conns), len(m.conns))
	}
	for id, mc := range m.conns {
		c := h.conns[id]
		if c == nil || c.user.id != mc.user {
			return fmt.Errorf("conn %d: hub %v, model user %s", id, c, mc.user)
		}
		var rooms []string
		for _, ms := range c.rooms {
			rooms = append(rooms, ms.room.name)
		}
		if !slices.Equal(rooms, mc.rooms) {
			return fmt.Errorf("conn %d rooms: hub %v, model %v", id, rooms, mc.rooms)
		}
	}
	if len(h.rooms) != len(m.rooms) {
		return fmt.Errorf("hub has %d rooms, model %d", len(h.rooms), len(m.rooms))
	}
	for name, ids := range m.rooms {
		r := h.rooms[name]
		if r == nil {
			return fmt.Errorf("room %s missing", name)
		}
		var got []ConnID
		for _, c := range r.members.slots {
			if c != nil {
				got = append(got, c.id)
			}
		}
		if !slices.Equal(got, ids) {
			return fmt.Errorf("room %s members: hub %v, model %v", name, got, ids)
		}
		if us := r.appendUsers(nil); !slices.Equal(us, m.presence(name)) {
			return fmt.Errorf("room %s presence: hub %v, model %v", name, us, m.presence(name))
		}
		if r.s.offset != m.offset[name] {
			return fmt.Errorf("room %s offset: hub %d, model %d", name, r.s.offset, m.offset[name])
		}
	}
	if us := h.sortedUsers(); !slices.Equal(us, m.users()) && !(len(us) == 0 && len(m.users()) == 0) {
		return fmt.Errorf("users: hub %v, model %v", us, m.users())
	}
	return nil
}
