package core

import (
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// ConnID names one connection. The transport chooses it (unique for the hub's life).
type ConnID uint64

// Config is the hub's limits and policies (PROTOCOL.md §1).
type Config struct {
	NodeID               string
	MaxConns             int     // connections over this are closed 4003
	MaxPerUser           int     // a user's oldest connection over this is closed 4000
	MaxRoomsPerConn      int     // a join over this gets limit_exceeded
	MaxMessageBytes      int     // content over this gets too_large
	Rate                 float64 // messages per second per connection (token bucket)
	Burst                int     // bucket size
	AllowClientBroadcast bool
	History              int // chat messages kept per room for `since` recovery
	// HistoryTTL is how long a room's stream outlives its members after its last message
	// (PROTOCOL.md §10.2); 0: a stream goes with the room's last member.
	HistoryTTL time.Duration
	// HistoryMemory bounds the bytes of held messages over all streams (0: no bound).
	HistoryMemory int64
	// DedupeWindow is how long a chat id is remembered per user and room (§10.4; 0: off).
	DedupeWindow time.Duration
	// Durable: streams are kept by a store (durable.go): the hub emits ActionStore and
	// takes EventRestore.
	Durable   bool
	MaxListed int // cap of `rooms` in connected and `users` in online (1000)
	// Namespaces are the access rules per namespace (PROTOCOL.md §8, access.go); nil or
	// empty: every room public, as in v1.
	Namespaces map[string]Namespace
	// Cluster: this hub is one node of a cluster (cluster_api.go): chats are sequenced by the
	// cluster, presence and limits count other nodes.
	Cluster bool
	// Backend: an adapter answers the backend's asks (PROTOCOL.md §9.1, hooks.go): joins
	// in `join: proxy` namespaces, chats and events in `publish: proxy` ones, and rpc.
	// Without it they answer unavailable.
	Backend bool
	// AppEvents: the hub emits ActionAppEvent for the application's event stream and
	// webhooks (§9.2, appevents.go); OfflineGrace is how long a user must have had no
	// connection before user_offline (a reconnect within it sends nothing).
	AppEvents    bool
	OfflineGrace time.Duration
}

// EventKind says what happened.
type EventKind uint8

const (
	EventConnect    EventKind = iota // Conn arrived as Identity speaking Format
	EventFrame                       // Conn sent one complete message, Payload
	EventDisconnect                  // Conn is gone; Code says why (the close code seen or sent)
	EventTick                        // the clock moved to Now
	EventAdmin                       // an operator request, Admin
	EventCluster                     // another node or the cluster link reports Cluster (cluster_api.go)
	EventRestore                     // a store gives back a stream it held, Restore (durable.go); before any connection
	EventAnswer                      // the adapter answers an Ask with Answer (ask.go)
)

// Event is one input to Hub.Step. Only the fields of its Kind are read.
// Payload is read during Step only; the caller may reuse it afterwards.
type Event struct {
	Kind     EventKind
	Now      time.Time
	Conn     ConnID
	Identity Identity // EventConnect: who Conn is and what its token grants
	Format   proto.Format
	Payload  []byte
	Code     uint16
	Admin    AdminRequest
	Cluster  ClusterEvent
	Answer   *Answer
	Restore  *StreamState
}

// ActionKind says what the adapter must do.
type ActionKind uint8

const (
	ActionDeliver    ActionKind = iota // send Msg to every connection in Targets
	ActionClose                        // close Conn with Code and Reason; the hub has already forgotten it
	ActionAdminReply                   // answer the admin request Reply.Ref
	ActionCluster                      // tell the other nodes Cluster (cluster_api.go)
	ActionStore                        // write Store for stream Room (durable.go) before any later delivery goes out
	ActionAsk                          // find out Ask and step the EventAnswer (ask.go)
	ActionAppEvent                     // tell the application App (Config.AppEvents, appevents.go)
)

// Action is one output of Hub.Step. Msg and Targets are valid until Outbox.Reset; an
// adapter that queues Msg beyond that calls Msg.Retain (and Release when written).
type Action struct {
	Kind    ActionKind
	Msg     *proto.Message
	Targets []ConnID
	Conn    ConnID
	Code    uint16
	Reason  string
	Reply   *AdminReply
	Cluster ClusterAction
	Store   StoreOp // ActionStore: what to write; Msg is the appended chat
	Room    string  // ActionStore
	Epoch   string  // ActionStore
	Keep    int     // ActionStore: messages the stream holds at most
	Ask     *Ask
	App     *AppEvent
}

// AdminOp is an operator request of PROTOCOL.md §6.
type AdminOp uint8

const (
	AdminStats       AdminOp = iota // GET /api/stats
	AdminUsers                      // GET /api/users
	AdminRooms                      // GET /api/rooms
	AdminRoomMembers                // GET /api/rooms/{Room}/members
	AdminBroadcast                  // POST /api/broadcast {Content, Exclude}
	AdminPublish                    // POST /api/rooms/{Room}/publish {Content}
	AdminSendUser                   // POST /api/users/{User}/send {Content}
	AdminDisconnect                 // POST /api/users/{User}/disconnect
	AdminSystem                     // POST /api/system {Content, Room}
	AdminHistory                    // GET /api/rooms/{Room}/history?since=Since&limit=Limit
	AdminJoinRoom                   // POST /api/users/{User}/rooms/{Room} (PROTOCOL.md §8.3)
	AdminLeaveRoom                  // DELETE /api/users/{User}/rooms/{Room}
)

// AdminRequest is an operator request; Ref is echoed in the reply.
type AdminRequest struct {
	Op      AdminOp
	Ref     uint64
	Room    string
	User    string
	Content string
	Exclude string
	Since   uint64
	Limit   int
}

// RoomInfo is one row of GET /api/rooms.
type RoomInfo struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
}

// Stats is GET /api/stats.
type Stats struct {
	TotalConnections int    `json:"total_connections"`
	UniqueUsers      int    `json:"unique_users"`
	MaxConnections   int    `json:"max_connections"`
	Rooms            int    `json:"rooms"`
	NodeID           string `json:"node_id"`
}

// AdminReply answers one AdminRequest. Status is the HTTP status (200, 400, 404); the
// fields of the request's Op are filled.
type AdminReply struct {
	Ref       uint64
	Op        AdminOp
	Status    int
	Error     string // machine code when Status != 200, e.g. "bad_request", "not_found"
	Message   string
	Stats     Stats
	Users     []string
	Rooms     []RoomInfo
	Room      string
	Members   []string
	Total     int
	Delivered int
	Offset    uint64
	Closed    int
	Epoch     string          // history
	Messages  []StoredMessage // history
	Joined    int             // AdminJoinRoom: connections that joined
	Left      int             // AdminLeaveRoom: connections taken out
}
