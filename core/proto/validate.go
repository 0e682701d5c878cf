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
	msgTypeUnknown   = "type must be one of join, leave, chat, private, broadcast, members, online, ping, event, auth, refresh, rpc"
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
	kindAbsent valueKind = iota
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

// fields collects the known keys of one request; later duplicates overwrite earlier
// ones (last wins), and the type-specific rules run once the whole object is read,
// because `type` may come last.
type fields struct {
	typ, id, room, to, content, since, epoch, event, token, method, data value
	// dataRaw is the encoded text of `data` (any value); dataMsgpack says it is
	// MessagePack, to be converted to JSON.
	dataRaw     []byte
	dataMsgpack bool
}

// slot returns where the value of key goes, or nil for keys the protocol ignores
// (including sender, from and user_id: the server decides who sent a message).
func (fs *fields) slot(key []byte) *value {
	switch string(key) {
	case "type":
		return &fs.typ
	case "id":
		return &fs.id
	case "room":
		return &fs.room
	case "to":
		return &fs.to
	case "content":
		return &fs.content
	case "since":
		return &fs.since
	case "epoch":
		return &fs.epoch
	case "event":
		return &fs.event
	case "token":
		return &fs.token
	case "method":
		return &fs.method
	case "data":
		return &fs.data
	}
	return nil
}

// fail records the error in r (so returning it allocates nothing) and returns it.
func (r *Request) fail(code Code, msg string) *Error {
	r.err = Error{Code: code, Message: msg}
	if r.HasID {
		r.err.ID = r.ID
	}
	return &r.err
}

// apply validates the collected fields against the rules of the request's type
// (PROTOCOL.md §3) and fills r. The id is taken first so that any later error echoes it.
func (r *Request) apply(fs *fields) *Error {
	switch fs.id.kind {
	case kindAbsent, kindNull:
	case kindString:
		if len(fs.id.str) > maxIDLen {
			return r.fail(BadRequest, msgBadID)
		}
		r.ID, r.HasID = fs.id.str, true
	default:
		return r.fail(BadRequest, msgBadID)
	}

	switch fs.typ.kind {
	case kindAbsent, kindNull:
		return r.fail(BadRequest, msgTypeMissing)
	case kindString:
	default:
		return r.fail(BadRequest, msgTypeNotString)
	}
	r.Type = requestTypeOf(fs.typ.str)

	switch r.Type {
	case ReqJoin:
		if err := r.room(fs); err != nil {
			return err
		}
		switch fs.since.kind {
		case kindAbsent, kindNull:
		case kindUint:
			r.Since, r.HasSince = fs.since.num, true
		default:
			return r.fail(BadRequest, msgBadSince)
		}
		switch fs.epoch.kind {
		case kindAbsent, kindNull:
		case kindString:
			if len(fs.epoch.str) > maxEpochLen {
				return r.fail(BadRequest, msgBadEpoch)
			}
			r.Epoch = fs.epoch.str
		default:
			return r.fail(BadRequest, msgBadEpoch)
		}
		if fs.token.kind != kindAbsent && fs.token.kind != kindNull {
			return r.token(fs)
		}
	case ReqLeave, ReqMembers:
		return r.room(fs)
	case ReqChat:
		if err := r.room(fs); err != nil {
			return err
		}
		return r.content(fs)
	case ReqPrivate:
		to, err := r.name(&fs.to, ValidUser, msgToMissing, msgBadTo)
		if err != nil {
			return err
		}
		r.To = to
		return r.content(fs)
	case ReqBroadcast:
		return r.content(fs)
	case ReqEvent:
		if err := r.room(fs); err != nil {
			return err
		}
		event, err := r.name(&fs.event, ValidEvent, msgEventMissing, msgBadEvent)
		if err != nil {
			return err
		}
		r.Event = event
		if fs.content.kind == kindAbsent || fs.content.kind == kindNull {
			return nil // an event's content is optional: a typing indicator needs none
		}
		return r.content(fs)
	case ReqAuth, ReqRefresh:
		return r.token(fs)
	case ReqRPC:
		return r.rpc(fs)
	case ReqOnline, ReqPing:
	default:
		return r.fail(UnknownType, msgTypeUnknown)
	}
	return nil
}

func (r *Request) room(fs *fields) *Error {
	switch fs.room.kind {
	case kindAbsent, kindNull:
		return r.fail(BadRequest, msgRoomMissing)
	case kindString:
		if ValidRoom(fs.room.str) {
			r.Room = fs.room.str
			return nil
		}
	}
	return r.fail(BadRequest, msgBadRoom)
}

// name returns a required string field that must pass valid (a user id, an event name),
// or the error: missing when absent or null, bad otherwise.
func (r *Request) name(v *value, valid func([]byte) bool, missing, bad string) ([]byte, *Error) {
	switch v.kind {
	case kindAbsent, kindNull:
		return nil, r.fail(BadRequest, missing)
	case kindString:
		if valid(v.str) {
			return v.str, nil
		}
	}
	return nil, r.fail(BadRequest, bad)
}

func (r *Request) token(fs *fields) *Error {
	switch fs.token.kind {
	case kindAbsent, kindNull:
		return r.fail(BadRequest, msgTokenMissing)
	case kindString:
		if len(fs.token.str) > 0 {
			r.Token = fs.token.str
			return nil
		}
	}
	return r.fail(BadRequest, msgBadToken)
}

func (r *Request) content(fs *fields) *Error {
	switch fs.content.kind {
	case kindAbsent, kindNull:
		return r.fail(BadRequest, msgContentMiss)
	case kindString:
		r.Content, r.HasContent = fs.content.str, true
		return nil
	}
	return r.fail(BadRequest, msgBadContent)
}

// rpc validates an rpc (PROTOCOL.md §9.1): an id (its rpc_result carries it), a method,
// and any value as data, kept as JSON text.
func (r *Request) rpc(fs *fields) *Error {
	if !r.HasID {
		return r.fail(BadRequest, msgRPCNeedsID)
	}
	method, err := r.name(&fs.method, validMethod, msgMethodMissing, msgBadMethod)
	if err != nil {
		return err
	}
	r.Method = method
	switch {
	case fs.data.kind == kindAbsent:
		r.Data = jsonNull
	case fs.dataMsgpack:
		js, _, cerr := appendMsgpackAsJSON(r.data[:0], fs.dataRaw, 0)
		if cerr != nil {
			return r.fail(BadRequest, msgBadData)
		}
		r.data, r.Data = js, js
	default:
		r.Data = fs.dataRaw
	}
	return nil
}

var jsonNull = []byte("null")

func validMethod(b []byte) bool { return len(b) > 0 && len(b) <= maxMethodLen }
