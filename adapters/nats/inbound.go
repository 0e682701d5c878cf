package natsbroker

import "time"

// Kind says what an Inbound carries.
type Kind uint8

const (
	// KindChat is a room chat, sequenced by JetStream: Room, Sender, Content, Offset, Time.
	// Every node delivers a room's chats in Offset order, its own included.
	KindChat Kind = iota + 1
	// KindRoomGap: live delivery of Room lost chats the stream no longer holds.
	KindRoomGap
	// KindPrivate is a private message for the local connections of To (Copy false) or,
	// when Copy is true, for the local connections of the sender, Sender.
	KindPrivate
	// KindBroadcast is for every local connection except those of user Exclude.
	KindBroadcast
	// KindSystem is an operator notice: Content, to every local connection or to Room's.
	KindSystem
	// KindKick: close every local connection of User (admin disconnect on another node).
	KindKick
	// KindConn: connection Conn of User on Node opened (Open) or closed. Order is when it
	// opened (unix ns on that node); the oldest of a user's connections is the one with
	// the smallest (Order, Node, Conn).
	KindConn
	// KindRoomPresence: User now has Count connections in Room on Node (0: none).
	KindRoomPresence
	// KindNodeGone: Node left the cluster (said bye, or was silent past the expiry). Its
	// KindConn closes and zero KindRoomPresence counts were delivered just before.
	KindNodeGone
	// KindRecovered answers Recover: Chats of Room after Since that the stream holds, in
	// order, for connection Conn; Gap when some chat after Since is no longer held. Offset
	// is the newest offset covered: live chats of Room with Offset up to it may arrive
	// after this and must not reach Conn twice.
	KindRecovered
	// KindPublished answers PublishChat with a non-zero Ref: Offset, or Err.
	KindPublished
	// KindLink: the link to NATS went down (Degraded) or came back.
	KindLink
	// KindSeat: join every local connection of User to Room (server-side membership).
	KindSeat
	// KindUnseat: take every local connection of User out of Room.
	KindUnseat
	// KindEpoch: the room stream is Epoch. It is delivered before any chat of that
	// stream; a new one (the stream was lost and created again, e.g. NATS restarted on an
	// empty store) restarts every room's offsets at 1.
	KindEpoch
	// KindRoomEvent is an ephemeral room event (never stored): Room, Sender, Event,
	// Content, Time, for every local connection in Room.
	KindRoomEvent
	// KindAlive: Node was heard from (a heartbeat or presence batch; at most a few per
	// heartbeat interval). Per-user limits count a node's connections once it was heard
	// from after the user's newest connection, so a dead node's never count.
	KindAlive
)

var kindNames = [...]string{"", "chat", "room_gap", "private", "broadcast", "system", "kick",
	"conn", "room_presence", "node_gone", "recovered", "published", "link", "seat", "unseat", "epoch", "room_event", "alive"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Inbound is one thing the cluster tells this node. Only the fields of its Kind are set.
// Slices belong to the receiver.
type Inbound struct {
	Kind     Kind
	Node     string
	Room     string
	User     string
	Sender   string
	To       string
	Exclude  string
	Copy     bool
	Content  []byte
	Offset   uint64
	Time     time.Time
	Conn     uint64
	Order    int64
	Open     bool
	Count    int
	Since    uint64
	Gap      bool
	Chats    []Chat
	Ref      uint64
	Err      error
	Degraded bool
	Epoch    string
	Event    string
}

// Chat is one stored room chat.
type Chat struct {
	Room    string
	Sender  string
	Content []byte
	Offset  uint64
	Time    time.Time

	stored time.Time // when the stream stored it (the NATS server's clock)
	origin string    // the node that published it
}
