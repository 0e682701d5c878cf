package core

import (
	"fmt"
	"slices"
)

// Verify checks the hub's internal consistency and returns the first broken invariant,
// or nil: every connection is indexed once, memberships are symmetric (conn ↔ room),
// no room is empty, per-user presence matches the connections in each room, and the
// sorted-name caches are true. Tests and fuzzers call it after every Step; it walks the
// whole state, so it is not for production loops.
func (h *Hub) Verify() error {
	for u := range h.offline.due { // waiting for user_offline: no connection (appevents.go)
		if h.onlineCount(u) > 0 {
			return fmt.Errorf("user %q waits for user_offline but is connected", u)
		}
	}
	if h.all.live != len(h.conns) {
		return fmt.Errorf("all lists %d live conns, conns map has %d", h.all.live, len(h.conns))
	}
	live := 0
	for i, c := range h.all.slots {
		if c == nil {
			continue
		}
		live++
		if h.conns[c.id] != c {
			return fmt.Errorf("conn %d in all but not in conns", c.id)
		}
		if int(c.slot) != i {
			return fmt.Errorf("conn %d at slot %d records slot %d", c.id, i, c.slot)
		}
	}
	if live != h.all.live {
		return fmt.Errorf("all counts %d live, holds %d", h.all.live, live)
	}
	userConns := 0
	for name, u := range h.users {
		if u.id != name || len(u.conns) == 0 {
			return fmt.Errorf("user %q: id %q, %d conns", name, u.id, len(u.conns))
		}
		if limit := h.cfg.MaxPerUser; limit > 0 && len(u.conns) > limit {
			return fmt.Errorf("user %q has %d conns over the limit %d", name, len(u.conns), limit)
		}
		for _, c := range u.conns {
			if c.user != u || h.conns[c.id] != c {
				return fmt.Errorf("user %q lists conn %d that is not its own or not live", name, c.id)
			}
		}
		userConns += len(u.conns)
	}
	if userConns != len(h.conns) {
		return fmt.Errorf("users hold %d conns, hub %d", userConns, len(h.conns))
	}
	if h.cfg.MaxConns > 0 && len(h.conns) > h.cfg.MaxConns {
		return fmt.Errorf("%d conns over MaxConns %d", len(h.conns), h.cfg.MaxConns)
	}
	for id, c := range h.conns {
		if c.id != id || h.users[c.user.id] != c.user {
			return fmt.Errorf("conn %d: id %d, user %q not indexed", id, c.id, c.user.id)
		}
		if limit := h.cfg.MaxRoomsPerConn; limit > 0 && len(c.rooms) > limit {
			return fmt.Errorf("conn %d is in %d rooms over the limit %d", id, len(c.rooms), limit)
		}
		for i, m := range c.rooms {
			if h.rooms[m.room.name] != m.room {
				return fmt.Errorf("conn %d is in room %q that is not indexed", id, m.room.name)
			}
			if int(m.slot) >= len(m.room.members.slots) || m.room.members.slots[m.slot] != c {
				return fmt.Errorf("conn %d: room %q slot %d does not hold it", id, m.room.name, m.slot)
			}
			if c.roomIndex(m.room) != i {
				return fmt.Errorf("conn %d is in room %q twice", id, m.room.name)
			}
		}
	}
	for name, r := range h.rooms {
		if r.name != name {
			return fmt.Errorf("room %q indexed as %q", r.name, name)
		}
		if r.empty() {
			return fmt.Errorf("room %q is empty", name)
		}
		count := map[string]int32{}
		live := 0
		for i, c := range r.members.slots {
			if c == nil {
				continue
			}
			live++
			if h.conns[c.id] != c {
				return fmt.Errorf("room %q holds conn %d that is not live", name, c.id)
			}
			j := c.roomIndex(r)
			if j < 0 || int(c.rooms[j].slot) != i {
				return fmt.Errorf("room %q slot %d holds conn %d that does not know it", name, i, c.id)
			}
			count[c.user.id]++
		}
		h.peers.presenceCounts(name, count)
		if live != r.members.live {
			return fmt.Errorf("room %q counts %d live members, holds %d", name, r.members.live, live)
		}
		if len(count) != len(r.presence) {
			return fmt.Errorf("room %q: presence has %d users, members %d", name, len(r.presence), len(count))
		}
		for i, p := range r.presence {
			if count[p.user] != p.conns {
				return fmt.Errorf("room %q: presence of %q is %d, members hold %d", name, p.user, p.conns, count[p.user])
			}
			if i > 0 && r.presence[i-1].user >= p.user {
				return fmt.Errorf("room %q: presence not sorted at %q", name, p.user)
			}
		}
		if r.s == nil || r.s.room != r || h.streams[name] != r.s {
			if r.s != nil || h.streams[name] != nil {
				return fmt.Errorf("room %q is not tied to its stream", name)
			}
		}
	}
	if err := h.verifyStreams(); err != nil {
		return err
	}
	if !h.userNames.dirty && !slices.Equal(h.userNames.names, h.peers.allUsers(nil)) {
		return fmt.Errorf("sorted user cache is stale")
	}
	if users := h.userNames.set.appendFirst(nil, len(h.users)+1); !slices.Equal(users, sortedKeys(h.users)) {
		return fmt.Errorf("sorted user set %v, users %v", users, sortedKeys(h.users))
	}
	if rooms := h.roomNames.set.appendFirst(nil, len(h.rooms)+1); !slices.Equal(rooms, sortedKeys(h.rooms)) {
		return fmt.Errorf("sorted room set %v, rooms %v", rooms, sortedKeys(h.rooms))
	}
	if !h.roomNames.dirty && !slices.Equal(h.roomNames.names, sortedKeys(h.rooms)) {
		return fmt.Errorf("sorted room cache is stale")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// verifyStreams checks the streams' bookkeeping: the held bytes, the indexes, the order
// and count of held messages.
func (h *Hub) verifyStreams() error {
	var bytes int64
	idle, active := 0, 0
	for name, s := range h.streams {
		if s.name != name {
			return fmt.Errorf("stream %q indexed as %q", s.name, name)
		}
		want := streamOverhead + int64(len(name))
		n := s.held.len()
		if n > s.keep {
			return fmt.Errorf("stream %q holds %d messages over %d", name, n, s.keep)
		}
		for i := 0; i < n; i++ {
			rec := s.held.at(i)
			if rec.offset > s.offset || i > 0 && rec.offset <= s.held.at(i-1).offset {
				return fmt.Errorf("stream %q: held message %d (offset %d) out of order", name, i, rec.offset)
			}
			want += recordOverhead + int64(len(rec.content)+len(rec.sender))
		}
		if s.bytes != want {
			return fmt.Errorf("stream %q counts %d bytes, holds %d", name, s.bytes, want)
		}
		bytes += s.bytes
		if s.room == nil {
			idle++
			if s.expiryAt < 0 || s.ageAt < 0 || h.idleExpiry.list[s.expiryAt] != s || h.idleAge.list[s.ageAt] != s {
				return fmt.Errorf("idle stream %q is not indexed", name)
			}
		} else {
			active++
			if s.expiryAt >= 0 || s.ageAt >= 0 || h.rooms[name] != s.room {
				return fmt.Errorf("active stream %q is indexed as idle or has no room", name)
			}
		}
	}
	if bytes != h.heldBytes {
		return fmt.Errorf("streams hold %d bytes, the hub counts %d", bytes, h.heldBytes)
	}
	if len(h.idleExpiry.list) != idle || len(h.idleAge.list) != idle {
		return fmt.Errorf("%d idle streams, heaps hold %d and %d", idle, len(h.idleExpiry.list), len(h.idleAge.list))
	}
	n := 0
	for s := h.active.oldest; s != nil; s = s.newer {
		if n++; n > active || s.newer != nil && s.newer.lastMsg < s.lastMsg {
			return fmt.Errorf("active list is out of order or longer than the %d active streams", active)
		}
	}
	if n != active {
		return fmt.Errorf("active list holds %d of %d active streams", n, active)
	}
	return nil
}
