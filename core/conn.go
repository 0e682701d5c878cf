package core

import "github.com/switchboard-ws/switchboard/core/proto"

// conn is one local connection. It is kept small (a million of them must fit): no maps,
// only the rooms it joined, which are few.
type conn struct {
	id     ConnID
	user   *user
	format proto.Format
	slot   int32   // position in Hub.all
	tokens float64 // token bucket (ratelimit.go)
	last   int64   // event time of the last refill, Unix nanoseconds
	rooms  []membership
	grants *grants // what its token grants, and any ask it waits for (access.go); nil: nothing
}

// membership is a conn's seat in a room: slot is its position in room.members, so that
// leaving is O(1) without a per-room index map.
type membership struct {
	room *room
	slot int32
	via  seat // how c came in: a refresh takes away rooms joined by a revoked grant
}

// roomIndex returns the position of r in c.rooms, or -1.
func (c *conn) roomIndex(r *room) int {
	for i := range c.rooms {
		if c.rooms[i].room == r {
			return i
		}
	}
	return -1
}

// user is everything a user has on this node: its connections, oldest first.
type user struct {
	id    string
	conns []*conn
	// one backs conns while the user has a single connection, the usual case: no array
	// of its own, and user stays in the 48-byte size class.
	one [1]*conn
}

func (u *user) addConn(c *conn) {
	if u.conns == nil {
		u.conns = u.one[:0]
	}
	u.conns = append(u.conns, c)
	if &u.conns[0] != &u.one[0] {
		u.one[0] = nil // conns moved to an array of its own: keep no closed conn alive here
	}
}

func (u *user) removeConn(c *conn) {
	for i, x := range u.conns {
		if x == c {
			copy(u.conns[i:], u.conns[i+1:])
			u.conns[len(u.conns)-1] = nil
			u.conns = u.conns[:len(u.conns)-1]
			return
		}
	}
}

// connList is an insertion-ordered set of connections with O(1) removal: a removed
// entry leaves a hole (nil) that iteration skips, and the slice is compacted (keeping
// order) when holes outnumber live entries. The owner stores each entry's slot and
// re-reads the slots after a compaction.
type connList struct {
	slots []*conn
	live  int
}

func (l *connList) add(c *conn) int32 {
	l.slots = append(l.slots, c)
	l.live++
	return int32(len(l.slots) - 1)
}

// remove empties slot i and reports whether the list was compacted (slots moved).
func (l *connList) remove(i int32) (compacted bool) {
	l.slots[i] = nil
	l.live--
	n := len(l.slots)
	for n > 0 && l.slots[n-1] == nil {
		n--
	}
	clear(l.slots[n:])
	l.slots = l.slots[:n]
	if n < 16 || l.live*2 > n {
		return false
	}
	j := 0
	for _, c := range l.slots {
		if c != nil {
			l.slots[j] = c
			j++
		}
	}
	clear(l.slots[j:])
	l.slots = l.slots[:j]
	return true
}
