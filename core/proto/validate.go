package proto

// Names (PROTOCOL.md §2). The handshake, the admin API and the parser share these rules.

const (
	maxRoomLen  = 128
	maxUserLen  = 64
	maxIDLen    = 64
	maxEventLen = 64
	maxEpochLen = 64
)

// nameChars[c]&userChar: c may appear in a user id; nameChars[c]&roomChar: in a room name.
var nameChars = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '_', c == '.', c == '@', c == '-':
			t[c] = userChar | roomChar
		case c == ':':
			t[c] = roomChar | eventChar
		case c == '/':
			t[c] = roomChar
		}
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' {
			t[c] |= eventChar
		}
	}
	return t
}()

const (
	userChar = 1 << iota
	roomChar
	eventChar
)

// ValidRoom reports whether b is a room name: 1–128 characters of A-Z a-z 0-9 _ . : @ / -.
func ValidRoom(b []byte) bool { return validName(b, maxRoomLen, roomChar) }

// ValidUser reports whether b is a user id: 1–64 characters of A-Z a-z 0-9 _ . @ -.
func ValidUser(b []byte) bool { return validName(b, maxUserLen, userChar) }

// ValidEvent reports whether b is an event name: 1–64 characters of A-Z a-z 0-9 _ . : - (§10.3).
func ValidEvent(b []byte) bool { return validName(b, maxEventLen, eventChar) }

func validName(b []byte, max int, class uint8) bool {
	if len(b) == 0 || len(b) > max {
		return false
	}
	for _, c := range b {
		if nameChars[c]&class == 0 {
			return false
		}
	}
	return true
}

// Error messages: static strings, so a rejected request allocates nothing either.
const (
	msgNotJSON       = "message is not valid JSON"
	msgNotJSONObject = "message must be a JSON object"
	msgTrailingJSON  = "message has data after the JSON object"
	msgTooDeep       = "message nests objects or arrays too deeply (limit 64)"
	msgNotMsgpack    = "message is not valid MessagePack"
	msgNotMsgpackMap = "message must be a MessagePack map"
	msgTrailingMsgp  = "message has data after the MessagePack map"
	msgBadKey        = "message keys must be strings"
	msgTypeMissing   = "type is required"
	msgTypeNotString = "type must be a string"
	msgTokenMissing  = "token is required"
	msgBadToken      = "token must be a non-empty string"
	msgBadID         = "id must be a string of at most 64 bytes"
	msgRoomMissing   = "room is required"
	msgBadRoom       = "room must be 1–128 characters of A-Z a-z 0-9 _ . : @ / -"
	msgToMissing     = "to is required"
	msgBadTo         = "to must be a user id: 1–64 characters of A-Z a-z 0-9 _ . @ -"
	msgContentMiss   = "content is required"
	msgBadContent    = "content must be a string"
	msgBadSince      = "since must be a non-negative integer"
	msgBadFormat     = "unknown format"
	msgBadEpoch      = "epoch must be a string of at most 64 bytes"
	msgEventMissing  = "event is required"
	msgBadEvent      = "event must be 1–64 characters of A-Z a-z 0-9 _ . : -"
	msgRPCNeedsID    = "rpc needs an id: its rpc_result carries it"
	msgMethodMissing = "method is required"
	msgBadMethod     = "method must be a string of 1–128 bytes"
	msgBadData       = "data must be a value JSON can hold"
)

const maxMethodLen = 128

// valueKind is what a known key's value turned out to be.
type valueKind uint8

const (
	kindAbsent valueKind = iota // absent and null come first: kind <= kindNull is "no value"
	kindNull
	kindString
	kindUint    // an integer ≥ 0 that fits in uint64
	kindBadUint // a number that is negative, fractional, or too large
	kindOther   // bool, object, array, other MessagePack types
)

type value struct {
	kind valueKind
	str  []byte
	num  uint64
}
