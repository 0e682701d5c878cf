package core

import (
	"cmp"
	"slices"
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// Cluster mode (Config.Cluster): the hub is one node of many (PROTOCOL.md §7). What other
// nodes do arrives as EventCluster events; what they must learn leaves as ActionCluster
// actions, which an adapter (adapters/nats) carries. The hub still does no I/O: a room
// chat becomes a ClusterPublish and reaches local connections only when it comes back
// sequenced (RemoteChat, the hub's own chats included), so every node delivers a room's
// chats in one order with one offset; presence from other nodes is counted in the same
// room presence as local connections, so members, user_joined and user_left are
// cluster-wide; the per-user limit orders every connection of a user by (Order, node,
// conn) and each node closes its own.

// ClusterEventKind says what another node (or the cluster link) reports.
type ClusterEventKind uint8

const (
	RemoteChat         ClusterEventKind = iota + 1 // a sequenced chat: Room, Sender, Content, Offset, Time
	RemoteRoomGap                                  // live chats of Room were lost: local members get history_gap
	RemotePrivate                                  // for local conns of To, or of Sender when Copy
	RemoteBroadcast                                // Sender, Content, Exclude, Time
	RemoteSystem                                   // Content, Time, optional Room
	RemoteKick                                     // close every local conn of User 4009
	RemoteConn                                     // conn Conn of User on Node opened (Open) or closed; Order
	RemoteRoomPresence                             // User has Count conns in Room on Node (0: none)
	RemoteRecovered                                // answer to ClusterRecover for local Conn: Chats, Gap, Offset
	RemotePublished                                // answer to ClusterPublish with Ref: Offset, or Failed
)

// ClusterEvent is the payload of an EventCluster. Only the fields of its Kind are read.
type ClusterEvent struct {
	Kind    ClusterEventKind
	Node    string
	Room    string
	User    string
	Sender  string
	To      string
	Exclude string
	Copy    bool
	Content []byte
	Offset  uint64
	Time    time.Time
	Conn    ConnID // RemoteConn: the id on Node; RemoteRecovered: a local conn
	Order   int64
	Open    bool
	Count   int
	Gap     bool
	Chats   []ClusterChat
	Ref     uint64
	Failed  bool
}

// ClusterChat is one stored chat of a RemoteRecovered.
type ClusterChat struct {
	Sender  string
	Content []byte
	Offset  uint64
	Time    time.Time
}

// ClusterOp says what the cluster must be told.
type ClusterOp uint8

const (
	ClusterPublish    ClusterOp = iota + 1 // sequence a chat: Room, Sender, Content, Time; Ref≠0 wants RemotePublished
	ClusterPrivate                         // Sender, To, Content, Time; NoCopy: no copies to the sender's conns
	ClusterBroadcast                       // Sender, Content, Exclude, Time
	ClusterSystem                          // Content, Time, optional Room
	ClusterKick                            // User
	ClusterConnOpened                      // User, Conn, Order
	ClusterConnClosed                      // User, Conn
	ClusterRoomCount                       // User now has Count local conns in Room
	ClusterRecover                         // fetch Room's chats after Since for Conn (answer: RemoteRecovered)
)

// ClusterAction is the payload of an ActionCluster. Content is the action's own.
type ClusterAction struct {
	Op      ClusterOp
	Room    string
	User    string
	Sender  string
	To      string
	Exclude string
	NoCopy  bool
	Content []byte
	Time    time.Time
	Conn    ConnID
	Order   int64
	Count   int
	Since   uint64
	Ref     uint64
}

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
	order int64
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
// every node closes its own.
func (h *Hub) clusterLimit(name string, out *Outbox) {
	limit := h.cfg.MaxPerUser
	u := h.users[name]
	if limit <= 0 || u == nil || len(u.conns)+len(h.cl.userConns[name]) <= limit {
		return
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
	for k, order := range h.cl.userConns[name] {
		all = append(all, entry{order, k.node, k.conn, nil})
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

// publishChat hands a room chat to the cluster to be sequenced.
func (h *Hub) publishChat(r *room, sender string, content []byte, ref uint64, out *Outbox) {
	out.cluster(&ClusterAction{Op: ClusterPublish, Room: r.name, Sender: sender,
		Content: append([]byte(nil), content...), Time: h.now, Ref: ref})
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
	h.publishChat(r, c.user.id, req.Content, ref, out)
}

// clusterRecover asks the cluster for r's chats after since; live chats of r wait for c
// until they arrive (RemoteRecovered).
func (h *Hub) clusterRecover(c *conn, r *room, since uint64, out *Outbox) {
	h.clusterInit()
	h.cl.recovering[connRoom{c.id, r.name}] = recovery{pending: true}
	out.cluster(&ClusterAction{Op: ClusterRecover, Room: r.name, Conn: c.id, Since: since})
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
		h.publishChat(r, ServerSender, content(), req.Ref, out)
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

// clusterEvent applies what another node reported.
func (h *Hub) clusterEvent(ev *ClusterEvent, out *Outbox) {
	h.clusterInit()
	switch ev.Kind {
	case RemoteChat:
		h.remoteChat(ev, out)
	case RemoteRoomGap:
		if r := h.rooms[ev.Room]; r != nil {
			e := proto.NewMessage(proto.MsgError)
			e.Code, e.Text, e.Room = proto.HistoryGap, msgHistoryGap, r.name
			mark := out.mark()
			r.addTargets(out)
			out.deliver(e, mark)
		}
	case RemotePrivate:
		name := ev.To
		if ev.Copy {
			name = ev.Sender
		}
		if u := h.users[name]; u != nil {
			m := proto.NewMessage(proto.MsgPrivate)
			m.Sender, m.To, m.Time = ev.Sender, ev.To, ev.Time
			m.Content = append(m.Content[:0], ev.Content...)
			h.deliverPrivate(m, u, nil, out)
		}
	case RemoteBroadcast:
		m := proto.NewMessage(proto.MsgBroadcast)
		m.Sender, m.Time = ev.Sender, ev.Time
		m.Content = append(m.Content[:0], ev.Content...)
		h.deliverAll(m, ev.Exclude, out)
	case RemoteSystem:
		m := proto.NewMessage(proto.MsgSystem)
		m.Time = ev.Time
		m.Content = append(m.Content[:0], ev.Content...)
		if ev.Room == "" {
			h.deliverAll(m, "", out)
		} else if r := h.rooms[ev.Room]; r != nil {
			m.Room = r.name
			mark := out.mark()
			r.addTargets(out)
			out.deliver(m, mark)
		} else {
			m.Release()
		}
	case RemoteKick:
		if u := h.users[ev.User]; u != nil {
			for len(u.conns) > 0 {
				h.closeConn(u.conns[0], CloseKicked, ReasonKicked, out)
			}
		}
	case RemoteConn:
		h.remoteConn(ev, out)
	case RemoteRoomPresence:
		h.remotePresence(ev, out)
	case RemoteRecovered:
		h.remoteRecovered(ev, out)
	case RemotePublished:
		if pa, ok := h.cl.acks[ev.Ref]; ok {
			delete(h.cl.acks, ev.Ref)
			if h.conns[pa.conn] != nil && !ev.Failed {
				m := proto.NewMessage(proto.MsgAck)
				m.ID = append(m.ID[:0], pa.id...)
				out.deliverTo(m, pa.conn)
			}
			return
		}
		rep := h.cl.publishing[ev.Ref]
		if rep == nil {
			return
		}
		delete(h.cl.publishing, ev.Ref)
		if ev.Failed {
			rep.Status, rep.Error, rep.Message, rep.Delivered = 503, "unavailable", "the cluster did not store the message", 0
		} else {
			rep.Offset = ev.Offset
		}
		out.reply(rep)
	}
}

// remoteChat delivers a sequenced chat to the room's local members, except those still
// catching up (they get it with their recovered chats).
func (h *Hub) remoteChat(ev *ClusterEvent, out *Outbox) {
	r := h.rooms[ev.Room]
	if r == nil || r.members.live == 0 {
		return
	}
	if ev.Offset > r.offset {
		r.offset = ev.Offset
	}
	m := proto.NewMessage(proto.MsgChat)
	m.Room, m.Sender, m.Offset, m.Time = r.name, ev.Sender, ev.Offset, ev.Time
	m.Content = append(m.Content[:0], ev.Content...)
	mark := out.mark()
	for _, c := range r.members.slots {
		if c == nil {
			continue
		}
		if len(h.cl.recovering) > 0 {
			key := connRoom{c.id, r.name}
			if rec, ok := h.cl.recovering[key]; ok {
				if rec.pending || ev.Offset <= rec.bound {
					continue
				}
				delete(h.cl.recovering, key)
			}
		}
		out.addTarget(c.id)
	}
	out.deliver(m, mark)
}

func (h *Hub) remoteRecovered(ev *ClusterEvent, out *Outbox) {
	key := connRoom{ev.Conn, ev.Room}
	rec, ok := h.cl.recovering[key]
	c := h.conns[ev.Conn]
	if !ok || !rec.pending || c == nil {
		return // the conn left the room (or is gone) meanwhile
	}
	if ev.Gap {
		e := proto.NewMessage(proto.MsgError)
		e.Code, e.Text, e.Room = proto.HistoryGap, msgHistoryGap, ev.Room
		out.deliverTo(e, c.id)
	}
	for _, ch := range ev.Chats {
		m := proto.NewMessage(proto.MsgChat)
		m.Room, m.Sender, m.Offset, m.Time = ev.Room, ch.Sender, ch.Offset, ch.Time
		m.Content = append(m.Content[:0], ch.Content...)
		out.deliverTo(m, c.id)
	}
	h.cl.recovering[key] = recovery{bound: ev.Offset}
}

func (h *Hub) remoteConn(ev *ClusterEvent, out *Outbox) {
	k := nodeConn{ev.Node, ev.Conn}
	if ev.Open {
		if _, dup := h.cl.conns[k]; dup {
			return
		}
		h.cl.conns[k] = remoteConn{user: ev.User, order: ev.Order}
		uc := h.cl.userConns[ev.User]
		if uc == nil {
			uc = map[nodeConn]int64{}
			h.cl.userConns[ev.User] = uc
			h.userNames.dirty = true
		}
		uc[k] = ev.Order
		h.clusterLimit(ev.User, out)
		return
	}
	rc, ok := h.cl.conns[k]
	if !ok {
		return
	}
	delete(h.cl.conns, k)
	if uc := h.cl.userConns[rc.user]; uc != nil {
		delete(uc, k)
		if len(uc) == 0 {
			delete(h.cl.userConns, rc.user)
			h.userNames.dirty = true
		}
	}
}

// remotePresence moves the presence another node reports for (Room, User) into the
// room's presence, announcing a user's first arrival and last departure cluster-wide.
func (h *Hub) remotePresence(ev *ClusterEvent, out *Outbox) {
	if !validRoom(ev.Room) || !validUser(ev.User) {
		return
	}
	k := nodeRoomUser{ev.Node, ev.Room, ev.User}
	old, now := h.cl.rooms[k], int32(max(ev.Count, 0))
	if old == now {
		return
	}
	if now > 0 {
		h.cl.rooms[k] = now
	} else {
		delete(h.cl.rooms, k)
	}
	r := h.rooms[ev.Room]
	if r == nil {
		if now < old {
			return
		}
		r = h.createRoom(ev.Room)
	}
	for i := old; i < now; i++ {
		if r.addPresence(ev.User) {
			m := proto.NewMessage(proto.MsgUserJoined)
			m.Room, m.UserID, m.Time = r.name, ev.User, h.now
			m.Members = r.appendUsers(m.Members[:0])
			mark := out.mark()
			r.addTargets(out)
			out.deliver(m, mark)
		}
	}
	for i := now; i < old; i++ {
		if r.removePresence(ev.User) {
			m := proto.NewMessage(proto.MsgUserLeft)
			m.Room, m.UserID, m.Time = r.name, ev.User, h.now
			mark := out.mark()
			r.addTargets(out)
			out.deliver(m, mark)
		}
	}
	if r.empty() {
		h.deleteRoom(r)
	}
}

// remotePresenceCounts adds other nodes' presence in room to count (Verify).
func (h *Hub) remotePresenceCounts(room string, count map[string]int32) {
	for k, n := range h.cl.rooms {
		if k.room == room {
			count[k.user] += n
		}
	}
}
