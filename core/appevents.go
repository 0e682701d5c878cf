package core

import "time"

// App events (PROTOCOL.md §9.2) tell the application what happened to users and rooms,
// for webhooks and an embedder's Go event stream. They are emitted only with
// Config.AppEvents, so a hub without a consumer does no work for them. user_offline
// waits Config.OfflineGrace on the hub's clock: a FIFO of departures checked on every
// tick (the grace is the same for everyone, so the FIFO is in deadline order and no
// user needs a timer of its own), cancelled by a reconnect within it.
//
// Each hub reports what it sees: in a cluster every node sends its own (the
// cluster-wide "once" of §9.2 is not done here).

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
type AppEvent struct {
	Type AppEventType
	User string
	Room string
	Time time.Time
}

// departure is a user whose last connection went at a time; it goes offline at
// `at` unless it came back (offline.due no longer says at).
type departure struct {
	user string
	at   int64
}

// offlineGrace holds the departures waiting for their grace.
type offlineGrace struct {
	queue []departure
	due   map[string]int64 // user → when it goes offline
}

func (h *Hub) appEvent(t AppEventType, user, room string, out *Outbox) {
	out.Actions = append(out.Actions, Action{Kind: ActionAppEvent, App: &AppEvent{Type: t, User: user, Room: room, Time: h.now}})
}

// userArrived reports a user's first connection, unless it comes back within the grace.
func (h *Hub) userArrived(u *user, out *Outbox) {
	if !h.cfg.AppEvents {
		return
	}
	if _, waiting := h.offline.due[u.id]; waiting {
		delete(h.offline.due, u.id) // its queue entry is skipped when it surfaces
		return
	}
	h.appEvent(UserOnline, u.id, "", out)
}

// userDeparted starts the grace of a user whose last connection went.
func (h *Hub) userDeparted(u *user, out *Outbox) {
	if !h.cfg.AppEvents {
		return
	}
	if h.cfg.OfflineGrace <= 0 {
		h.appEvent(UserOffline, u.id, "", out)
		return
	}
	if h.offline.due == nil {
		h.offline.due = make(map[string]int64)
	}
	at := h.now.Add(h.cfg.OfflineGrace).UnixNano()
	h.offline.due[u.id] = at
	h.offline.queue = append(h.offline.queue, departure{user: u.id, at: at})
}

// expireOffline reports user_offline for every grace that ran out by now.
func (h *Hub) expireOffline(out *Outbox) {
	q := h.offline.queue
	now := h.now.UnixNano()
	i := 0
	for ; i < len(q) && q[i].at <= now; i++ {
		if at, ok := h.offline.due[q[i].user]; ok && at == q[i].at {
			delete(h.offline.due, q[i].user)
			h.appEvent(UserOffline, q[i].user, "", out)
		}
	}
	if i > 0 {
		n := copy(q, q[i:])
		clear(q[n:])
		h.offline.queue = q[:n]
	}
}
