package natsbroker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/switchboard-ws/switchboard/core"
)

// localPresence is what this node tells the cluster about its own connections.
type localPresence struct {
	seq     uint64                  // batches published so far
	pending []presenceOp            // changes not yet published
	conns   map[uint64]presenceOp   // open connections ("c" ops)
	rooms   map[roomUser]presenceOp // connections per (room, user) ("r" ops)
}

type roomUser struct{ room, user string }

func (p *localPresence) init() {
	p.conns = map[uint64]presenceOp{}
	p.rooms = map[roomUser]presenceOp{}
}

// ConnOpened announces a local connection of user; order is when it opened (unix ns), so
// every node agrees which of a user's connections is the oldest.
func (b *Broker) ConnOpened(user string, conn uint64, order int64) {
	op := presenceOp{Op: "c", User: user, Conn: conn, Order: order}
	b.mu.Lock()
	defer b.mu.Unlock()
	us := b.users[user]
	if us == nil {
		us = &userSub{}
		b.users[user] = us
	}
	us.conns++
	if us.sub == nil {
		sub, err := b.nc.ChanSubscribe(userSubject(user), b.in)
		if err != nil {
			b.log.Warn("user subscribe failed", "user", user, "err", err)
		}
		us.sub = sub
	}
	b.local.conns[conn] = op
	b.queueLocked(op)
}

// ConnClosed announces that a local connection is gone.
func (b *Broker) ConnClosed(user string, conn uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.local.conns[conn]; !ok {
		return
	}
	delete(b.local.conns, conn)
	if us := b.users[user]; us != nil {
		if us.conns--; us.conns <= 0 {
			if us.sub != nil {
				_ = us.sub.Unsubscribe()
			}
			delete(b.users, user)
		}
	}
	b.queueLocked(presenceOp{Op: "d", User: user, Conn: conn})
}

// RoomCount announces that user now has n local connections in room (0: none). The room
// subscription opens with the room's first local connection, before the announcement goes
// out, so whoever reacts to the announcement reaches this node; it closes with the last.
func (b *Broker) RoomCount(room, user string, n int) { b.RoomCountSince(room, user, n, 0) }

// RoomCountSince is RoomCount with when user's count in room last rose from 0 (unix ns,
// core.ClusterRoomCount.Began), which every node gets with it (room app events' ids).
func (b *Broker) RoomCountSince(room, user string, n int, began int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := roomUser{room, user}
	old := b.local.rooms[key].Count
	if old == n {
		return
	}
	op := presenceOp{Op: "r", User: user, Room: room, Count: max(n, 0), Began: began}
	if n > 0 {
		b.local.rooms[key] = op
	} else {
		delete(b.local.rooms, key)
	}
	rs := b.rooms[room]
	if rs == nil {
		if n <= 0 {
			return
		}
		rs = &roomSub{name: room}
		sub, err := b.nc.ChanSubscribe(liveSubject(room), b.in)
		if err != nil {
			b.log.Warn("room subscribe failed", "room", room, "err", err)
		} else {
			rs.sub = sub
			b.bySub[sub] = rs
			select {
			case <-b.done:
			default:
				rs.fresh, rs.joined = true, time.Now()
				b.checkWindows([]window{b.windowOf(rs, false)})
			}
		}
		b.rooms[room] = rs
	}
	rs.conns += n - old
	if rs.conns <= 0 {
		if rs.sub != nil {
			_ = rs.sub.Unsubscribe()
			delete(b.bySub, rs.sub)
		}
		delete(b.rooms, room)
	}
	b.queueLocked(op)
}

func (b *Broker) queueLocked(op presenceOp) {
	b.local.pending = append(b.local.pending, op)
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// opsPerMessage bounds the presence ops in one NATS message, far below NATS's default
// 1 MB payload limit even with long names.
const opsPerMessage = 2000

// flushPresenceLocked publishes the pending changes, in batches of opsPerMessage.
func (b *Broker) flushPresenceLocked() {
	for ops := b.local.pending; len(ops) > 0; {
		n := min(len(ops), opsPerMessage)
		b.local.seq++
		b.publishPresence(presenceSubj, presenceBatch{Node: b.opts.NodeID, Incarnation: b.incarnation,
			Seq: b.local.seq, Ops: ops[:n]})
		ops = ops[n:]
	}
	b.local.pending = nil
}

func (b *Broker) heartbeat() {
	b.mu.Lock()
	b.flushPresenceLocked()
	seq := b.local.seq
	b.mu.Unlock()
	b.publishPresence(presenceSubj, presenceBatch{Node: b.opts.NodeID, Incarnation: b.incarnation, Seq: seq})
}

func (b *Broker) publishPresence(subj string, batch presenceBatch) {
	data, _ := json.Marshal(batch)
	b.publish(subj, data)
}

// answerSnapshot replies to another node's request for this node's whole presence, in
// parts of at most opsPerMessage ops (the last one says Last). It runs on its own
// goroutine (a nats.go handler) and reads the local state under mu.
func (b *Broker) answerSnapshot(m *nats.Msg) {
	b.mu.Lock()
	b.flushPresenceLocked() // the snapshot then matches seq exactly
	seq := b.local.seq
	conns := make([]presenceOp, 0, len(b.local.conns))
	for _, op := range b.local.conns {
		conns = append(conns, op)
	}
	rooms := make([]presenceOp, 0, len(b.local.rooms))
	for _, op := range b.local.rooms {
		rooms = append(rooms, op)
	}
	b.mu.Unlock()
	for part := 0; ; part++ {
		snap := presenceSnapshot{Node: b.opts.NodeID, Incarnation: b.incarnation, Seq: seq, Part: part}
		n := min(len(conns), opsPerMessage)
		snap.Conns, conns = conns[:n], conns[n:]
		n = min(len(rooms), opsPerMessage-n)
		snap.Rooms, rooms = rooms[:n], rooms[n:]
		snap.Last = len(conns) == 0 && len(rooms) == 0
		data, _ := json.Marshal(snap)
		if err := b.nc.Publish(m.Reply, data); err != nil {
			b.log.Warn("snapshot reply failed", "err", err)
			return
		}
		if snap.Last {
			return
		}
	}
}

// fetchSnapshot asks node for its presence and reassembles the parts.
func (b *Broker) fetchSnapshot(node string) (*presenceSnapshot, error) {
	inbox := b.nc.NewRespInbox()
	sub, err := b.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := b.nc.PublishRequest(snapSubject(node), inbox, nil); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(b.life, b.opts.RequestTimeout)
	defer cancel()
	var whole presenceSnapshot
	for part := 0; ; part++ {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, err
		}
		var snap presenceSnapshot
		if err := json.Unmarshal(m.Data, &snap); err != nil {
			return nil, err
		}
		if snap.Part != part || part > 0 && (snap.Seq != whole.Seq || snap.Incarnation != whole.Incarnation) {
			return nil, errors.New("natsbroker: snapshot parts out of step")
		}
		whole.Node, whole.Incarnation, whole.Seq = snap.Node, snap.Incarnation, snap.Seq
		whole.Conns = append(whole.Conns, snap.Conns...)
		whole.Rooms = append(whole.Rooms, snap.Rooms...)
		if snap.Last {
			return &whole, nil
		}
	}
}

// remoteNode is this node's view of another node's presence (dispatcher-owned).
type remoteNode struct {
	name     string
	inc      int64
	seq      uint64
	heard    time.Time
	told     time.Time // when core.RemoteAlive was last delivered for it
	conns    map[uint64]presenceOp
	rooms    map[roomUser]presenceOp
	synced   bool            // seq is valid: a snapshot arrived
	snapping bool            // a snapshot request is out
	held     []presenceBatch // batches that arrived while not synced
}

func (b *Broker) onPresence(m *nats.Msg) {
	var batch presenceBatch
	if err := json.Unmarshal(m.Data, &batch); err != nil || batch.Node == "" || batch.Node == b.opts.NodeID {
		return
	}
	r := b.remotes[batch.Node]
	if r != nil && r.inc != batch.Incarnation {
		if batch.Incarnation < r.inc {
			return // a late message of a previous life
		}
		b.dropNode(r) // it restarted: its old connections are gone
		r = nil
	}
	if batch.Bye {
		if r != nil {
			b.dropNode(r)
		}
		return
	}
	if r == nil {
		r = &remoteNode{name: batch.Node, inc: batch.Incarnation, conns: map[uint64]presenceOp{}, rooms: map[roomUser]presenceOp{}}
		b.remotes[batch.Node] = r
	}
	r.heard = time.Now()
	if r.heard.Sub(r.told) >= b.opts.Heartbeat/2 {
		r.told = r.heard
		b.deliver(core.RemoteAlive{Node: r.name})
	}
	switch {
	case !r.synced:
		if len(batch.Ops) > 0 {
			r.held = append(r.held, batch)
		}
		b.requestSnapshot(r)
	case batch.Seq <= r.seq:
		// a heartbeat, or old news
	case batch.Seq == r.seq+1 && len(batch.Ops) > 0:
		r.seq = batch.Seq
		b.applyOps(r, batch.Ops)
	default: // batches were lost: start over from a snapshot
		r.synced = false
		if len(batch.Ops) > 0 {
			r.held = append(r.held, batch)
		}
		b.requestSnapshot(r)
	}
}

func (b *Broker) requestSnapshot(r *remoteNode) {
	if r.snapping {
		return
	}
	r.snapping = true
	name, inc := r.name, r.inc
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		snap, err := b.fetchSnapshot(name)
		b.post(func() { b.applySnapshot(name, inc, snap, err) })
	}()
}

func (b *Broker) applySnapshot(name string, inc int64, snap *presenceSnapshot, err error) {
	r := b.remotes[name]
	if r == nil || r.inc != inc {
		return
	}
	r.snapping = false
	if err != nil || snap.Incarnation != inc {
		b.log.Warn("presence snapshot failed", "node", name, "err", err)
		return // the next batch or heartbeat asks again
	}
	conns := make(map[uint64]presenceOp, len(snap.Conns))
	for _, op := range snap.Conns {
		conns[op.Conn] = op
	}
	rooms := make(map[roomUser]presenceOp, len(snap.Rooms))
	for _, op := range snap.Rooms {
		rooms[roomUser{op.Room, op.User}] = op
	}
	b.replaceView(r, conns, rooms)
	r.seq, r.synced = snap.Seq, true
	held := r.held
	r.held = nil
	slices.SortFunc(held, func(x, y presenceBatch) int { return cmp.Compare(x.Seq, y.Seq) })
	for _, batch := range held {
		switch {
		case batch.Seq <= r.seq:
		case batch.Seq == r.seq+1:
			r.seq = batch.Seq
			b.applyOps(r, batch.Ops)
		default:
			r.synced = false
			r.held = append(r.held, batch)
		}
	}
	if !r.synced {
		b.requestSnapshot(r)
	}
}

func (b *Broker) applyOps(r *remoteNode, ops []presenceOp) {
	for _, op := range ops {
		switch op.Op {
		case "c":
			if _, ok := r.conns[op.Conn]; !ok {
				r.conns[op.Conn] = op
				b.deliver(core.RemoteConn{Node: r.name, User: op.User, Conn: core.ConnID(op.Conn), Order: op.Order, Open: true})
			}
		case "d":
			if old, ok := r.conns[op.Conn]; ok {
				delete(r.conns, op.Conn)
				b.deliver(core.RemoteConn{Node: r.name, User: old.User, Conn: core.ConnID(op.Conn), Order: old.Order})
			}
		case "r":
			key := roomUser{op.Room, op.User}
			if r.rooms[key].Count == op.Count {
				continue
			}
			if op.Count > 0 {
				r.rooms[key] = op
			} else {
				delete(r.rooms, key)
			}
			b.deliver(core.RemoteRoomPresence{Node: r.name, User: op.User, Room: op.Room, Count: op.Count, Began: op.Began})
		}
	}
}

// replaceView moves r to the given state, delivering the differences in a fixed order:
// room joins and opens first, then room leaves, then closes.
func (b *Broker) replaceView(r *remoteNode, conns map[uint64]presenceOp, rooms map[roomUser]presenceOp) {
	var opens, closes []presenceOp
	for id, op := range conns {
		if _, ok := r.conns[id]; !ok {
			opens = append(opens, op)
		}
	}
	for id, op := range r.conns {
		if _, ok := conns[id]; !ok {
			closes = append(closes, presenceOp{Op: "d", User: op.User, Conn: id})
		}
	}
	var ups, downs []presenceOp
	for k, op := range rooms {
		if r.rooms[k].Count != op.Count {
			ups = append(ups, op)
		}
	}
	for k := range r.rooms {
		if _, ok := rooms[k]; !ok {
			downs = append(downs, presenceOp{Op: "r", User: k.user, Room: k.room})
		}
	}
	byConn := func(x, y presenceOp) int { return cmp.Compare(x.Conn, y.Conn) }
	byRoom := func(x, y presenceOp) int { return cmp.Or(cmp.Compare(x.Room, y.Room), cmp.Compare(x.User, y.User)) }
	slices.SortFunc(opens, byConn)
	slices.SortFunc(closes, byConn)
	slices.SortFunc(ups, byRoom)
	slices.SortFunc(downs, byRoom)
	for _, ops := range [][]presenceOp{opens, ups, downs, closes} {
		b.applyOps(r, ops)
	}
}

// dropNode forgets a node that said bye, restarted or went silent: the core hears it is
// gone (it owns no more app events), then its users leave its rooms and its connections
// close, each announced once.
func (b *Broker) dropNode(r *remoteNode) {
	b.deliver(core.RemoteGone{Node: r.name})
	b.replaceView(r, nil, nil)
	delete(b.remotes, r.name)
	b.log.Info("node gone", "node", r.name)
}

// expire drops nodes silent for longer than the expiry. While this node's own link is
// down it cannot hear anyone, so nobody expires then (onReconnect restarts the clocks).
func (b *Broker) expire(now time.Time) {
	if !b.linkUp.Load() {
		return
	}
	var gone []*remoteNode
	for _, r := range b.remotes {
		if now.Sub(r.heard) > b.opts.Expiry {
			gone = append(gone, r)
		}
	}
	slices.SortFunc(gone, func(x, y *remoteNode) int { return cmp.Compare(x.name, y.name) })
	for _, r := range gone {
		b.log.Info("node expired", "node", r.name)
		b.dropNode(r)
	}
}
