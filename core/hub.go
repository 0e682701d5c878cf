package core

import (
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// Close codes and reasons (PROTOCOL.md §5 and its v2 additions). This is the one place
// they are defined: the hub decides 4000, 4003 and 4009, the node and the transports the
// others, and they all name these. CloseReasons lists them for the metrics and for the
// test that holds them to PROTOCOL.md (cmd/switchboard/protocol_test.go).
const (
	CloseNormal        = 1000
	CloseGoingAway     = 1001 // shutdown, idle timeout
	CloseProtocolError = 1002 // a WebSocket rule broken
	CloseUnsupported   = 1003 // frame type does not match the subprotocol
	CloseAbnormal      = 1006 // no close frame: the socket broke (never sent on the wire)
	CloseInvalidUTF8   = 1007
	ClosePolicy        = 1008 // message timeout
	CloseTooBig        = 1009 // message over MaxMessageBytes
	CloseReplaced      = 4000 // per-user limit: the user's oldest connection
	CloseUnauthorized  = 4001 // the connection's identity is refused
	CloseTokenExpired  = 4002
	CloseCapacity      = 4003 // Config.MaxConns reached
	CloseSlowConsumer  = 4008 // send queue over its bound
	CloseKicked        = 4009 // admin disconnect

	ReasonShutdown       = "Server shutting down"
	ReasonIdle           = "Idle timeout"
	ReasonMessageTimeout = "Message timeout"
	ReasonReplaced       = "Replaced by new connection"
	ReasonTooMany        = "Too many connections"
	ReasonUnauthorized   = "Unauthorized"
	ReasonTokenExpired   = "Token expired"
	ReasonAtCapacity     = "Server at capacity"
	ReasonSlowConsumer   = "Slow consumer"
	ReasonKicked         = "Kicked"
	ServerSender         = "server" // sender of admin-published messages
)

// CloseReasons maps every close code above to the reasons sent with it ("": none).
var CloseReasons = map[uint16][]string{
	CloseNormal:        {""},
	CloseGoingAway:     {ReasonShutdown, ReasonIdle},
	CloseProtocolError: {""},
	CloseUnsupported:   {""},
	CloseAbnormal:      {""},
	CloseInvalidUTF8:   {""},
	ClosePolicy:        {ReasonMessageTimeout},
	CloseTooBig:        {""},
	CloseReplaced:      {ReasonReplaced, ReasonTooMany},
	CloseUnauthorized:  {ReasonUnauthorized},
	CloseTokenExpired:  {ReasonTokenExpired},
	CloseCapacity:      {ReasonAtCapacity},
	CloseSlowConsumer:  {ReasonSlowConsumer},
	CloseKicked:        {ReasonKicked},
}

// Hub owns every connection, user and room of one node. It is a pure state machine:
// Step applies one event and appends the resulting actions to an Outbox. A Hub is not
// safe for concurrent use; one goroutine owns it.
type Hub struct {
	cfg   Config
	now   time.Time
	conns map[ConnID]*conn
	all   connList // every connection in connect order: broadcast targets
	users map[string]*user
	rooms map[string]*room

	userNames, roomNames sortedNames

	req proto.Request // parsed in place for every frame, so parsing allocates nothing

	// Streams (stream.go): every room's stream, also of rooms without members.
	streams             map[string]*stream
	active              activeList
	idleExpiry, idleAge streamHeap
	heldBytes           int64                 // what Config.HistoryMemory bounds
	epochs              uint64                // epochs begun, for unique epoch names
	dedupe              dedupe                // chat ids of the DedupeWindow (dedupe.go)
	ns                  map[string]*Namespace // access rules (access.go); nil: every room public
	raw                 []byte                // the frame being applied, for an ask to keep
	answering           *Answer               // the answer the replayed request goes on with
	asks                uint64                // the last Ask id
	expiries            expiryHeap            // token expiries (ask.go)
	offline             offlineGrace          // users waiting for user_offline (appevents.go)

	peers peers // a hub alone (solo) or one node of a cluster (peers.go, cluster.go)
}

// sortedNames keeps the names of a map (users or rooms) sorted as they come and go, and
// caches the whole list for the admin API, rebuilt (without sorting) after a change.
type sortedNames struct {
	set   nameSet
	names []string
	dirty bool
}

func (s *sortedNames) add(name string) { s.set.add(name); s.dirty = true }

func (s *sortedNames) remove(name string) { s.set.remove(name); s.dirty = true }

// New returns an empty hub. A limit of zero (MaxConns, MaxPerUser, MaxRoomsPerConn,
// MaxMessageBytes, Rate) means no limit; MaxListed defaults to DefaultMaxListed.
func New(cfg Config) *Hub {
	if cfg.MaxListed <= 0 {
		cfg.MaxListed = DefaultMaxListed
	}
	if cfg.History < 0 {
		cfg.History = 0
	}
	h := &Hub{
		ns:      namespaces(&cfg),
		cfg:     cfg,
		conns:   make(map[ConnID]*conn),
		users:   make(map[string]*user),
		rooms:   make(map[string]*room),
		streams: make(map[string]*stream),
	}
	h.idleExpiry, h.idleAge = newIdleHeaps()
	h.dedupe.init()
	if cfg.Cluster {
		h.peers = newCluster(h)
	} else {
		h.peers = solo{h}
	}
	return h
}

// Config returns the hub's configuration, with defaults applied.
func (h *Hub) Config() Config { return h.cfg }

// Step applies ev at time ev.Now and appends what must happen to out. It returns an
// error only for caller misuse (an unknown or duplicate ConnID, an invalid user id); the
// hub is then unchanged.
func (h *Hub) Step(ev Event, out *Outbox) error {
	switch ev.Kind {
	case EventConnect:
		if _, dup := h.conns[ev.Conn]; dup {
			return ErrDuplicateConn
		}
		if !validUser(ev.Identity.User) {
			return ErrInvalidUser
		}
		if ev.Format >= proto.NumFormats {
			return ErrUnknownFormat
		}
		h.now = ev.Now
		h.connect(ev.Conn, &ev.Identity, ev.Format, out)
	case EventFrame:
		c := h.conns[ev.Conn]
		if c == nil {
			return ErrUnknownConn
		}
		h.now = ev.Now
		h.frame(c, ev.Payload, out)
	case EventDisconnect:
		c := h.conns[ev.Conn]
		if c == nil {
			return ErrUnknownConn
		}
		h.now = ev.Now
		h.removeConn(c, out)
	case EventTick:
		h.now = ev.Now
		h.expire(out) // tokens (ask.go)
		if h.cfg.AppEvents {
			h.expireOffline(out)
		}
		h.expireStreams(out)
		h.dedupe.expire(h.now.UnixNano(), h.cfg.DedupeWindow)
	case EventRestore:
		if ev.Restore == nil {
			return ErrUnknownEvent
		}
		h.now = ev.Now
		return h.restore(ev.Restore)
	case EventAdmin:
		h.now = ev.Now
		h.admin(&ev.Admin, out)
	case EventCluster:
		if ev.Cluster == nil {
			return ErrUnknownEvent
		}
		now := h.now
		h.now = ev.Now
		if err := h.peers.step(ev.Cluster, out); err != nil {
			h.now = now
			return err
		}
	case EventAnswer:
		if ev.Answer == nil {
			return ErrUnknownEvent
		}
		h.now = ev.Now
		h.answer(ev.Answer, out)
	default:
		return ErrUnknownEvent
	}
	return nil
}

// connect admits a connection (or refuses it at capacity), greets it, and enforces the
// per-user limit by closing the user's oldest connections.
func (h *Hub) connect(id ConnID, ident *Identity, f proto.Format, out *Outbox) {
	name := ident.User
	if h.cfg.MaxConns > 0 && len(h.conns) >= h.cfg.MaxConns {
		out.close(id, CloseCapacity, ReasonAtCapacity)
		return
	}
	u := h.users[name]
	if u == nil {
		u = &user{id: name}
		h.users[name] = u
		h.userNames.add(name)
		if h.peers.userConns(name) == 0 { // its first connection anywhere
			h.userArrived(name, cause{node: h.cfg.NodeID, conn: id, at: h.now.UnixNano()}, out)
		}
	}
	c := &conn{id: id, user: u, format: f, tokens: float64(h.burst()), last: h.now.UnixNano()}
	c.setGrants(ident)
	c.slot = h.all.add(c)
	h.conns[id] = c
	u.addConn(c)

	m := proto.NewMessage(proto.MsgConnected)
	x := m.Extra()
	m.UserID, x.ConnID, m.Time = u.id, uint64(id), h.now
	x.Rooms = h.roomNames.set.appendFirst(x.Rooms[:0], h.cfg.MaxListed)
	out.deliverTo(m, id)

	h.watchExpiry(c)
	h.peers.admit(c, out)
}

// closeConn closes c on the hub's initiative: the adapter is told first, then c is
// forgotten and its departures are announced like any disconnect.
func (h *Hub) closeConn(c *conn, code uint16, reason string, out *Outbox) {
	out.close(c.id, code, reason)
	h.removeConn(c, out)
}

// removeConn takes c out of every room (announcing users who left), its user and the hub.
func (h *Hub) removeConn(c *conn, out *Outbox) {
	for len(c.rooms) > 0 {
		h.leave(c, 0, out) // in join order, so departures are announced in that order
	}
	u := c.user
	u.removeConn(c)
	if len(u.conns) == 0 {
		delete(h.users, u.id)
		h.userNames.remove(u.id)
		if h.peers.userConns(u.id) == 0 { // its last connection anywhere
			h.userDeparted(u.id, h.peers.connCause(c), out)
		}
	}
	if h.all.remove(c.slot) {
		for i, x := range h.all.slots {
			x.slot = int32(i)
		}
	}
	delete(h.conns, c.id)
	h.peers.gone(c, out)
}

// join seats c in r and, when c is its user's first connection there, tells every
// connection of the room (c's included) with the sorted member list. joined (§10.1) and
// any replay are sent by the caller first.
func (h *Hub) join(c *conn, r *room, out *Outbox) { h.seat(c, r, false, out) }

// seat is join; with later, c itself is not told yet (its joined and replay come later:
// a cluster join with since, see cluster.recovered). It reports whether c's user was
// announced.
func (h *Hub) seat(c *conn, r *room, later bool, out *Outbox) bool {
	empty := r.users() == 0
	r.addMember(c)
	h.peers.moved(c, r, out) // before anyone can react to the join
	first := r.addPresence(c.user.id)
	h.roomEntered(r, c.user.id, empty, first, h.peers.roomCause(c, r), out)
	if !first || r.quiet() {
		return false
	}
	var except *conn
	if later {
		except = c
	}
	out.toRoomExcept(r.userJoined(c.user.id, h.now), r, except)
	return true
}

// leave takes c out of the room at position i of c.rooms; when that was its user's last
// connection there, the remaining connections are told; an empty room is deleted.
func (h *Hub) leave(c *conn, i int, out *Outbox) {
	r := c.rooms[i].room
	was := h.peers.roomCause(c, r) // moved forgets it when c was its user's last here
	r.removeMember(c, i)
	h.peers.moved(c, r, out)
	last := r.removePresence(c.user.id)
	h.roomLeft(r, c.user.id, last, was, out)
	if last && !r.empty() && !r.quiet() {
		out.toRoom(r.userLeft(c.user.id, h.now), r)
	}
	if r.empty() {
		h.deleteRoom(r, out)
	}
}

// deliverChat is the one path of a room message (a client's chat, an admin publish):
// sequenced into the room's stream (its offset set, a copy held), then delivered to
// every member connection. The outbox takes over the caller's reference on m.
func (h *Hub) deliverChat(r *room, m *proto.Message, out *Outbox) int {
	s := r.s
	if s == nil { // the stream was dropped for the budget: a new epoch begins
		s = h.attach(r)
	}
	h.append(s, m, out)
	return out.toRoom(m, r)
}

// deliverUnstored is the one path of a room message that is never stored or numbered
// (an event, PROTOCOL.md §10.3): to every member connection of r but except, on every
// node. The outbox takes over the caller's reference on m.
func (h *Hub) deliverUnstored(m *proto.Message, r *room, except *conn, out *Outbox) {
	h.peers.forwardRoom(m, out) // first: the delivery releases m when it has no target
	out.toRoomExcept(m, r, except)
}

// onlineCount is the number of connections of user on every node.
func (h *Hub) onlineCount(name string) int {
	n := h.peers.userConns(name)
	if u := h.users[name]; u != nil {
		n += len(u.conns)
	}
	return n
}

// sortedUsers returns every user id (of every node), sorted; the slice is the hub's own.
func (h *Hub) sortedUsers() []string {
	if h.userNames.dirty {
		h.userNames.names = h.peers.allUsers(h.userNames.names[:0])
		h.userNames.dirty = false
	}
	return h.userNames.names
}

// sortedRooms returns every room name, sorted; the slice is the hub's own.
func (h *Hub) sortedRooms() []string {
	if h.roomNames.dirty {
		h.roomNames.names = h.roomNames.set.appendFirst(h.roomNames.names[:0], h.roomNames.set.len())
		h.roomNames.dirty = false
	}
	return h.roomNames.names
}

// validUser and validRoom apply the name rules of PROTOCOL.md §2 (shared with the parser).
func validUser(s string) bool { return proto.ValidUser([]byte(s)) }

func validRoom(s string) bool { return proto.ValidRoom([]byte(s)) }
