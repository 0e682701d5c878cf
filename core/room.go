package core

import (
	"slices"
	"strings"
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// room is one room: its local member connections in join order, who is present (per
// user), its offset sequence and the history kept for `since` recovery.
type room struct {
	name    string
	members connList
	// presence lists the present users, sorted, each with its number of connections in
	// the room: member lists come out sorted without sorting, and a room costs no map.
	// It is read and written only through addPresence, removePresence, users and
	// appendUsers, so that presence from other nodes can be counted in the same place.
	presence []presence
	s        *stream    // the room's stream (stream.go); nil only after it was dropped
	ns       *Namespace // its namespace's rules (access.go); nil: v1's
}

type presence struct {
	user  string
	conns int32
}

// createRoom makes an empty room, ties it to its stream (a kept one, or a new epoch)
// and indexes it; the caller adds the first member.
func (h *Hub) createRoom(name string) *room {
	r := &room{name: name}
	r.ns, _ = h.namespace(name)
	h.attach(r)
	h.rooms[name] = r
	h.roomNames.add(name)
	return r
}

// deleteRoom forgets an empty room; its stream outlives it (stream.go).
func (h *Hub) deleteRoom(r *room, out *Outbox) {
	h.detach(r, out)
	delete(h.rooms, r.name)
	h.roomNames.remove(r.name)
}

func (r *room) findPresence(user string) (int, bool) {
	return slices.BinarySearchFunc(r.presence, user, func(p presence, u string) int {
		return strings.Compare(p.user, u)
	})
}

// addPresence counts one more connection of user in r and reports whether it is the
// user's first, i.e. whether the user just joined.
func (r *room) addPresence(user string) (first bool) {
	i, found := r.findPresence(user)
	if found {
		r.presence[i].conns++
		return false
	}
	r.presence = slices.Insert(r.presence, i, presence{user: user, conns: 1})
	return true
}

// removePresence counts one connection of user less in r and reports whether it was the
// user's last, i.e. whether the user just left.
func (r *room) removePresence(user string) (last bool) {
	i, found := r.findPresence(user)
	if !found {
		panic("core: removePresence of a user not present") // a broken invariant
	}
	if r.presence[i].conns--; r.presence[i].conns > 0 {
		return false
	}
	r.presence = slices.Delete(r.presence, i, i+1)
	return true
}

// users is the number of users present in r.
func (r *room) users() int { return len(r.presence) }

// appendUsers appends r's present users, sorted, to dst.
func (r *room) appendUsers(dst []string) []string {
	dst = slices.Grow(dst, len(r.presence)) // one allocation at most
	for _, p := range r.presence {
		dst = append(dst, p.user)
	}
	return dst
}

// empty reports whether no local connection is in r and, in a cluster, nobody on another
// node either (it is then deleted).
func (r *room) empty() bool { return r.members.live == 0 && len(r.presence) == 0 }

// addMember seats c in r.
func (r *room) addMember(c *conn) {
	c.rooms = append(c.rooms, membership{room: r, slot: r.members.add(c)})
}

// removeMember takes c out of r; i is r's position in c.rooms.
func (r *room) removeMember(c *conn, i int) {
	slot := c.rooms[i].slot
	last := len(c.rooms) - 1
	copy(c.rooms[i:], c.rooms[i+1:]) // keep c.rooms in join order
	c.rooms[last] = membership{}
	c.rooms = c.rooms[:last]
	if r.members.remove(slot) {
		for j, m := range r.members.slots {
			m.rooms[m.roomIndex(r)].slot = int32(j)
		}
	}
}

// userJoined is the user_joined of user in r, with r's members as they are now.
func (r *room) userJoined(user string, now time.Time) *proto.Message {
	m := proto.NewMessage(proto.MsgUserJoined)
	m.Room, m.UserID, m.Time = r.name, user, now
	x := m.Extra()
	x.Members = r.appendUsers(x.Members[:0])
	return m
}

// userLeft is the user_left of user in r.
func (r *room) userLeft(user string, now time.Time) *proto.Message {
	m := proto.NewMessage(proto.MsgUserLeft)
	m.Room, m.UserID, m.Time = r.name, user, now
	return m
}

// conns is the number of connections in r on every node.
func (r *room) conns() int {
	n := 0
	for _, p := range r.presence {
		n += int(p.conns)
	}
	return n
}

// historyGap is the history_gap error about room (PROTOCOL.md §7, §10).
func historyGap(room string) *proto.Message {
	e := proto.NewMessage(proto.MsgError)
	x := e.Extra()
	x.Code, x.Text, e.Room = proto.HistoryGap, msgHistoryGap, room
	return e
}
