package proto

import (
	"strconv"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// The MessagePack encoder, appendMsgpack, is generated from the message table into
// table_gen.go; these are the helpers it calls. Nothing allocates once the message's
// buffer has grown to size.

// appendMsgpackTime appends t as the official timestamp extension (type -1), at the
// millisecond precision of the JSON form.
func appendMsgpackTime(b []byte, t time.Time) []byte {
	return msgp.AppendTimeExt(b, t.Truncate(time.Millisecond))
}

// appendMsgpackStrings appends an array of strings; nil encodes as an empty array.
func appendMsgpackStrings(b []byte, list []string) []byte {
	b = msgp.AppendArrayHeader(b, uint32(len(list)))
	for _, s := range list {
		b = msgp.AppendString(b, s)
	}
	return b
}

// appendMsgpackDecimal appends n as a string of decimal digits, written in place: a
// uint64 has at most 20 digits, so the string is always a fixstr (0xa0 | length), whose
// one-byte header is filled in once the digits are there.
func appendMsgpackDecimal(b []byte, n uint64) []byte {
	b = append(b, 0)
	at := len(b)
	b = strconv.AppendUint(b, n, 10)
	b[at-1] = 0xa0 | byte(len(b)-at)
	return b
}

// appendMsgpackJSON appends the MessagePack form of the JSON value js. The core checked
// it is one JSON value (ValidValue); anything else is sent as nil.
func appendMsgpackJSON(b, js []byte) []byte {
	mark := len(b)
	b, err := AppendJSONAsMsgpack(b, js)
	if err != nil {
		return msgp.AppendNil(b[:mark])
	}
	return b
}
