package core

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"time"
)

// App events (PROTOCOL.md §9.2) tell the application what happened to users and rooms,
// for webhooks and an embedder's Go event stream. They are emitted only with
// Config.AppEvents, so a hub without a consumer does no work for them. user_offline
// waits Config.OfflineGrace on the hub's clock: a FIFO of departures checked on every
// tick (the grace is the same for everyone, so the FIFO is in deadline order and no
// user needs a timer of its own), cancelled by a reconnect within it.
//
// Every fact is decided on the hub's whole view: in a cluster a user is online while it
// has a connection on any node, a room is occupied while anyone on any node is in it.
// Each node follows the same transitions on its own view; only the owner of the event's
// key (the user for user events, the room for room events, chosen by the peers
// strategy, see cluster_events.go) emits it, with an ID every node derives alike, so a
// receiver can drop a repeat. A hub alone owns everything and leaves IDs to its sender.

// AppEventType is what an AppEvent reports.
type AppEventType uint8

const (
	UserOnline    AppEventType = iota // a user's first connection
	UserOffline                       // the user has had no connection for the offline grace
	RoomOccupied                      // a room's first member joined
	RoomVacated                       // a room's last member left
	MemberAdded                       // a user's first connection in a room
	MemberRemoved                     // a user's last connection in a room left
)

var appEventNames = [...]string{
	UserOnline: "user_online", UserOffline: "user_offline", RoomOccupied: "room_occupied",
	RoomVacated: "room_vacated", MemberAdded: "member_added", MemberRemoved: "member_removed",
}

// String returns the type as webhooks name it, e.g. "user_online".
func (t AppEventType) String() string { return enumName(appEventNames[:], int(t)) }

// AppEvent is one event for the application; User and Room are set where they apply.
// ID, set in a cluster, is the same on every node that emits this event (the one that
// owns it, and one that takes over when the owner dies before it was heard again):
// webhooks send it as the event's id. Empty: the sender numbers the event itself.
type AppEvent struct {
	Type AppEventType
	ID   string
	User string
	Room string
	Time time.Time
}

// cause names what made an event happen, as every node of a cluster knows it: a
// connection (node, conn, when it opened on its node) for user events, a node's presence
// of a user in a room (node, when it began on that node) for room events. Event IDs
// derive from it, so one event has one ID and two events never share one.
type cause struct {
	node string
	conn ConnID
	at   int64
}

// eventID derives an event's ID from its type, user, room and cause.
func eventID(t AppEventType, user, room string, c cause) string {
	h := fnv.New128a()
	var n [17]byte
	n[0] = byte(t)
	binary.BigEndian.PutUint64(n[1:], uint64(c.conn))
	binary.BigEndian.PutUint64(n[9:], uint64(c.at))
	h.Write(n[:])
	for _, s := range [...]string{user, room, c.node} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return t.String() + "-" + hex.EncodeToString(h.Sum(nil))
}

// departure is a user whose last connection went at a time; it goes offline at `at`
// unless it came back (offline.due no longer says at). owner is the node that owned it
// then: it keeps the event even if another node joins meanwhile.
type departure struct {
	user  string
	at    int64
	cause cause
	owner string
}

// offlineGrace holds the departures waiting for their grace.
type offlineGrace struct {
	queue []departure
	due   map[string]int64 // user → when it goes offline
}

// appEvent emits an event of key (its user, or its room) when this hub owns it.
func (h *Hub) appEvent(t AppEventType, user, room string, c cause, out *Outbox) {
	key := user
	if room != "" {
		key = room
	}
	ev := AppEvent{Type: t, User: user, Room: room, Time: h.now}
	h.peers.emit(key, "", ev, c, out)
}

// userArrived reports a user's first connection anywhere, unless it comes back within
// the grace. c is that connection.
func (h *Hub) userArrived(name string, c cause, out *Outbox) {
	if !h.cfg.AppEvents {
		return
	}
	if _, waiting := h.offline.due[name]; waiting {
		delete(h.offline.due, name) // its queue entry is skipped when it surfaces
		return
	}
	h.appEvent(UserOnline, name, "", c, out)
}

// userDeparted starts the grace of a user whose last connection anywhere, c, went.
func (h *Hub) userDeparted(name string, c cause, out *Outbox) {
	if !h.cfg.AppEvents {
		return
	}
	if h.cfg.OfflineGrace <= 0 {
		h.appEvent(UserOffline, name, "", c, out)
		return
	}
	if h.offline.due == nil {
		h.offline.due = make(map[string]int64)
	}
	at := h.now.Add(h.cfg.OfflineGrace).UnixNano()
	h.offline.due[name] = at
	h.offline.queue = append(h.offline.queue, departure{user: name, at: at, cause: c, owner: h.peers.owner(name)})
}

// expireOffline reports user_offline for every grace that ran out by now.
func (h *Hub) expireOffline(out *Outbox) {
	q := h.offline.queue
	now := h.now.UnixNano()
	i := 0
	for ; i < len(q) && q[i].at <= now; i++ {
		if at, ok := h.offline.due[q[i].user]; ok && at == q[i].at {
			delete(h.offline.due, q[i].user)
			ev := AppEvent{Type: UserOffline, User: q[i].user, Time: h.now}
			h.peers.emit(q[i].user, q[i].owner, ev, q[i].cause, out)
		}
	}
	if i > 0 {
		n := copy(q, q[i:])
		clear(q[n:])
		h.offline.queue = q[:n]
	}
}

// roomEntered reports, after user's presence in r grew by one connection (of node's,
// whose presence of user in r began at since), the room's first member and the user's
// first connection in it. empty says r had nobody before.
func (h *Hub) roomEntered(r *room, user string, empty, first bool, c cause, out *Outbox) {
	if !h.cfg.AppEvents {
		return
	}
	if empty {
		h.appEvent(RoomOccupied, "", r.name, c, out)
	}
	if first {
		h.appEvent(MemberAdded, user, r.name, c, out)
	}
}

// roomLeft reports, after user's presence in r shrank by one, the user's last
// connection in it leaving and the room's last member.
func (h *Hub) roomLeft(r *room, user string, last bool, c cause, out *Outbox) {
	if !h.cfg.AppEvents {
		return
	}
	if last {
		h.appEvent(MemberRemoved, user, r.name, c, out)
	}
	if r.users() == 0 {
		h.appEvent(RoomVacated, "", r.name, c, out)
	}
}

// sendAppEvent appends ev to out.
func sendAppEvent(ev AppEvent, out *Outbox) {
	out.Actions = append(out.Actions, Action{Kind: ActionAppEvent, App: &ev})
}
