package core

import "time"

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
	RemoteEpoch                                    // the cluster's stream is Epoch (a new one after it was lost)
	RemoteRoomEvent                                // an ephemeral event: Room, Sender, Event, Content, Time
	RemoteSeat                                     // join every local conn of User to Room (admin, PROTOCOL.md §8.3)
	RemoteUnseat                                   // take every local conn of User out of Room
	RemoteAlive                                    // Node was heard from (a heartbeat): its connections count for limits
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
	Epoch   string
	Event   string // RemoteRoomEvent: the event's name
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
	ClusterRoomEvent                       // an ephemeral event: Room, Sender, Event, Content, Time
	ClusterSeat                            // User's conns on other nodes join Room (RemoteSeat)
	ClusterUnseat                          // User's conns on other nodes leave Room (RemoteUnseat)
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
	Event   string // ClusterRoomEvent: the event's name
	// DedupeID (ClusterPublish) names a client chat with an id (user, room, id joined by
	// NUL): a second publish with the same DedupeID within Config.DedupeWindow must not be
	// stored or delivered again, and its RemotePublished carries the first one's Offset.
	DedupeID string
}
