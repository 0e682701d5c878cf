package core

import (
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// Cluster mode (Config.Cluster): the hub is one node of many (PROTOCOL.md §7). What other
// nodes do arrives as EventCluster events carrying a ClusterEvent; what they must learn
// leaves as ActionCluster actions carrying a ClusterAction, which an adapter
// (adapters/nats) encodes and carries. Each message is its own type. The hub still does
// no I/O: a room chat becomes a ClusterPublish and reaches local connections only when
// it comes back sequenced (RemoteChat, the hub's own chats included), so every node
// delivers a room's chats in one order with one offset; presence from other nodes is
// counted in the same room presence as local connections, so members, user_joined and
// user_left are cluster-wide; the per-user limit orders every connection of a user by
// (Order, node, conn) and each node closes its own.

// ClusterEvent is what another node (or the cluster link) reports: one of the Remote*
// types. Node, where a type has it, names the node the news comes from.
type ClusterEvent interface{ clusterEvent() }

// RemoteChat is a sequenced room chat, the hub's own chats included.
type RemoteChat struct {
	Node, Room, Sender string
	Content            []byte
	Offset             uint64
	Time               time.Time
}

// RemoteRoomGap says live chats of Room were lost: local members get history_gap.
type RemoteRoomGap struct{ Room string }

// RemotePrivate is a private message for the local connections of To or, when Copy, of
// Sender (the copy for the sender's other tabs).
type RemotePrivate struct {
	Node, Sender, To string
	Copy             bool
	Content          []byte
	Time             time.Time
}

// RemoteBroadcast is for every local connection except those of user Exclude.
type RemoteBroadcast struct {
	Node, Sender, Exclude string
	Content               []byte
	Time                  time.Time
}

// RemoteSystem is an operator notice for every local connection, or Room's.
type RemoteSystem struct {
	Node, Room string
	Content    []byte
	Time       time.Time
}

// RemoteKick closes every local connection of User 4009.
type RemoteKick struct{ Node, User string }

// RemoteSeat joins every local connection of User to Room (admin, PROTOCOL.md §8.3) or,
// with Leave, takes them out of it.
type RemoteSeat struct {
	Node, User, Room string
	Leave            bool
}

// RemoteConn says connection Conn of User on Node opened (Open; Order is when, on that
// node's clock) or closed.
type RemoteConn struct {
	Node, User string
	Conn       ConnID
	Order      int64
	Open       bool
}

// RemoteRoomPresence says User has Count connections in Room on Node (0: none), since
// Since on Node's clock (unix ns: when its count there last rose from 0).
type RemoteRoomPresence struct {
	Node, Room, User string
	Count            int
	Began            int64
}

// RemoteRecovered answers a ClusterRecover for local connection Conn: the Chats of Room
// after its since that the cluster holds, Gap when some are lost, Offset the newest one
// covered.
type RemoteRecovered struct {
	Conn   ConnID
	Room   string
	Chats  []ClusterChat
	Gap    bool
	Offset uint64
}

// ClusterChat is one stored chat of a RemoteRecovered.
type ClusterChat struct {
	Sender  string
	Content []byte
	Offset  uint64
	Time    time.Time
}

// RemotePublished answers a ClusterPublish with a Ref: its Offset, or Failed.
type RemotePublished struct {
	Ref, Offset uint64
	Failed      bool
}

// RemoteEpoch says the cluster's stream is Epoch (a new one after it was lost).
type RemoteEpoch struct{ Epoch string }

// RemoteRoomMessage is a room message that is never stored or numbered, of Type with
// the room fields Sender, Event and Content (an ephemeral event, PROTOCOL.md §10.3),
// for the local members of Room.
type RemoteRoomMessage struct {
	Node, Room    string
	Type          proto.MessageType
	Sender, Event string
	Content       []byte
	Time          time.Time
}

// RemoteAlive says Node was heard from (a heartbeat): its connections count for limits.
type RemoteAlive struct{ Node string }

func (RemoteChat) clusterEvent()         {}
func (RemoteRoomGap) clusterEvent()      {}
func (RemotePrivate) clusterEvent()      {}
func (RemoteBroadcast) clusterEvent()    {}
func (RemoteSystem) clusterEvent()       {}
func (RemoteKick) clusterEvent()         {}
func (RemoteSeat) clusterEvent()         {}
func (RemoteConn) clusterEvent()         {}
func (RemoteRoomPresence) clusterEvent() {}
func (RemoteRecovered) clusterEvent()    {}
func (RemotePublished) clusterEvent()    {}
func (RemoteEpoch) clusterEvent()        {}
func (RemoteRoomMessage) clusterEvent()  {}
func (RemoteAlive) clusterEvent()        {}

// ClusterAction is what the other nodes must be told: one of the Cluster* types. Its
// slices are the action's own.
type ClusterAction interface{ clusterAction() }

// ClusterPublish asks the cluster to sequence a room chat; a Ref≠0 wants a
// RemotePublished. DedupeID names a client chat with an id (user, room, id joined by
// NUL): a second publish with the same DedupeID within Config.DedupeWindow must not be
// stored or delivered again, and its RemotePublished carries the first one's Offset.
type ClusterPublish struct {
	Room, Sender string
	Content      []byte
	Time         time.Time
	Ref          uint64
	DedupeID     string
}

// ClusterPrivate is a private message for To's connections on other nodes and, unless
// NoCopy, copies for the sender's.
type ClusterPrivate struct {
	Sender, To string
	Content    []byte
	Time       time.Time
	NoCopy     bool
}

// ClusterBroadcast is for every connection on other nodes except user Exclude's.
type ClusterBroadcast struct {
	Sender, Exclude string
	Content         []byte
	Time            time.Time
}

// ClusterSystem is an operator notice for other nodes' connections, or Room's.
type ClusterSystem struct {
	Room    string
	Content []byte
	Time    time.Time
}

// ClusterKick closes User's connections on other nodes.
type ClusterKick struct{ User string }

// ClusterSeat joins User's connections on other nodes to Room (RemoteSeat), or with
// Leave takes them out.
type ClusterSeat struct {
	User, Room string
	Leave      bool
}

// ClusterConnOpened announces local connection Conn of User, opened at Order.
type ClusterConnOpened struct {
	User  string
	Conn  ConnID
	Order int64
}

// ClusterConnClosed announces that local connection Conn of User is gone.
type ClusterConnClosed struct {
	User string
	Conn ConnID
}

// ClusterRoomCount says User now has Count local connections in Room, since Began (unix
// ns, when the count last rose from 0; the same in every report until it drops to 0).
type ClusterRoomCount struct {
	Room, User string
	Count      int
	Began      int64
}

// ClusterRecover fetches Room's chats after Since for local connection Conn (answer:
// RemoteRecovered).
type ClusterRecover struct {
	Conn  ConnID
	Room  string
	Since uint64
}

// ClusterRoomMessage is a room message that is never stored or numbered (see
// RemoteRoomMessage) for Room's members on other nodes.
type ClusterRoomMessage struct {
	Room          string
	Type          proto.MessageType
	Sender, Event string
	Content       []byte
	Time          time.Time
}

func (ClusterPublish) clusterAction()     {}
func (ClusterPrivate) clusterAction()     {}
func (ClusterBroadcast) clusterAction()   {}
func (ClusterSystem) clusterAction()      {}
func (ClusterKick) clusterAction()        {}
func (ClusterSeat) clusterAction()        {}
func (ClusterConnOpened) clusterAction()  {}
func (ClusterConnClosed) clusterAction()  {}
func (ClusterRoomCount) clusterAction()   {}
func (ClusterRecover) clusterAction()     {}
func (ClusterRoomMessage) clusterAction() {}
