package proto

import "github.com/tinylib/msgp/msgp"

// The server → client messages (PROTOCOL.md §4, §8–§10), one table entry each: the
// message's wire name and its keys after `type`, in the order both encoders write them
// (the JSON key order clients see). Adding a message type is one entry here, plus the
// core code that fills its Message.

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

// messageStart holds, per message type, the bytes both encoders begin with, built once
// from the table: `{"type":"chat"` for JSON; the key "type" and the name for MessagePack
// (after the map header, whose size depends on the keys sent); and how many keys the
// type always sends besides its conditional ones.
var messageStart = func() (t [len(messages)]struct {
	json, msgpack []byte
	keys          uint32
	conditional   bool
}) {
	for i, spec := range messages {
		t[i].json = append(append([]byte(`{"type":"`), spec.name...), '"')
		t[i].msgpack = msgp.AppendString(msgp.AppendString(nil, "type"), spec.name)
		t[i].keys = 1
		for _, f := range spec.fields {
			if f.when == always {
				t[i].keys++
			} else {
				t[i].conditional = true
			}
		}
	}
	return t
}()

// spec returns the table entry of m's type. A type outside the table is the core's bug.
func (m *Message) spec() *messageSpec {
	if int(m.Type) >= len(messages) {
		panic("proto: unknown MessageType")
	}
	return &messages[m.Type]
}

// sends reports whether m carries a key that is sent when w says.
func (m *Message) sends(w presence) bool {
	switch w {
	case ifRoom:
		return m.Room != ""
	case ifHasOffset:
		return m.HasOffset
	case ifHasID:
		return m.HasID || len(m.ID) > 0
	}
	return true
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
	typeString    valueType = iota // Message.str
	typeStrings                    // Message.list, always an array ([] when nil)
	typeUint                       // Message.Offset
	typeInt                        // Message.Total
	typeBool                       // Message.Recovered
	typeTime                       // Message.Time: RFC 3339 string / timestamp extension
	typeDecimal                    // Message.ConnID as a string of decimal digits
	typeJSONValue                  // Message.Result: JSON text / its MessagePack form
)

// messageKeys: each key's wire name and value type.
var messageKeys = [numMessageKeys]struct {
	name string
	typ  valueType
}{
	mRoom:      {"room", typeString},
	mUserID:    {"user_id", typeString},
	mConnID:    {"conn_id", typeDecimal},
	mSender:    {"sender", typeString},
	mTo:        {"to", typeString},
	mContent:   {"content", typeString},
	mID:        {"id", typeString},
	mCode:      {"code", typeString},
	mMessage:   {"message", typeString},
	mReason:    {"reason", typeString},
	mEpoch:     {"epoch", typeString},
	mEvent:     {"event", typeString},
	mMembers:   {"members", typeStrings},
	mRooms:     {"rooms", typeStrings},
	mUsers:     {"users", typeStrings},
	mTotal:     {"total", typeInt},
	mOffset:    {"offset", typeUint},
	mRecovered: {"recovered", typeBool},
	mTimestamp: {"timestamp", typeTime},
	mResult:    {"result", typeJSONValue},
}

// keyBytes holds each key as the encoders write it, built once from messageKeys:
// `,"room":` for JSON and the MessagePack string "room".
var keyBytes = func() (t [numMessageKeys]struct{ json, msgpack []byte }) {
	for k, key := range messageKeys {
		t[k].json = append(append([]byte(`,"`), key.name...), `":`...)
		t[k].msgpack = msgp.AppendString(nil, key.name)
	}
	return t
}()

// str returns the value of a typeString key.
func (m *Message) str(k messageKey) string {
	switch k {
	case mRoom:
		return m.Room
	case mUserID:
		return m.UserID
	case mSender:
		return m.Sender
	case mTo:
		return m.To
	case mContent:
		return bytesString(m.Content)
	case mID:
		return bytesString(m.ID)
	case mCode:
		return m.errorCode()
	case mMessage:
		return m.errorText()
	case mReason:
		return m.Text
	case mEpoch:
		return m.Epoch
	case mEvent:
		return bytesString(m.Event)
	}
	panic("proto: " + messageKeys[k].name + " is not a string key")
}

// list returns the value of a typeStrings key.
func (m *Message) list(k messageKey) []string {
	switch k {
	case mMembers:
		return m.Members
	case mRooms:
		return m.Rooms
	case mUsers:
		return m.Users
	}
	panic("proto: " + messageKeys[k].name + " is not a list key")
}

// errorCode is the error's `code`: the backend's own when it named one.
func (m *Message) errorCode() string {
	if m.ErrorCode != "" {
		return m.ErrorCode
	}
	return m.Code.String()
}

// errorText is the error's `message`, with the code's default sentence when the core
// left Text empty (history_gap is sent without one).
func (m *Message) errorText() string {
	if m.Text != "" {
		return m.Text
	}
	return m.Code.text()
}

// resultJSON is rpc_result's `result`; an empty one is null.
func (m *Message) resultJSON() []byte {
	if len(m.Result) == 0 {
		return jsonNull
	}
	return m.Result
}
