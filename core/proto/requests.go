package proto

import "strings"

// The client → server messages (PROTOCOL.md §3, §8–§10), one table entry each: the
// request's wire name and its fields in the order they are checked. Parsing collects
// every known key (requestKeys), then apply checks the fields of the request's type in
// its entry's order. Adding a request type is its RequestType constant, one entry here,
// `go generate` (which writes the lookups and applyFields into table_gen.go), plus its
// handler in the core.

// requestSpec is one request type.
type requestSpec struct {
	name    string
	needsID bool // rpc: its rpc_result carries the id, so a request without one fails first
	fields  []requestField
}

// requestField is one field of a request type.
type requestField struct {
	key      requestKey
	optional bool // absent or null is fine; required fields are then missing
}

const (
	required = false
	optional = true
)

var requests = [...]requestSpec{
	ReqUnknown:   {name: "unknown"},
	ReqJoin:      {name: "join", fields: []requestField{{keyRoom, required}, {keySince, optional}, {keyEpoch, optional}, {keyToken, optional}}},
	ReqLeave:     {name: "leave", fields: []requestField{{keyRoom, required}}},
	ReqChat:      {name: "chat", fields: []requestField{{keyRoom, required}, {keyContent, required}}},
	ReqPrivate:   {name: "private", fields: []requestField{{keyTo, required}, {keyContent, required}}},
	ReqBroadcast: {name: "broadcast", fields: []requestField{{keyContent, required}}},
	ReqMembers:   {name: "members", fields: []requestField{{keyRoom, required}}},
	ReqOnline:    {name: "online"},
	ReqPing:      {name: "ping"},
	// An event's content is optional: a typing indicator needs none.
	ReqEvent:   {name: "event", fields: []requestField{{keyRoom, required}, {keyEvent, required}, {keyContent, optional}}},
	ReqAuth:    {name: "auth", fields: []requestField{{keyToken, required}}},
	ReqRefresh: {name: "refresh", fields: []requestField{{keyToken, required}}},
	ReqRPC:     {name: "rpc", needsID: true, fields: []requestField{{keyMethod, required}, {keyData, optional}}},
}

// msgTypeUnknown lists the request types, from the table.
var msgTypeUnknown = func() string {
	names := make([]string, 0, len(requests))
	for _, spec := range requests[ReqUnknown+1:] {
		names = append(names, spec.name)
	}
	return "type must be one of " + strings.Join(names, ", ")
}()

// requestKey is a key a request may carry; every other key is ignored (including sender,
// from and user_id: the server decides who sent a message).
type requestKey uint8

const (
	keyType requestKey = iota
	keyID
	keyRoom
	keyTo
	keyContent
	keySince
	keyEpoch
	keyEvent
	keyToken
	keyMethod
	keyData
	numRequestKeys
)

// keyRule is what a client is told about one key, whatever the request type; how its
// value is checked and stored is its Request.store<Key> method (and storeDefault).
type keyRule struct {
	name       string
	missing    string // the error of a required key that is absent or null
	bad        string // the error of a value that breaks the rule
	hasDefault bool   // an absent or null value stores a default (storeDefault)
}

// requestKeys: type and id are read by apply itself, before any type's fields.
var requestKeys = [numRequestKeys]keyRule{
	keyType:    {name: "type"},
	keyID:      {name: "id"},
	keyRoom:    {name: "room", missing: msgRoomMissing, bad: msgBadRoom},
	keyTo:      {name: "to", missing: msgToMissing, bad: msgBadTo},
	keyContent: {name: "content", missing: msgContentMiss, bad: msgBadContent},
	keySince:   {name: "since", bad: msgBadSince},
	keyEpoch:   {name: "epoch", bad: msgBadEpoch},
	keyEvent:   {name: "event", missing: msgEventMissing, bad: msgBadEvent},
	keyToken:   {name: "token", missing: msgTokenMissing, bad: msgBadToken},
	keyMethod:  {name: "method", missing: msgMethodMissing, bad: msgBadMethod},
	keyData:    {name: "data", bad: msgBadData, hasDefault: true},
}

// fields collects the known keys of one request; later duplicates overwrite earlier
// ones (last wins), and the type-specific rules run once the whole object is read,
// because `type` may come last.
type fields struct {
	vals [numRequestKeys]value
	// dataRaw is the encoded text of `data` (any value); dataMsgpack says it is
	// MessagePack, to be converted to JSON.
	dataRaw     []byte
	dataMsgpack bool
}

// isData reports whether slot is where `data` goes, whose raw text is kept too.
func (fs *fields) isData(slot *value) bool { return slot == &fs.vals[keyData] }

// String returns the request type as it appears on the wire, e.g. "join".
func (t RequestType) String() string {
	if int(t) < len(requests) {
		return requests[t].name
	}
	return "unknown"
}

// fail records the error in r (so returning it allocates nothing) and returns it.
func (r *Request) fail(code Code, msg string) *Error {
	r.err = Error{Code: code, Message: msg}
	if r.HasID {
		r.err.ID = r.ID
	}
	return &r.err
}

// apply validates the collected fields against the table entry of the request's type
// (applyFields, generated from it) and fills r. The id is taken first so that any
// later error echoes it.
func (r *Request) apply(fs *fields) *Error {
	switch id := &fs.vals[keyID]; id.kind {
	case kindAbsent, kindNull:
	case kindString:
		if len(id.str) > maxIDLen {
			return r.fail(BadRequest, msgBadID)
		}
		r.ID, r.HasID = id.str, true
	default:
		return r.fail(BadRequest, msgBadID)
	}

	switch typ := &fs.vals[keyType]; typ.kind {
	case kindAbsent, kindNull:
		return r.fail(BadRequest, msgTypeMissing)
	case kindString:
		r.Type = requestTypeOf(typ.str)
	default:
		return r.fail(BadRequest, msgTypeNotString)
	}
	if r.Type == ReqUnknown {
		return r.fail(UnknownType, msgTypeUnknown)
	}

	return r.applyFields(fs)
}

// storeDefault stores the value of an optional key with a default (hasDefault) that is
// absent or null.
func (r *Request) storeDefault(k requestKey) {
	if k == keyData {
		r.Data = jsonNull // absent and null data are the same value
	}
}

// Each key's value is checked and stored by its own method, store<Key> (storeRoom for
// room), which the generated applyFields calls directly: methods rather than functions
// in the table, since a call through a function value would make fs escape and parsing
// allocate. Each gets a present, non-null value and returns false when it breaks the
// key's rule.

func (r *Request) storeRoom(v *value, _ *fields) bool {
	ok := v.kind == kindString && ValidRoom(v.str)
	if ok {
		r.Room = v.str
	}
	return ok
}

func (r *Request) storeTo(v *value, _ *fields) bool {
	ok := v.kind == kindString && ValidUser(v.str)
	if ok {
		r.To = v.str
	}
	return ok
}

func (r *Request) storeEvent(v *value, _ *fields) bool {
	ok := v.kind == kindString && ValidEvent(v.str)
	if ok {
		r.Event = v.str
	}
	return ok
}

func (r *Request) storeContent(v *value, _ *fields) bool {
	ok := v.kind == kindString
	if ok {
		r.Content, r.HasContent = v.str, true
	}
	return ok
}

func (r *Request) storeSince(v *value, _ *fields) bool {
	ok := v.kind == kindUint
	if ok {
		r.Since, r.HasSince = v.num, true
	}
	return ok
}

func (r *Request) storeEpoch(v *value, _ *fields) bool {
	ok := v.kind == kindString && len(v.str) <= maxEpochLen
	if ok {
		r.Epoch = v.str
	}
	return ok
}

func (r *Request) storeToken(v *value, _ *fields) bool {
	ok := v.kind == kindString && len(v.str) > 0
	if ok {
		r.Token = v.str
	}
	return ok
}

func (r *Request) storeMethod(v *value, _ *fields) bool {
	ok := v.kind == kindString && len(v.str) > 0 && len(v.str) <= maxMethodLen
	if ok {
		r.Method = v.str
	}
	return ok
}

// storeData keeps rpc's `data` (any value) as JSON text (PROTOCOL.md §9.1), converting
// a MessagePack client's value into r's reused buffer.
func (r *Request) storeData(_ *value, fs *fields) bool {
	if !fs.dataMsgpack {
		r.Data = fs.dataRaw
		return true
	}
	js, _, err := appendMsgpackAsJSON(r.data[:0], fs.dataRaw, 0)
	if err != nil {
		return false
	}
	r.data, r.Data = js, js
	return true
}

var jsonNull = []byte("null")
