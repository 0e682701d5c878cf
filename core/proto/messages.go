package proto

//go:generate go test -run ^TestGeneratedTable$ -update-table .

// The server → client messages (PROTOCOL.md §4, §8–§10), one table entry each: the
// message's wire name and its keys after `type`, in the order both encoders write them
// (the JSON key order clients see). Adding a message type is its MessageType constant,
// one entry here, `go generate` (which writes both encoders into table_gen.go from this
// table), plus the core code that fills its Message.

// messageSpec is one message type.
type messageSpec struct {
	name   string
	fields []messageField
}

// messageField is one key of a message type and when it is sent.
type messageField struct {
	key  messageKey
	when presence
}

// presence says when a key is sent.
type presence uint8

const (
	always      presence = iota
	ifRoom               // Room is not empty
	ifHasOffset          // HasOffset (a chat's ack, §10.4)
	ifHasID              // HasID or ID is not empty (an error's id may be "")
)

var messages = [...]messageSpec{
	MsgConnected:  {"connected", []messageField{{mUserID, always}, {mConnID, always}, {mRooms, always}, {mTimestamp, always}}},
	MsgUserJoined: {"user_joined", []messageField{{mRoom, always}, {mUserID, always}, {mMembers, always}, {mTimestamp, always}}},
	MsgUserLeft:   {"user_left", []messageField{{mRoom, always}, {mUserID, always}, {mTimestamp, always}}},
	MsgChat:       {"chat", []messageField{{mRoom, always}, {mSender, always}, {mContent, always}, {mOffset, always}, {mTimestamp, always}}},
	MsgPrivate:    {"private", []messageField{{mSender, always}, {mTo, always}, {mContent, always}, {mTimestamp, always}}},
	MsgBroadcast:  {"broadcast", []messageField{{mSender, always}, {mContent, always}, {mTimestamp, always}}},
	MsgSystem:     {"system", []messageField{{mContent, always}, {mRoom, ifRoom}, {mTimestamp, always}}},
	MsgMembers:    {"members", []messageField{{mRoom, always}, {mMembers, always}}},
	MsgOnline:     {"online", []messageField{{mUsers, always}, {mTotal, always}}},
	MsgPong:       {"pong", nil},
	MsgAck:        {"ack", []messageField{{mID, always}, {mOffset, ifHasOffset}}},
	MsgError:      {"error", []messageField{{mCode, always}, {mMessage, always}, {mID, ifHasID}, {mRoom, ifRoom}}},
	MsgJoined:     {"joined", []messageField{{mRoom, always}, {mEpoch, always}, {mOffset, always}, {mRecovered, always}}},
	MsgEvent:      {"event", []messageField{{mRoom, always}, {mSender, always}, {mEvent, always}, {mContent, always}, {mTimestamp, always}}},
	MsgLeft:       {"left", []messageField{{mRoom, always}, {mReason, always}}},
	MsgRPCResult:  {"rpc_result", []messageField{{mID, always}, {mResult, always}}},
}

// NumMessageTypes is the number of server → client message types.
const NumMessageTypes = len(messages)

// String returns the message type as it appears on the wire, e.g. "user_joined".
func (t MessageType) String() string {
	if int(t) < len(messages) {
		return messages[t].name
	}
	return "unknown"
}

// presenceTest is the Go condition under which the generated encoders send a key.
var presenceTest = [...]string{
	always:      "true",
	ifRoom:      `m.Room != ""`,
	ifHasOffset: "m.HasOffset",
	ifHasID:     "m.ext().HasID || len(m.ID) > 0",
}

// messageKey is a key a server message may carry.
type messageKey uint8

const (
	mRoom messageKey = iota
	mUserID
	mConnID
	mSender
	mTo
	mContent
	mID
	mCode
	mMessage
	mReason
	mEpoch
	mEvent
	mMembers
	mRooms
	mUsers
	mTotal
	mOffset
	mRecovered
	mTimestamp
	mResult
	numMessageKeys
)

// valueType is how a key's value is written in each format.
type valueType uint8

const (
	typeString    valueType = iota // a string
	typeStrings                    // a list of strings, always an array ([] when nil)
	typeUint                       // a uint64
	typeInt                        // an int
	typeBool                       // a bool
	typeTime                       // RFC 3339 string / timestamp extension
	typeDecimal                    // a uint64 sent as a string of decimal digits
	typeJSONValue                  // JSON text / its MessagePack form
)

// messageKeys: each key's wire name, value type, and the Go expression that reads its
// value from a *Message m in the generated encoders.
var messageKeys = [numMessageKeys]struct {
	name string
	typ  valueType
	read string
}{
	mRoom:      {"room", typeString, "m.Room"},
	mUserID:    {"user_id", typeString, "m.UserID"},
	mConnID:    {"conn_id", typeDecimal, "m.ext().ConnID"},
	mSender:    {"sender", typeString, "m.Sender"},
	mTo:        {"to", typeString, "m.To"},
	mContent:   {"content", typeString, "bytesString(m.Content)"},
	mID:        {"id", typeString, "bytesString(m.ID)"},
	mCode:      {"code", typeString, "m.errorCode()"},
	mMessage:   {"message", typeString, "m.errorText()"},
	mReason:    {"reason", typeString, "m.ext().Text"},
	mEpoch:     {"epoch", typeString, "m.ext().Epoch"},
	mEvent:     {"event", typeString, "bytesString(m.Event)"},
	mMembers:   {"members", typeStrings, "m.ext().Members"},
	mRooms:     {"rooms", typeStrings, "m.ext().Rooms"},
	mUsers:     {"users", typeStrings, "m.ext().Users"},
	mTotal:     {"total", typeInt, "m.ext().Total"},
	mOffset:    {"offset", typeUint, "m.Offset"},
	mRecovered: {"recovered", typeBool, "m.ext().Recovered"},
	mTimestamp: {"timestamp", typeTime, "m.Time"},
	mResult:    {"result", typeJSONValue, "m.resultJSON()"},
}

// errorCode is the error's `code`: the backend's own when it named one.
func (m *Message) errorCode() string {
	if x := m.ext(); x.ErrorCode != "" {
		return x.ErrorCode
	}
	return m.ext().Code.String()
}

// errorText is the error's `message`, with the code's default sentence when the core
// left Text empty (history_gap is sent without one).
func (m *Message) errorText() string {
	if x := m.ext(); x.Text != "" {
		return x.Text
	}
	return m.ext().Code.text()
}

// resultJSON is rpc_result's `result`; an empty one is null.
func (m *Message) resultJSON() []byte {
	if r := m.ext().Result; len(r) > 0 {
		return r
	}
	return jsonNull
}
