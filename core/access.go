package core

import (
	"fmt"
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// Access rules (PROTOCOL.md §8): who may join and publish in which rooms, as pure
// functions of the connection's Identity, the room's name and Config.Namespaces.

// JoinRule says who may join the rooms of a namespace.
type JoinRule uint8

const (
	JoinPublic JoinRule = iota // anyone
	JoinGrant                  // a connection whose token's rooms match, or with a room token
	JoinUser                   // only the user whose id follows the colon (user:ann → ann)
	JoinProxy                  // the application's backend decides (PROTOCOL.md §9.1)
	JoinNone                   // no client: server-side membership only (§8.3)
)

// PublishRule says who may send chat and event to the rooms of a namespace.
type PublishRule uint8

const (
	PublishMembers PublishRule = iota // any member
	PublishGrant                      // members whose token's publish matches, or whose room token said publish
	PublishProxy                      // the application's backend decides
	PublishNone                       // no client: the admin API only
)

// Switch is an on/off option whose zero value is the default, On.
type Switch uint8

const (
	On Switch = iota
	Off
)

// NoHistory as Namespace.History keeps no messages (0 means Config.History).
const NoHistory = -1

// Namespace is what a namespace's rooms allow. Its zero value is a v1 room: public,
// any member publishes, Config.History, presence and client events on.
type Namespace struct {
	Join         JoinRule
	Publish      PublishRule
	History      int           // messages kept per room; 0: Config.History; NoHistory: none
	HistoryTTL   time.Duration // how long a memberless room's stream is kept (§10.2); 0: the server's
	Presence     Switch        // Off: no user_joined/user_left, and members answers forbidden
	ClientEvents Switch        // Off: members may not send event (§10.3)
}

var (
	joinRuleNames    = [...]string{JoinPublic: "public", JoinGrant: "grant", JoinUser: "user", JoinProxy: "proxy", JoinNone: "none"}
	publishRuleNames = [...]string{PublishMembers: "members", PublishGrant: "grant", PublishProxy: "proxy", PublishNone: "none"}
)

func (j JoinRule) String() string    { return enumName(joinRuleNames[:], int(j)) }
func (p PublishRule) String() string { return enumName(publishRuleNames[:], int(p)) }

func enumName(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return "unknown"
}

// ParseJoinRule returns the JoinRule named s, as a config file writes it.
func ParseJoinRule(s string) (JoinRule, error) {
	for i, n := range joinRuleNames {
		if n == s {
			return JoinRule(i), nil
		}
	}
	return 0, fmt.Errorf("unknown join rule %q (want public, grant, user, proxy or none)", s)
}

// ParsePublishRule returns the PublishRule named s, as a config file writes it.
func ParsePublishRule(s string) (PublishRule, error) {
	for i, n := range publishRuleNames {
		if n == s {
			return PublishRule(i), nil
		}
	}
	return 0, fmt.Errorf("unknown publish rule %q (want members, grant, proxy or none)", s)
}

// NamespaceOf returns the namespace of a room: its name up to the first ':'
// (team:42:dev → team), "" for a name without one.
func NamespaceOf(room string) string {
	for i := 0; i < len(room); i++ {
		if room[i] == ':' {
			return room[:i]
		}
	}
	return ""
}

// MatchPattern reports whether room matches the grant pattern p: the room's exact
// name, a prefix ending in `*` (team:42:* matches team:42:dev), or `*` alone (every room).
func MatchPattern(p, room string) bool {
	if n := len(p); n > 0 && p[n-1] == '*' {
		return len(room) >= n-1 && room[:n-1] == p[:n-1]
	}
	return p == room
}

func matchAny(patterns []string, room string) bool {
	for _, p := range patterns {
		if MatchPattern(p, room) {
			return true
		}
	}
	return false
}

// seat is how a connection came to be in a room; a refresh takes away the rooms its
// new token no longer grants, but only those joined by grant (seatGrant, seatSubs).
type seat uint8

const (
	seatRule             seat = iota // the namespace lets anyone (or this user) in
	seatGrant                        // the connection token's rooms
	seatSubs                         // the connection token's subs, at connect
	seatRoomToken                    // a room token (kept across refreshes)
	seatRoomTokenPublish             // a room token with publish: true
	seatAdmin                        // the admin API (§8.3)
)

// grants is what a connection's token allows beyond the namespaces' rules; nil for a
// connection whose identity carries no grant and no expiry (every v1 connection).
type grants struct {
	rooms, publish, subs []string
	expires              int64 // Unix nanoseconds; 0: never
	waiting                    // an ask this connection waits for (ask.go)
}

// setGrants keeps the grants of id on c (the slices are the hub's from now on).
func (c *conn) setGrants(id *Identity) {
	if c.grants == nil {
		if len(id.Rooms) == 0 && len(id.Publish) == 0 && len(id.Subs) == 0 && id.Expires.IsZero() {
			return
		}
		c.grants = &grants{}
	}
	g := c.grants
	g.rooms, g.publish, g.subs, g.expires = id.Rooms, id.Publish, id.Subs, 0
	if !id.Expires.IsZero() {
		g.expires = id.Expires.UnixNano()
	}
}

func (c *conn) roomGrants() []string {
	if c.grants == nil {
		return nil
	}
	return c.grants.rooms
}

// Error texts of refused requests (static, like request.go's).
const (
	msgJoinForbidden    = "you may not join this room"
	msgPublishForbidden = "you may not publish in this room"
	msgEventsForbidden  = "this room takes no client events"
	msgNoPresence       = "this room does not show its members"
	msgNoBackend        = "this room's namespace asks a backend, and none is configured"
	msgRoomToken        = "the room token is not valid for this user and room"
	msgUndeclared       = "no namespace declared for this room"
)

// namespaces resolves Config.Namespaces once (History defaulted); nil keeps v1 rules.
func namespaces(cfg *Config) map[string]*Namespace {
	if len(cfg.Namespaces) == 0 {
		return nil
	}
	m := make(map[string]*Namespace, len(cfg.Namespaces))
	for name, ns := range cfg.Namespaces {
		if ns.History == 0 {
			ns.History = cfg.History
		}
		m[name] = &ns
	}
	return m
}

// namespace returns the rules of room, nil when namespaces are off or room's is not
// declared (declared tells which).
func (h *Hub) namespace(room string) (ns *Namespace, declared bool) {
	if h.ns == nil {
		return nil, false
	}
	ns = h.ns[NamespaceOf(room)]
	return ns, ns != nil
}

// undeclared reports whether namespaces are on and room is in none of them: clients
// cannot join it and the admin API answers 404 for it.
func (h *Hub) undeclared(room string) bool {
	if h.ns == nil || room == "" {
		return false
	}
	_, ok := h.namespace(room)
	return !ok
}

// joinRule decides by the namespaces alone (and c's connection grants) whether c may
// join room: how it would be seated, or the error code and text.
func (h *Hub) joinRule(c *conn, room string) (seat, proto.Code, string) {
	if h.ns == nil {
		return seatRule, proto.OK, ""
	}
	ns, ok := h.namespace(room)
	if !ok {
		return 0, proto.Forbidden, msgUndeclared
	}
	switch ns.Join {
	case JoinPublic:
		return seatRule, proto.OK, ""
	case JoinGrant:
		if matchAny(c.roomGrants(), room) {
			return seatGrant, proto.OK, ""
		}
	case JoinUser:
		if _, owner, _ := cutColon(room); owner == c.user.id {
			return seatRule, proto.OK, ""
		}
	case JoinProxy:
		return 0, proto.Unavailable, msgNoBackend
	}
	return 0, proto.Forbidden, msgJoinForbidden
}

func cutColon(s string) (before, after string, found bool) {
	ns := NamespaceOf(s)
	if len(ns) == len(s) {
		return s, "", false
	}
	return ns, s[len(ns)+1:], true
}

// mayJoin is the access check at the top of a join, before any room exists: it reports
// how c is seated, or answers the request itself (an error, or an ask to verify a room
// token, after which the join is replayed with the answer) and reports false.
func (h *Hub) mayJoin(c *conn, req *proto.Request, out *Outbox) (seat, bool) {
	if len(req.Token) > 0 {
		if a := h.answering; a != nil {
			return h.roomTokenSeat(c, req, a, out)
		}
		h.ask(c, AskRoomToken, req, out)
		return 0, false
	}
	if h.ns == nil {
		return seatRule, true
	}
	if ns, _ := h.namespace(string(req.Room)); ns != nil && ns.Join == JoinProxy && h.cfg.Backend {
		return h.proxyJoin(c, req, out)
	}
	s, code, msg := h.joinRule(c, string(req.Room))
	if code != proto.OK {
		h.fail(c, code, msg, req, out)
		return 0, false
	}
	return s, true
}

// roomTokenSeat checks the verified room token a (PROTOCOL.md §8.1): its sub is c's
// user, its room exactly the one joined, it has a future exp, and the namespace takes
// clients at all.
func (h *Hub) roomTokenSeat(c *conn, req *proto.Request, a *Answer, out *Outbox) (seat, bool) {
	room := string(req.Room)
	ok := a.Code == proto.OK && a.Identity.User == c.user.id &&
		!a.Identity.Expires.IsZero() && a.Identity.Expires.After(h.now) && exactly(a.Identity.Rooms, room)
	if ns, declared := h.namespace(room); h.ns != nil && (!declared || ns.Join == JoinNone) {
		ok = false
	}
	if !ok {
		h.fail(c, proto.Forbidden, msgRoomToken, req, out)
		return 0, false
	}
	if exactly(a.Identity.Publish, room) {
		if r := h.rooms[room]; r != nil { // already in: the token can still add publishing
			if i := c.roomIndex(r); i >= 0 {
				c.rooms[i].via = seatRoomTokenPublish
			}
		}
		return seatRoomTokenPublish, true
	}
	return seatRoomToken, true
}

func exactly(names []string, room string) bool {
	for _, n := range names {
		if n == room {
			return true
		}
	}
	return false
}

// sendKind is what a member sends to a room: a stored chat or an ephemeral event.
type sendKind uint8

const (
	sendChat sendKind = iota
	sendEvent
)

// mayPublish is the access check of a chat or event from c, a member of r: it answers a
// refusal itself and reports false. In a v1 room it costs one nil check (the hot path).
func (h *Hub) mayPublish(c *conn, r *room, kind sendKind, req *proto.Request, out *Outbox) bool {
	ns := r.ns
	if ns == nil {
		return true
	}
	code, msg := proto.OK, ""
	switch {
	case kind == sendEvent && ns.ClientEvents == Off:
		code, msg = proto.Forbidden, msgEventsForbidden
	case ns.Publish == PublishMembers:
	case ns.Publish == PublishGrant:
		i := c.roomIndex(r)
		if !(i >= 0 && c.rooms[i].via == seatRoomTokenPublish) && !(c.grants != nil && matchAny(c.grants.publish, r.name)) {
			code, msg = proto.Forbidden, msgPublishForbidden
		}
	case ns.Publish == PublishProxy && h.cfg.Backend:
		return h.proxyPublish(c, req, out)
	case ns.Publish == PublishProxy:
		code, msg = proto.Unavailable, msgNoBackend
	default:
		code, msg = proto.Forbidden, msgPublishForbidden
	}
	if code != proto.OK {
		h.fail(c, code, msg, req, out)
		return false
	}
	return true
}

// quiet reports whether r shows no presence (presence: false): no user_joined or
// user_left at all.
func (r *room) quiet() bool { return r.ns != nil && r.ns.Presence == Off }

// hidesMembers answers a members request for a room whose namespace has presence off
// with forbidden and reports true.
func (h *Hub) hidesMembers(c *conn, req *proto.Request, out *Outbox) bool {
	if ns, ok := h.namespace(string(req.Room)); ok && ns.Presence == Off {
		h.fail(c, proto.Forbidden, msgNoPresence, req, out)
		return true
	}
	return false
}

// joinSubs seats a new connection in its token's subs, whatever the rules (up to the
// rooms-per-connection limit), right after its connected frame.
func (h *Hub) joinSubs(c *conn, out *Outbox) {
	if c.grants == nil {
		return
	}
	for _, name := range c.grants.subs {
		if !validRoom(name) || (h.cfg.MaxRoomsPerConn > 0 && len(c.rooms) >= h.cfg.MaxRoomsPerConn) {
			continue
		}
		r := h.rooms[name]
		if r != nil && c.roomIndex(r) >= 0 {
			continue
		}
		if r == nil {
			r = h.createRoom(name)
		}
		h.enter(c, r, &noPosition, out)
		c.rooms[len(c.rooms)-1].via = seatSubs
	}
}

// stillGranted reports whether c, whose grants were just replaced, may stay in the
// room of membership m.
func (h *Hub) stillGranted(c *conn, m membership) bool {
	if m.via != seatGrant && m.via != seatSubs {
		return true
	}
	if exactly(c.grants.subs, m.room.name) {
		return true
	}
	_, code, _ := h.joinRule(c, m.room.name)
	return code == proto.OK
}

// revoke takes c out of every room its replaced grants no longer allow, telling it
// with `left` reason "grant revoked" (PROTOCOL.md §8.2), others as for a leave.
func (h *Hub) revoke(c *conn, out *Outbox) {
	for i := 0; i < len(c.rooms); {
		if h.stillGranted(c, c.rooms[i]) {
			i++
			continue
		}
		h.removeFromRoom(c, i, reasonRevoked, out)
	}
}

// Reasons of `left` frames.
const (
	reasonRevoked = "grant revoked"
	reasonRemoved = "removed"
)

// removeFromRoom tells c it is out of the room at c.rooms[i], then leaves it for c.
func (h *Hub) removeFromRoom(c *conn, i int, reason string, out *Outbox) {
	m := proto.NewMessage(proto.MsgLeft)
	m.Room, m.Extra().Text = c.rooms[i].room.name, reason
	out.deliverTo(m, c.id)
	h.leave(c, i, out)
}

// seatUser joins every connection of u to room, whatever the rules (PROTOCOL.md §8.3;
// the rooms-per-connection limit still holds), and returns how many joined.
func (h *Hub) seatUser(u *user, room string, out *Outbox) int {
	n := 0
	for _, c := range u.conns {
		r := h.rooms[room]
		if r != nil && c.roomIndex(r) >= 0 || h.cfg.MaxRoomsPerConn > 0 && len(c.rooms) >= h.cfg.MaxRoomsPerConn {
			continue
		}
		if r == nil {
			r = h.createRoom(room)
		}
		h.enter(c, r, &noPosition, out)
		c.rooms[len(c.rooms)-1].via = seatAdmin
		n++
	}
	return n
}

// unseatUser takes every connection of u out of room, each told with `left` reason
// "removed", and returns how many left.
func (h *Hub) unseatUser(u *user, room string, out *Outbox) int {
	n := 0
	for _, c := range u.conns {
		r := h.rooms[room]
		if r == nil {
			break
		}
		if i := c.roomIndex(r); i >= 0 {
			h.removeFromRoom(c, i, reasonRemoved, out)
			n++
		}
	}
	return n
}
