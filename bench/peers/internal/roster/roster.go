// Package roster is the room and user membership the lock-based peers (melody, gws, nbio)
// share: which connections are in which room and belong to which user, and each
// room's message offset. It owns only bookkeeping behind one RWMutex; it never writes to
// a connection itself (callers pass the write as a callback).
package roster

import "sync"

// Roster maps rooms and users to connections of type C.
type Roster[C comparable] struct {
	mu      sync.RWMutex
	rooms   map[string]map[C]struct{}
	users   map[string]map[C]struct{}
	joined  map[C][]string
	offsets map[string]uint64
}

// New returns an empty roster.
func New[C comparable]() *Roster[C] {
	return &Roster[C]{rooms: map[string]map[C]struct{}{}, users: map[string]map[C]struct{}{},
		joined: map[C][]string{}, offsets: map[string]uint64{}}
}

// Connect records c as one of user's connections.
func (r *Roster[C]) Connect(user string, c C) {
	r.mu.Lock()
	if r.users[user] == nil {
		r.users[user] = map[C]struct{}{}
	}
	r.users[user][c] = struct{}{}
	r.mu.Unlock()
}

// Disconnect forgets c everywhere.
func (r *Roster[C]) Disconnect(user string, c C) {
	r.mu.Lock()
	delete(r.users[user], c)
	if len(r.users[user]) == 0 {
		delete(r.users, user)
	}
	for _, room := range r.joined[c] {
		delete(r.rooms[room], c)
		if len(r.rooms[room]) == 0 {
			delete(r.rooms, room)
			delete(r.offsets, room)
		}
	}
	delete(r.joined, c)
	r.mu.Unlock()
}

// Join adds c to room.
func (r *Roster[C]) Join(room string, c C) {
	r.mu.Lock()
	if r.rooms[room] == nil {
		r.rooms[room] = map[C]struct{}{}
	}
	if _, ok := r.rooms[room][c]; !ok {
		r.rooms[room][c] = struct{}{}
		r.joined[c] = append(r.joined[c], room)
	}
	r.mu.Unlock()
}

// Publish numbers a message of c in room and, if c is a member, builds it with encode and
// hands it to send for every member; it reports whether c was a member.
func (r *Roster[C]) Publish(room string, c C, encode func(offset uint64) []byte, send func(C, []byte)) bool {
	r.mu.Lock()
	members := r.rooms[room]
	if _, ok := members[c]; !ok {
		r.mu.Unlock()
		return false
	}
	r.offsets[room]++
	msg := encode(r.offsets[room])
	// Sending under the lock keeps every member's view of the room in one order.
	for m := range members {
		send(m, msg)
	}
	r.mu.Unlock()
	return true
}

// Private hands msg to send for each connection of user; it reports how many.
func (r *Roster[C]) Private(user string, msg []byte, send func(C, []byte)) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for m := range r.users[user] {
		send(m, msg)
	}
	return len(r.users[user])
}
