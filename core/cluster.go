package core

import (
	"cmp"
	"slices"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// cluster is the hub as one node of many (cluster_api.go): its view of the other nodes,
// and the peers operations that consult it.
type cluster struct {
	h          *Hub
	opened     map[ConnID]int64              // local conn → when it opened (its Order)
	remotes    map[nodeConn]remoteConn       // every remote connection
	byUser     map[string]map[nodeConn]int64 // remote connections per user, with Order
	inRooms    map[nodeRoomUser]int32        // remote per-node presence counts
	recovering map[connRoom]recovery         // local conns catching up a room
	publishing map[uint64]*AdminReply        // admin publishes waiting for their offset
	acks       map[uint64]pendingAck         // client chats with an id, acked once sequenced
	lastRef    uint64
	epoch      string // the cluster stream's epoch (RemoteEpoch); every room shares it

	// The per-user limit counts another node's connections only once that node was heard
	// from (heard: event time, unix ns) after the user's newest connection was seen: a
	// node that died keeps its connections here until it expires, and a user whose tab
	// on it reconnects elsewhere must not lose a live tab for them. A live node is heard
	// within a heartbeat; until then the user waits in limitWait.
	heard     map[string]int64
	limitWait map[string]bool

	// App events (cluster_events.go): the nodes believed alive (this one aside), the
	// events left to other owners, and when each node's presence of a user in a room
	// began (on that node's clock; a room event's cause).
	alive    map[string]bool
	deferred []deferredEvent
	since    map[nodeRoomUser]int64
	started  int64 // when this hub started (its first event, unix ns)
}

func newCluster(h *Hub) *cluster {
	return &cluster{
		h:          h,
		opened:     map[ConnID]int64{},
		remotes:    map[nodeConn]remoteConn{},
		byUser:     map[string]map[nodeConn]int64{},
		inRooms:    map[nodeRoomUser]int32{},
		recovering: map[connRoom]recovery{},
		publishing: map[uint64]*AdminReply{},
		acks:       map[uint64]pendingAck{},
		heard:      map[string]int64{},
		limitWait:  map[string]bool{},
		alive:      map[string]bool{},
		since:      map[nodeRoomUser]int64{},
	}
}

// defaultClusterEpoch stands until the cluster link reports the stream's own.
const defaultClusterEpoch = "cluster"

func (p *cluster) currentEpoch() string {
	if p.epoch == "" {
		return defaultClusterEpoch
	}
	return p.epoch
}

// chatRef marks the refs of client chats, apart from the admin refs the node chooses.
const chatRef = 1 << 63

type pendingAck struct {
	conn ConnID
	id   []byte
}

type nodeConn struct {
	node string
	conn ConnID
}

type remoteConn struct {
	user  string
	order int64 // when it opened, on its node's clock
	seen  int64 // when this node learned of it (event time, unix ns)
}

type nodeRoomUser struct{ node, room, user string }

type connRoom struct {
	conn ConnID
	room string
}

// recovery: until the RemoteRecovered arrives (pending) live chats wait in the stream;
// afterwards those up to bound were already sent with the recovered ones.
type recovery struct {
	pending bool
	bound   uint64
	ack     []byte // the join's id, acked after the replay
	hasAck  bool
	welcome bool // the join announced the user: c gets its user_joined after the replay
}

// admit announces c, applies the per-user limit over the whole cluster, then seats c in
// its token's subs.
func (p *cluster) admit(c *conn, out *Outbox) {
	p.start()
	order := p.h.now.UnixNano()
	p.opened[c.id] = order
	out.cluster(ClusterConnOpened{User: c.user.id, Conn: c.id, Order: order})
	p.limit(c.user.id, out)
	p.h.joinSubs(c, out)
}

func (p *cluster) gone(c *conn, out *Outbox) {
	delete(p.opened, c.id)
	out.cluster(ClusterConnClosed{User: c.user.id, Conn: c.id})
}

// moved announces how many local conns c's user now has in r.
func (p *cluster) moved(c *conn, r *room, out *Outbox) {
	n := 0
	for _, x := range c.user.conns {
		if x.roomIndex(r) >= 0 {
			n++
		}
	}
	if n == 0 || c.roomIndex(r) < 0 {
		delete(p.recovering, connRoom{c.id, r.name})
	}
	k := nodeRoomUser{p.h.cfg.NodeID, r.name, c.user.id}
	since, ok := p.since[k]
	switch {
	case n == 0:
		delete(p.since, k)
		since = 0
	case !ok:
		since = p.h.now.UnixNano()
		p.since[k] = since
	}
	out.cluster(ClusterRoomCount{Room: r.name, User: c.user.id, Count: n, Began: since})
}

// limit closes the local connections of user that are beyond the per-user limit
// counted over every node: the oldest by (Order, node, conn) go, wherever they are, and
// every node closes its own. Another node's connections count once that node was heard
// from since the user's newest connection was seen (see cluster.heard).
func (p *cluster) limit(name string, out *Outbox) {
	h := p.h
	limit := h.cfg.MaxPerUser
	u := h.users[name]
	if limit <= 0 || u == nil || len(u.conns)+len(p.byUser[name]) <= limit {
		delete(p.limitWait, name)
		return
	}
	newest := int64(0)
	for _, c := range u.conns {
		newest = max(newest, p.opened[c.id])
	}
	for k := range p.byUser[name] {
		newest = max(newest, p.remotes[k].seen)
	}
	type entry struct {
		order int64
		node  string
		id    ConnID
		local *conn
	}
	all := make([]entry, 0, len(u.conns)+len(p.byUser[name]))
	for _, c := range u.conns {
		all = append(all, entry{p.opened[c.id], h.cfg.NodeID, c.id, c})
	}
	delete(p.limitWait, name)
	for k, order := range p.byUser[name] {
		if p.heard[k.node] < newest {
			p.limitWait[name] = true // perhaps a dead node's: it counts once heard again
			continue
		}
		all = append(all, entry{order, k.node, k.conn, nil})
	}
	if len(all) <= limit {
		return
	}
	slices.SortFunc(all, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.node, b.node), cmp.Compare(a.id, b.id))
	})
	for _, e := range all[:len(all)-limit] {
		if e.local != nil {
			h.closeConn(e.local, CloseReplaced, replacedReason(limit), out)
		}
	}
}

// enter is a join in cluster mode. Without since, joined carries the offset this node
// knows (the caller acks). With since, c joins at once (so that live chats of r wait for
// it) and asks the cluster for r's chats after since; joined, history_gap, the replay and
// the ack follow when they arrive (RemoteRecovered). A since of another epoch (the
// cluster's stream was lost meanwhile) is an unknown position: every held chat, with a
// gap.
func (p *cluster) enter(c *conn, r *room, req *proto.Request, out *Outbox) (ackLater bool) {
	h := p.h
	if !req.HasSince {
		j := proto.NewMessage(proto.MsgJoined)
		j.Room, j.Extra().Epoch, j.Offset = r.name, p.currentEpoch(), r.s.offset
		out.deliverTo(j, c.id)
		h.join(c, r, out)
		return false
	}
	since, rec := req.Since, recovery{pending: true}
	if len(req.Epoch) > 0 && string(req.Epoch) != p.currentEpoch() {
		since = 0
		rec.bound = 1 // forces the gap (see recovered)
	}
	if req.HasID {
		rec.ack, rec.hasAck = append([]byte(nil), req.ID...), true
	}
	// joined comes first (§10.1), with the answer: c's own user_joined waits for it
	rec.welcome = h.seat(c, r, true, out)
	p.recovering[connRoom{c.id, r.name}] = rec
	out.cluster(ClusterRecover{Room: r.name, Conn: c.id, Since: since})
	return true
}

// chat hands a client's chat to the cluster; it reaches the room's connections, the
// sender's included, when it comes back sequenced, and its ack follows it, as on a
// single node. A chat the cluster could not store in time is never acked.
func (p *cluster) chat(c *conn, r *room, req *proto.Request, out *Outbox) {
	var ref uint64
	if req.HasID {
		p.lastRef++
		ref = chatRef | p.lastRef
		p.acks[ref] = pendingAck{conn: c.id, id: append([]byte(nil), req.ID...)}
	}
	var dedupe string
	if req.HasID && p.h.cfg.DedupeWindow > 0 {
		dedupe = c.user.id + "\x00" + r.name + "\x00" + string(req.ID)
	}
	p.sequence(r, c.user.id, req.Content, ref, dedupe, out)
}

// publish hands an operator's chat to the cluster; the reply waits for its offset
// (RemotePublished). Nobody anywhere in the room: nothing to deliver, as on one node.
func (p *cluster) publish(room, content string, rep *AdminReply, out *Outbox) bool {
	r := p.h.rooms[room]
	if r == nil {
		return false
	}
	rep.Delivered = r.conns()
	p.publishing[rep.Ref] = rep
	p.sequence(r, ServerSender, []byte(content), rep.Ref, "", out)
	return true
}

// sequence hands a room chat to the cluster to be sequenced. dedupe, when set, names the
// chat for the cluster's own duplicate detection (PROTOCOL.md §10.4, on any node).
func (p *cluster) sequence(r *room, sender string, content []byte, ref uint64, dedupe string, out *Outbox) {
	out.cluster(ClusterPublish{Room: r.name, Sender: sender, Content: clone(content),
		Time: p.h.now, Ref: ref, DedupeID: dedupe})
}

// clone copies what a ClusterAction keeps: the request's bytes are reused.
func clone(b []byte) []byte { return append([]byte(nil), b...) }

func (p *cluster) forwardRoom(m *proto.Message, out *Outbox) {
	out.cluster(ClusterRoomMessage{Room: m.Room, Type: m.Type, Sender: m.Sender, Event: string(m.Event),
		Content: clone(m.Content), Time: m.Time})
}

func (p *cluster) forwardPrivate(sender, to string, content []byte, copies bool, out *Outbox) {
	out.cluster(ClusterPrivate{Sender: sender, To: to, NoCopy: !copies, Content: clone(content), Time: p.h.now})
}

func (p *cluster) forwardBroadcast(sender, exclude string, content []byte, out *Outbox) int {
	out.cluster(ClusterBroadcast{Sender: sender, Exclude: exclude, Content: clone(content), Time: p.h.now})
	n := len(p.remotes)
	if exclude != "" {
		n -= len(p.byUser[exclude])
	}
	return n
}

func (p *cluster) forwardSystem(room string, content []byte, out *Outbox) {
	out.cluster(ClusterSystem{Room: room, Content: clone(content), Time: p.h.now})
}

func (p *cluster) forwardKick(user string, out *Outbox) { out.cluster(ClusterKick{User: user}) }

func (p *cluster) forwardSeat(user, room string, leave bool, out *Outbox) {
	out.cluster(ClusterSeat{User: user, Room: room, Leave: leave})
}

func (p *cluster) conns() int { return len(p.remotes) }

func (p *cluster) userConns(user string) int { return len(p.byUser[user]) }

func (p *cluster) roomUserConns(room, user string) int {
	n := 0
	for k, c := range p.inRooms {
		if k.room == room && k.user == user {
			n += int(c)
		}
	}
	return n
}

func (p *cluster) online(dst []string, max int) ([]string, int) {
	names := p.h.sortedUsers()
	return append(dst, names[:min(len(names), max)]...), len(names)
}

// allUsers appends the local users and those with connections only on other nodes.
func (p *cluster) allUsers(dst []string) []string {
	n := len(dst)
	for name := range p.h.users {
		dst = append(dst, name)
	}
	for name := range p.byUser {
		if p.h.users[name] == nil {
			dst = append(dst, name)
		}
	}
	slices.Sort(dst[n:])
	return dst
}

func (p *cluster) presenceCounts(room string, count map[string]int32) {
	for k, n := range p.inRooms {
		if k.room == room {
			count[k.user] += n
		}
	}
}

func (*cluster) keepsStreams() bool { return false }
