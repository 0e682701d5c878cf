package core

import (
	"cmp"
	"slices"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// cluster is the hub's view of the other nodes.
type cluster struct {
	opened     map[ConnID]int64              // local conn → when it opened (its Order)
	conns      map[nodeConn]remoteConn       // every remote connection
	userConns  map[string]map[nodeConn]int64 // remote connections per user, with Order
	rooms      map[nodeRoomUser]int32        // remote per-node presence counts
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
}

// defaultClusterEpoch stands until the cluster link reports the stream's own.
const defaultClusterEpoch = "cluster"

func (h *Hub) clusterEpoch() string {
	if h.cl.epoch == "" {
		return defaultClusterEpoch
	}
	return h.cl.epoch
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

func (h *Hub) clusterInit() {
	if h.cl.conns != nil {
		return
	}
	h.cl = cluster{
		opened:     map[ConnID]int64{},
		conns:      map[nodeConn]remoteConn{},
		userConns:  map[string]map[nodeConn]int64{},
		rooms:      map[nodeRoomUser]int32{},
		recovering: map[connRoom]recovery{},
		publishing: map[uint64]*AdminReply{},
		acks:       map[uint64]pendingAck{},
		heard:      map[string]int64{},
		limitWait:  map[string]bool{},
	}
}

func (o *Outbox) cluster(a *ClusterAction) {
	o.Actions = append(o.Actions, Action{Kind: ActionCluster, Cluster: a})
}

// clusterConnected announces c and applies the per-user limit over the whole cluster.
func (h *Hub) clusterConnected(c *conn, out *Outbox) {
	h.clusterInit()
	order := h.now.UnixNano()
	h.cl.opened[c.id] = order
	out.cluster(&ClusterAction{Op: ClusterConnOpened, User: c.user.id, Conn: c.id, Order: order})
	h.clusterLimit(c.user.id, out)
}

// clusterDisconnected announces that c (already out of its rooms) is gone.
func (h *Hub) clusterDisconnected(c *conn, out *Outbox) {
	delete(h.cl.opened, c.id)
	out.cluster(&ClusterAction{Op: ClusterConnClosed, User: c.user.id, Conn: c.id})
}

// clusterRoomChanged announces how many local conns c's user now has in r, after c
// joined or left it.
func (h *Hub) clusterRoomChanged(c *conn, r *room, out *Outbox) {
	n := 0
	for _, x := range c.user.conns {
		if x.roomIndex(r) >= 0 {
			n++
		}
	}
	if n == 0 || c.roomIndex(r) < 0 {
		delete(h.cl.recovering, connRoom{c.id, r.name})
	}
	out.cluster(&ClusterAction{Op: ClusterRoomCount, Room: r.name, User: c.user.id, Count: n})
}

// clusterLimit closes the local connections of user that are beyond the per-user limit
// counted over every node: the oldest by (Order, node, conn) go, wherever they are, and
// every node closes its own. Another node's connections count once that node was heard
// from since the user's newest connection was seen (see cluster.heard).
func (h *Hub) clusterLimit(name string, out *Outbox) {
	limit := h.cfg.MaxPerUser
	u := h.users[name]
	if limit <= 0 || u == nil || len(u.conns)+len(h.cl.userConns[name]) <= limit {
		delete(h.cl.limitWait, name)
		return
	}
	newest := int64(0)
	for _, c := range u.conns {
		newest = max(newest, h.cl.opened[c.id])
	}
	for k := range h.cl.userConns[name] {
		newest = max(newest, h.cl.conns[k].seen)
	}
	type entry struct {
		order int64
		node  string
		id    ConnID
		local *conn
	}
	all := make([]entry, 0, len(u.conns)+len(h.cl.userConns[name]))
	for _, c := range u.conns {
		all = append(all, entry{h.cl.opened[c.id], h.cfg.NodeID, c.id, c})
	}
	delete(h.cl.limitWait, name)
	for k, order := range h.cl.userConns[name] {
		if h.cl.heard[k.node] < newest {
			h.cl.limitWait[name] = true // perhaps a dead node's: it counts once heard again
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
	reason := ReasonTooMany
	if limit == 1 {
		reason = ReasonReplaced
	}
	for _, e := range all[:len(all)-limit] {
		if e.local != nil {
			h.closeConn(e.local, CloseReplaced, reason, out)
		}
	}
}

// clusterUsers appends the users that have connections only on other nodes.
func (h *Hub) clusterUsers(dst []string) []string {
	for name := range h.cl.userConns {
		if h.users[name] == nil {
			dst = append(dst, name)
		}
	}
	return dst
}

// onlineCount is the number of connections of user on every node.
func (h *Hub) onlineCount(name string) int {
	n := len(h.cl.userConns[name])
	if u := h.users[name]; u != nil {
		n += len(u.conns)
	}
	return n
}

// roomConns is the number of connections in r on every node.
func (r *room) conns() int {
	n := 0
	for _, p := range r.presence {
		n += int(p.conns)
	}
	return n
}

// publishChat hands a room chat to the cluster to be sequenced. dedupe, when set, names
// the chat for the cluster's own duplicate detection (PROTOCOL.md §10.4, on any node).
func (h *Hub) publishChat(r *room, sender string, content []byte, ref uint64, dedupe string, out *Outbox) {
	out.cluster(&ClusterAction{Op: ClusterPublish, Room: r.name, Sender: sender,
		Content: append([]byte(nil), content...), Time: h.now, Ref: ref, DedupeID: dedupe})
}

// clusterChat hands a client's chat to the cluster; it reaches the room's connections,
// the sender's included, when it comes back sequenced, and its ack follows it, as on a
// single node. A chat the cluster could not store in time is never acked.
func (h *Hub) clusterChat(c *conn, r *room, req *proto.Request, out *Outbox) {
	var ref uint64
	if req.HasID {
		h.cl.lastRef++
		ref = chatRef | h.cl.lastRef
		h.cl.acks[ref] = pendingAck{conn: c.id, id: append([]byte(nil), req.ID...)}
	}
	var dedupe string
	if req.HasID && h.cfg.DedupeWindow > 0 {
		dedupe = c.user.id + "\x00" + r.name + "\x00" + string(req.ID)
	}
	h.publishChat(r, c.user.id, req.Content, ref, dedupe, out)
}

// clusterJoin is a join in cluster mode. Without since, joined carries the offset this
// node knows (the caller acks). With since, c joins at once (so that live chats of r wait
// for it) and asks the cluster for r's chats after since; joined, history_gap, the replay
// and the ack follow when they arrive (RemoteRecovered). A since of another epoch (the cluster's
// stream was lost meanwhile) is an unknown position: every held chat, with a gap.
func (h *Hub) clusterJoin(c *conn, r *room, req *proto.Request, out *Outbox) (ackLater bool) {
	h.clusterInit()
	if !req.HasSince {
		j := proto.NewMessage(proto.MsgJoined)
		j.Room, j.Epoch, j.Offset = r.name, h.clusterEpoch(), r.s.offset
		out.deliverTo(j, c.id)
		h.join(c, r, out)
		return false
	}
	since, rec := req.Since, recovery{pending: true}
	if len(req.Epoch) > 0 && string(req.Epoch) != h.clusterEpoch() {
		since = 0
		rec.bound = 1 // forces the gap (see remoteRecovered)
	}
	if req.HasID {
		rec.ack, rec.hasAck = append([]byte(nil), req.ID...), true
	}
	// joined comes first (§10.1), with the answer: c's own user_joined waits for it
	rec.welcome = h.seat(c, r, true, out)
	h.cl.recovering[connRoom{c.id, r.name}] = rec
	out.cluster(&ClusterAction{Op: ClusterRecover, Room: r.name, Conn: c.id, Since: since})
	return true
}

// clusterRoomEvent hands an ephemeral event to the other nodes (local members already
// have it).
func (h *Hub) clusterRoomEvent(c *conn, r *room, req *proto.Request, out *Outbox) {
	out.cluster(&ClusterAction{Op: ClusterRoomEvent, Room: r.name, Sender: c.user.id,
		Event: string(req.Event), Content: append([]byte(nil), req.Content...), Time: h.now})
}

// clusterPrivate is a client's private message in cluster mode: local conns of to and the
// sender's other local conns get it here, the other nodes' through the cluster.
func (h *Hub) clusterPrivate(c *conn, req *proto.Request, out *Outbox) {
	to := string(req.To)
	if h.onlineCount(to) == 0 {
		h.fail(c, proto.UserOffline, msgUserOffline, req, out)
		return
	}
	m := proto.NewMessage(proto.MsgPrivate)
	m.Sender, m.To, m.Time = c.user.id, to, h.now
	m.Content = append(m.Content[:0], req.Content...)
	mark := out.mark()
	if u := h.users[to]; u != nil {
		for _, x := range u.conns {
			out.addTarget(x.id)
		}
	}
	if c.user.id != to {
		for _, x := range c.user.conns {
			if x != c {
				out.addTarget(x.id)
			}
		}
	}
	out.deliver(m, mark)
	out.cluster(&ClusterAction{Op: ClusterPrivate, Sender: c.user.id, To: to, Content: append([]byte(nil), req.Content...), Time: h.now})
	h.ack(c, req, out)
}

// clusterAdmin answers the operator requests that span the cluster; it reports false
// for those the local code answers (users, rooms, members count remote presence too).
func (h *Hub) clusterAdmin(req *AdminRequest, rep *AdminReply, out *Outbox) bool {
	h.clusterInit()
	content := func() []byte { return []byte(req.Content) }
	switch req.Op {
	case AdminStats:
		rep.Stats = Stats{
			TotalConnections: len(h.conns) + len(h.cl.conns),
			UniqueUsers:      len(h.sortedUsers()),
			MaxConnections:   h.cfg.MaxConns,
			Rooms:            len(h.rooms),
			NodeID:           h.cfg.NodeID,
		}
	case AdminBroadcast:
		m := proto.NewMessage(proto.MsgBroadcast)
		m.Sender, m.Time = ServerSender, h.now
		m.Content = append(m.Content[:0], req.Content...)
		h.deliverAll(m, req.Exclude, out)
		rep.Delivered = len(h.conns) + len(h.cl.conns)
		if req.Exclude != "" {
			rep.Delivered -= h.onlineCount(req.Exclude)
		}
		out.cluster(&ClusterAction{Op: ClusterBroadcast, Sender: ServerSender, Exclude: req.Exclude, Content: content(), Time: h.now})
	case AdminPublish:
		r := h.rooms[req.Room]
		if r == nil {
			break // nobody anywhere in the room: nothing to deliver, as on one node
		}
		rep.Delivered = r.conns()
		h.cl.publishing[req.Ref] = rep
		h.publishChat(r, ServerSender, content(), req.Ref, "", out)
		return true // answered when the offset comes back (RemotePublished)
	case AdminSendUser:
		if h.onlineCount(req.User) == 0 {
			rep.Status, rep.Error, rep.Message = 404, "not_found", "user is not online"
			break
		}
		rep.Delivered = h.onlineCount(req.User)
		if u := h.users[req.User]; u != nil {
			m := proto.NewMessage(proto.MsgPrivate)
			m.Sender, m.To, m.Time = ServerSender, u.id, h.now
			m.Content = append(m.Content[:0], req.Content...)
			h.deliverPrivate(m, u, nil, out)
		}
		out.cluster(&ClusterAction{Op: ClusterPrivate, Sender: ServerSender, To: req.User, NoCopy: true, Content: content(), Time: h.now})
	case AdminDisconnect:
		rep.Closed = h.onlineCount(req.User)
		if u := h.users[req.User]; u != nil {
			for len(u.conns) > 0 {
				h.closeConn(u.conns[0], CloseKicked, ReasonKicked, out)
			}
		}
		if rep.Closed > 0 {
			out.cluster(&ClusterAction{Op: ClusterKick, User: req.User})
		}
	case AdminJoinRoom, AdminLeaveRoom:
		h.clusterSeat(req, rep, out)
	case AdminSystem:
		m := proto.NewMessage(proto.MsgSystem)
		m.Time = h.now
		m.Content = append(m.Content[:0], req.Content...)
		if req.Room == "" {
			h.deliverAll(m, "", out)
			rep.Delivered = len(h.conns) + len(h.cl.conns)
		} else if r := h.rooms[req.Room]; r != nil {
			m.Room = r.name
			mark := out.mark()
			r.addTargets(out)
			out.deliver(m, mark)
			rep.Delivered = r.conns()
		} else {
			m.Release()
			break
		}
		out.cluster(&ClusterAction{Op: ClusterSystem, Room: req.Room, Content: content(), Time: h.now})
	default:
		return false
	}
	out.reply(rep)
	return true
}

// clusterSeat is server-side membership over the whole cluster (PROTOCOL.md §8.3): this
// node's connections of the user join or leave now, the other nodes' when told. The
// counts include the other nodes' connections as far as their presence reports have
// arrived.
func (h *Hub) clusterSeat(req *AdminRequest, rep *AdminReply, out *Outbox) {
	remote := len(h.cl.userConns[req.User])
	inRoom := 0 // the user's connections in the room on other nodes
	for k, n := range h.cl.rooms {
		if k.room == req.Room && k.user == req.User {
			inRoom += int(n)
		}
	}
	u := h.users[req.User]
	if req.Op == AdminJoinRoom {
		if u == nil && remote == 0 {
			rep.Status, rep.Error, rep.Message = 404, "not_found", "user is not online"
			return
		}
		if u != nil {
			rep.Joined = h.seatUser(u, req.Room, out)
		}
		rep.Joined += remote - inRoom
		// Told even when no other node is known to hold the user: presence news may be
		// on its way, and each node knows its own connections.
		out.cluster(&ClusterAction{Op: ClusterSeat, User: req.User, Room: req.Room})
		return
	}
	if u != nil {
		rep.Left = h.unseatUser(u, req.Room, out)
	}
	rep.Left += inRoom
	out.cluster(&ClusterAction{Op: ClusterUnseat, User: req.User, Room: req.Room})
}
