package proto

// Wire names of the protocol's enumerations (PROTOCOL.md §3–§4). The tables are
// indexed by the enumeration value, so String never allocates.

// codes: each error code's wire name and the sentence an error of that code carries
// when the core gives none.
var codes = [...]struct{ name, text string }{
	OK:            {"ok", ""},
	BadRequest:    {"bad_request", "the request is malformed"},
	UnknownType:   {"unknown_type", msgTypeUnknown},
	NotMember:     {"not_member", "you are not a member of this room"},
	UserOffline:   {"user_offline", "the user is not online"},
	Forbidden:     {"forbidden", "this request is not allowed"},
	RateLimited:   {"rate_limited", "too many messages: slow down"},
	LimitExceeded: {"limit_exceeded", "a limit was exceeded"},
	TooLarge:      {"too_large", "the content is too large"},
	HistoryGap:    {"history_gap", "the room's history no longer reaches back to the requested offset"},
	Unauthorized:  {"unauthorized", "the token is not valid"},
	Unavailable:   {"unavailable", "the server cannot decide this now"},
}

// CodeOf returns the code whose wire name is name; ok is false for names that are not
// the protocol's (a backend may name its own, PROTOCOL.md §9.1).
func CodeOf(name string) (c Code, ok bool) {
	for i, c := range codes {
		if c.name == name {
			return Code(i), true
		}
	}
	return 0, false
}

// String returns the code as it appears on the wire, e.g. "bad_request".
func (c Code) String() string {
	if int(c) < len(codes) {
		return codes[c].name
	}
	return "unknown_code"
}

// text is the code's default error sentence.
func (c Code) text() string {
	if int(c) < len(codes) && codes[c].text != "" {
		return codes[c].text
	}
	return "the request failed"
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
