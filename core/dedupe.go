package core

import (
	"hash/maphash"
	"time"
)

// dedupe remembers the chat ids of the last Config.DedupeWindow (PROTOCOL.md §10.4): a
// chat whose id the same user already used in the same room is acked with the original
// offset and neither stored nor delivered again, so a client that resends after a
// reconnect never duplicates a message.
//
// Entries live in a ring in the order they were made (event time only grows), so expiry
// pops the oldest on each tick; an index maps a hash of (user, room, id) to its entry.
// Once the ring has grown to the window's traffic, remembering a chat reuses an entry's
// id buffer and allocates nothing. The ring is bounded by maxDedupe: over it, the oldest
// entry is forgotten early.
type dedupe struct {
	seed  maphash.Seed
	index map[uint64]int // hash → ring position
	ring  []dedupeEntry
	head  int // oldest entry
	n     int // live entries
}

type dedupeEntry struct {
	hash   uint64
	user   string // shared with the conn's user and the room: no copy
	room   string
	id     []byte
	offset uint64
	at     int64
}

// maxDedupe bounds the remembered ids (about 100 bytes each).
const maxDedupe = 1 << 20

func (d *dedupe) init() {
	d.seed = maphash.MakeSeed()
	d.index = make(map[uint64]int)
}

func (d *dedupe) hash(user, room string, id []byte) uint64 {
	var mh maphash.Hash
	mh.SetSeed(d.seed)
	mh.WriteString(user)
	mh.WriteByte(0)
	mh.WriteString(room)
	mh.WriteByte(0)
	mh.Write(id)
	return mh.Sum64()
}

// seen returns the offset of the chat user already sent to room with id, if remembered.
func (d *dedupe) seen(user, room string, id []byte) (uint64, bool) {
	if d.n == 0 {
		return 0, false
	}
	i, ok := d.index[d.hash(user, room, id)]
	if !ok {
		return 0, false
	}
	e := &d.ring[i]
	if e.user != user || e.room != room || string(e.id) != string(id) {
		return 0, false // a hash collision: a different chat
	}
	return e.offset, true
}

// remember records a delivered chat's id (window 0: dedupe is off).
func (d *dedupe) remember(user, room string, id []byte, offset uint64, at int64, window time.Duration) {
	if window <= 0 {
		return
	}
	if d.n == len(d.ring) {
		if d.n >= maxDedupe {
			d.forgetOldest()
		} else {
			d.grow()
		}
	}
	i := (d.head + d.n) % len(d.ring)
	e := &d.ring[i]
	e.hash = d.hash(user, room, id)
	e.user, e.room, e.offset, e.at = user, room, offset, at
	e.id = append(e.id[:0], id...)
	d.index[e.hash] = i
	d.n++
}

// expire forgets the ids older than the window.
func (d *dedupe) expire(now int64, window time.Duration) {
	for d.n > 0 && d.ring[d.head].at+int64(window) <= now {
		d.forgetOldest()
	}
}

func (d *dedupe) forgetOldest() {
	e := &d.ring[d.head]
	if i, ok := d.index[e.hash]; ok && i == d.head {
		delete(d.index, e.hash)
	}
	e.user, e.room = "", ""
	d.head = (d.head + 1) % len(d.ring)
	d.n--
}

// grow doubles the ring, keeping its order (oldest first from position 0).
func (d *dedupe) grow() {
	ring := make([]dedupeEntry, max(16, 2*len(d.ring)))
	for k := 0; k < d.n; k++ {
		ring[k] = d.ring[(d.head+k)%len(d.ring)]
		d.index[ring[k].hash] = k
	}
	d.ring, d.head = ring, 0
}
