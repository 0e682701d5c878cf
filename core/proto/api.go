package proto

import "time"

// Format is a subprotocol's payload encoding.
type Format uint8

const (
	JSON    Format = iota // switchboard.json: text frames, one JSON object each
	Msgpack               // switchboard.msgpack: binary frames, one MessagePack map each

	NumFormats = 2
)

// Subprotocol names as negotiated in Sec-WebSocket-Protocol.
const (
	SubprotocolJSON    = "switchboard.json"
	SubprotocolMsgpack = "switchboard.msgpack"
)

// RequestType is the `type` of a client → server message.
type RequestType uint8

const (
	ReqUnknown RequestType = iota
	ReqJoin
	ReqLeave
	ReqChat
	ReqPrivate
	ReqBroadcast
	ReqMembers
	ReqOnline
	ReqPing
	ReqEvent   // an ephemeral room event (PROTOCOL.md §10.3)
	ReqAuth    // the token of a connection not yet identified (PROTOCOL.md §8.2)
	ReqRefresh // a new token for an identified connection
	ReqRPC     // a call the application's backend answers (PROTOCOL.md §9.1)
)

// Request is one parsed client message. Its byte fields alias the payload (or the
// Request's own scratch space for unescaped JSON strings): they are valid only until the
// payload is reused or the Request is parsed into again. Parsing into the same Request
// repeatedly allocates nothing in steady state.
type Request struct {
	Type     RequestType
	ID       []byte // empty when absent; HasID tells absent from ""
	HasID    bool
	Room     []byte
	To       []byte
	Content  []byte
	Since    uint64
	HasSince bool
	Epoch    []byte // join: the stream epoch `since` belongs to (§10.2); empty when absent
	Event    []byte // event: its name
	Token    []byte // join (a room token, optional), auth and refresh (required)
	Method   []byte // rpc: the method named
	// Data is rpc's `data` as JSON text (a MessagePack client's value converted), `null`
	// when absent.
	Data []byte
	// HasContent tells a missing `content` from an empty one.
	HasContent bool

	scratch []byte // unescaped JSON strings; grown once to the payload's size, then reused
	data    []byte // a MessagePack rpc's data as JSON, reused
	err     Error  // the last failure, returned by pointer so a rejection allocates nothing
}

// MessageType is the `type` of a server → client message.
type MessageType uint8

const (
	MsgConnected MessageType = iota
	MsgUserJoined
	MsgUserLeft
	MsgChat
	MsgPrivate
	MsgBroadcast
	MsgSystem
	MsgMembers
	MsgOnline
	MsgPong
	MsgAck
	MsgError
	MsgJoined    // the join's position in the room's stream (§10.1)
	MsgEvent     // an ephemeral room event (§10.3)
	MsgLeft      // the server took the connection out of a room (PROTOCOL.md §8)
	MsgRPCResult // the backend's answer to an rpc (PROTOCOL.md §9.1)
)

// Message is one server → client message. The core fills its fields; Frame encodes it
// lazily, once per format, and every recipient shares those bytes. Messages are pooled and
// reference-counted: NewMessage returns one reference, Retain adds one, Release drops one,
// and the last Release returns the message (and its buffers) to the pool.
//
// Message itself holds the fields of the frequent types (chat, private, broadcast,
// event, ack, user_left, and user_joined but for its member list); every other field
// is in Extra (m.Extra()), so that the frequent messages stay small and cheap to reuse. Only the fields of the message's Type
// are encoded (PROTOCOL.md §4). The last Release keeps the capacity of Content, ID,
// Event, Extra's Result and the frame buffers (append into them: m.Content =
// append(m.Content[:0], …)) but sets Members, Rooms and Users to nil, since those may be
// slices their caller still owns. Frame is not safe
// for concurrent use: the goroutine that owns the core fills every format it needs before
// handing the message to other goroutines, which then only read the returned bytes.
type Message struct {
	Type      MessageType
	HasOffset bool      // ack: a chat's ack carries its offset (§10.4)
	Room      string    // user_joined, user_left, chat, members, joined, event, left, optional for system and error (history_gap)
	UserID    string    // connected, user_joined, user_left
	Sender    string    // chat, private, broadcast, event
	To        string    // private
	Content   []byte    // chat, private, broadcast, system, event; owned by the message, reused
	ID        []byte    // ack, rpc_result, optional for error; chat: its request id for a store, never encoded; owned by the message, reused
	Event     []byte    // event's name; owned by the message, reused
	Offset    uint64    // chat, joined; ack when HasOffset
	Time      time.Time // `timestamp` of connected, user_joined, user_left, chat, private, broadcast, system, event

	extra     *Extra // allocated by the first Extra call, kept across reuse
	refs      int32
	extraUsed bool // Extra was called since the last reset, so extra needs clearing
	encoded   [NumFormats]bool
	inPlace   [NumFormats]bool   // a framing's header is in frames[f]'s headroom
	nframed   uint8              // framed[:nframed] are built
	frames    [NumFormats][]byte // per format: headroom for a framing's header, then the payload; capacity kept across reuse
	framed    [maxFramed]framed  // the (framing, format) pairs built so far
}

// Extra is the part of a Message that only the less frequent types use: connected,
// user_joined's and members' lists, online, error, joined, left and rpc_result.
type Extra struct {
	ConnID    uint64   // connected (encoded as a decimal string)
	Total     int      // online
	Code      Code     // error
	HasID     bool     // error: send `id` even when it is "" (an error includes `id` when HasID or ID is non-empty)
	Recovered bool     // joined
	ErrorCode string   // error: `code` as the application's backend named it (§9.1), sent instead of Code's name when set
	Text      string   // error's `message`, left's `reason`
	Epoch     string   // joined
	Result    []byte   // rpc_result's `result`: JSON text, owned by the message, reused
	Members   []string // user_joined, members (always encoded, [] when empty)
	Rooms     []string // connected (always encoded)
	Users     []string // online (always encoded)
}
