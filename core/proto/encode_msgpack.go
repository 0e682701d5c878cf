package proto

import (
	"strconv"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// appendMsgpack appends m's MessagePack map: the same keys as the JSON form, in the
// same order, walked from its type's table entry with msgp's Append functions, so
// nothing is allocated once m's buffer has grown to size. Timestamps use the official
// timestamp extension (type -1), at the millisecond precision of the JSON form.
func (m *Message) appendMsgpack(b []byte) []byte {
	spec, start := m.spec(), &messageStart[m.Type]
	n := start.keys
	if start.conditional {
		for _, f := range spec.fields {
			if f.when != always && m.sends(f.when) {
				n++
			}
		}
	}
	b = msgp.AppendMapHeader(b, n)
	b = append(b, start.msgpack...)
	for _, f := range spec.fields {
		if !m.sends(f.when) {
			continue
		}
		b = append(b, keyBytes[f.key].msgpack...)
		switch messageKeys[f.key].typ {
		case typeString:
			b = msgp.AppendString(b, m.str(f.key))
		case typeStrings:
			list := m.list(f.key)
			b = msgp.AppendArrayHeader(b, uint32(len(list)))
			for _, s := range list {
				b = msgp.AppendString(b, s)
			}
		case typeUint:
			b = msgp.AppendUint64(b, m.Offset)
		case typeInt:
			b = msgp.AppendInt64(b, int64(m.Total))
		case typeBool:
			b = msgp.AppendBool(b, m.Recovered)
		case typeTime:
			b = msgp.AppendTimeExt(b, m.Time.Truncate(time.Millisecond))
		case typeDecimal:
			b = msgp.AppendString(b, bytesString(strconv.AppendUint(m.connID[:0], m.ConnID, 10)))
		case typeJSONValue:
			// The core checked Result is one JSON value (ValidValue); anything else is null.
			mark := len(b)
			var err error
			if b, err = AppendJSONAsMsgpack(b, m.resultJSON()); err != nil {
				b = msgp.AppendNil(b[:mark])
			}
		}
	}
	return b
}
