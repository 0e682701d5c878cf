package proto

// Wire names of the protocol's enumerations (PROTOCOL.md §3–§4). The tables are
// indexed by the enumeration value, so String never allocates.

var codeNames = [...]string{
	OK:            "ok",
	BadRequest:    "bad_request",
	UnknownType:   "unknown_type",
	NotMember:     "not_member",
	UserOffline:   "user_offline",
	Forbidden:     "forbidden",
	RateLimited:   "rate_limited",
	LimitExceeded: "limit_exceeded",
	TooLarge:      "too_large",
	HistoryGap:    "history_gap",
	Unauthorized:  "unauthorized",
	Unavailable:   "unavailable",
}

// CodeOf returns the code whose wire name is name; ok is false for names that are not
// the protocol's (a backend may name its own, PROTOCOL.md §9.1).
func CodeOf(name string) (c Code, ok bool) {
	for i, n := range codeNames {
		if n == name {
			return Code(i), true
		}
	}
	return 0, false
}

// String returns the code as it appears on the wire, e.g. "bad_request".
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "unknown_code"
}

var requestTypeNames = [...]string{
	ReqUnknown:   "unknown",
	ReqJoin:      "join",
	ReqLeave:     "leave",
	ReqChat:      "chat",
	ReqPrivate:   "private",
	ReqBroadcast: "broadcast",
	ReqMembers:   "members",
	ReqOnline:    "online",
	ReqPing:      "ping",
	ReqEvent:     "event",
	ReqAuth:      "auth",
	ReqRefresh:   "refresh",
	ReqRPC:       "rpc",
}

// String returns the request type as it appears on the wire, e.g. "join".
func (t RequestType) String() string {
	if int(t) < len(requestTypeNames) {
		return requestTypeNames[t]
	}
	return "unknown"
}

// requestTypeOf maps a wire `type` to its RequestType (ReqUnknown when unknown). A
// switch on string(b) compiles to comparisons without allocating.
func requestTypeOf(b []byte) RequestType {
	switch string(b) {
	case "join":
		return ReqJoin
	case "leave":
		return ReqLeave
	case "chat":
		return ReqChat
	case "private":
		return ReqPrivate
	case "broadcast":
		return ReqBroadcast
	case "members":
		return ReqMembers
	case "online":
		return ReqOnline
	case "ping":
		return ReqPing
	case "event":
		return ReqEvent
	case "auth":
		return ReqAuth
	case "refresh":
		return ReqRefresh
	case "rpc":
		return ReqRPC
	}
	return ReqUnknown
}

var messageTypeNames = [...]string{
	MsgConnected:  "connected",
	MsgUserJoined: "user_joined",
	MsgUserLeft:   "user_left",
	MsgChat:       "chat",
	MsgPrivate:    "private",
	MsgBroadcast:  "broadcast",
	MsgSystem:     "system",
	MsgMembers:    "members",
	MsgOnline:     "online",
	MsgPong:       "pong",
	MsgAck:        "ack",
	MsgError:      "error",
	MsgJoined:     "joined",
	MsgEvent:      "event",
	MsgLeft:       "left",
	MsgRPCResult:  "rpc_result",
}

// NumMessageTypes is the number of server → client message types.
const NumMessageTypes = len(messageTypeNames)

// String returns the message type as it appears on the wire, e.g. "user_joined".
func (t MessageType) String() string {
	if int(t) < len(messageTypeNames) {
		return messageTypeNames[t]
	}
	return "unknown"
}

var formatNames = [...]string{JSON: "json", Msgpack: "msgpack"}

// String returns "json" or "msgpack".
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "unknown"
}

// Subprotocol returns the Sec-WebSocket-Protocol name of the format.
func (f Format) Subprotocol() string {
	if f == Msgpack {
		return SubprotocolMsgpack
	}
	return SubprotocolJSON
}

// FormatOf returns the format of a negotiated subprotocol name; ok is false for names
// that are not Switchboard's.
func FormatOf(subprotocol string) (f Format, ok bool) {
	switch subprotocol {
	case SubprotocolJSON:
		return JSON, true
	case SubprotocolMsgpack:
		return Msgpack, true
	}
	return JSON, false
}
