package proto

import (
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// appendJSON appends m's JSON object: "type" first, then exactly the fields of its
// type (PROTOCOL.md §4) in a fixed order.
func (m *Message) appendJSON(b []byte) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, m.Type.String()...)
	b = append(b, '"')
	switch m.Type {
	case MsgConnected:
		b = appendKeyString(b, `,"user_id":`, m.UserID)
		b = append(b, `,"conn_id":"`...)
		b = strconv.AppendUint(b, m.ConnID, 10)
		b = append(b, '"')
		b = appendKeyStrings(b, `,"rooms":`, m.Rooms)
		b = appendKeyTime(b, m.Time)
	case MsgUserJoined:
		b = appendKeyString(b, `,"room":`, m.Room)
		b = appendKeyString(b, `,"user_id":`, m.UserID)
		b = appendKeyStrings(b, `,"members":`, m.Members)
		b = appendKeyTime(b, m.Time)
	case MsgUserLeft:
		b = appendKeyString(b, `,"room":`, m.Room)
		b = appendKeyString(b, `,"user_id":`, m.UserID)
		b = appendKeyTime(b, m.Time)
	case MsgChat:
		b = appendKeyString(b, `,"room":`, m.Room)
		b = appendKeyString(b, `,"sender":`, m.Sender)
		b = appendKeyString(b, `,"content":`, bytesString(m.Content))
		b = append(b, `,"offset":`...)
		b = strconv.AppendUint(b, m.Offset, 10)
		b = appendKeyTime(b, m.Time)
	case MsgPrivate:
		b = appendKeyString(b, `,"sender":`, m.Sender)
		b = appendKeyString(b, `,"to":`, m.To)
		b = appendKeyString(b, `,"content":`, bytesString(m.Content))
		b = appendKeyTime(b, m.Time)
	case MsgBroadcast:
		b = appendKeyString(b, `,"sender":`, m.Sender)
		b = appendKeyString(b, `,"content":`, bytesString(m.Content))
		b = appendKeyTime(b, m.Time)
	case MsgSystem:
		b = appendKeyString(b, `,"content":`, bytesString(m.Content))
		if m.Room != "" {
			b = appendKeyString(b, `,"room":`, m.Room)
		}
		b = appendKeyTime(b, m.Time)
	case MsgMembers:
		b = appendKeyString(b, `,"room":`, m.Room)
		b = appendKeyStrings(b, `,"members":`, m.Members)
	case MsgOnline:
		b = appendKeyStrings(b, `,"users":`, m.Users)
		b = append(b, `,"total":`...)
		b = strconv.AppendInt(b, int64(m.Total), 10)
	case MsgPong:
	case MsgAck:
		b = appendKeyString(b, `,"id":`, bytesString(m.ID))
		if m.HasOffset {
			b = append(b, `,"offset":`...)
			b = strconv.AppendUint(b, m.Offset, 10)
		}
	case MsgJoined:
		b = appendKeyString(b, `,"room":`, m.Room)
		b = appendKeyString(b, `,"epoch":`, m.Epoch)
		b = append(b, `,"offset":`...)
		b = strconv.AppendUint(b, m.Offset, 10)
		b = append(b, `,"recovered":`...)
		b = strconv.AppendBool(b, m.Recovered)
	case MsgEvent:
		b = appendKeyString(b, `,"room":`, m.Room)
		b = appendKeyString(b, `,"sender":`, m.Sender)
		b = appendKeyString(b, `,"event":`, bytesString(m.Event))
		b = appendKeyString(b, `,"content":`, bytesString(m.Content))
		b = appendKeyTime(b, m.Time)
	case MsgError:
		b = appendKeyString(b, `,"code":`, m.errorCode())
		b = appendKeyString(b, `,"message":`, m.errorText())
		if m.HasID || len(m.ID) > 0 {
			b = appendKeyString(b, `,"id":`, bytesString(m.ID))
		}
		if m.Room != "" {
			b = appendKeyString(b, `,"room":`, m.Room)
		}
	case MsgLeft:
		b = appendKeyString(b, `,"room":`, m.Room)
		b = appendKeyString(b, `,"reason":`, m.Text)
	case MsgRPCResult:
		b = appendKeyString(b, `,"id":`, bytesString(m.ID))
		b = append(b, `,"result":`...)
		b = append(b, m.resultJSON()...)
	default:
		panic("proto: unknown MessageType")
	}
	return append(b, '}')
}

// errorCode is the error's `code`: the backend's own when it named one.
func (m *Message) errorCode() string {
	if m.ErrorCode != "" {
		return m.ErrorCode
	}
	return m.Code.String()
}

// resultJSON is rpc_result's `result`; an empty one is null.
func (m *Message) resultJSON() []byte {
	if len(m.Result) == 0 {
		return jsonNull
	}
	return m.Result
}

// errorText is the error's `message`, with a default sentence per code when the core
// left Text empty (history_gap is sent without one).
func (m *Message) errorText() string {
	if m.Text != "" {
		return m.Text
	}
	switch m.Code {
	case BadRequest:
		return "the request is malformed"
	case UnknownType:
		return msgTypeUnknown
	case NotMember:
		return "you are not a member of this room"
	case UserOffline:
		return "the user is not online"
	case Forbidden:
		return "this request is not allowed"
	case RateLimited:
		return "too many messages: slow down"
	case LimitExceeded:
		return "a limit was exceeded"
	case TooLarge:
		return "the content is too large"
	case HistoryGap:
		return "the room's history no longer reaches back to the requested offset"
	case Unauthorized:
		return "the token is not valid"
	case Unavailable:
		return "the server cannot decide this now"
	}
	return "the request failed"
}

// bytesString views b as a string for the encoders, which only read it.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func appendKeyString(b []byte, key, s string) []byte {
	b = append(b, key...)
	return appendJSONString(b, s)
}

// appendKeyStrings appends a key and an array of strings; nil encodes as [].
func appendKeyStrings(b []byte, key string, list []string) []byte {
	b = append(b, key...)
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

func appendKeyTime(b []byte, t time.Time) []byte {
	b = append(b, `,"timestamp":"`...)
	b = appendTimestamp(b, t)
	return append(b, '"')
}

// Timestamp formats t as every `timestamp` of the protocol is written (PROTOCOL.md §4).
func Timestamp(t time.Time) string { return string(appendTimestamp(nil, t)) }

// appendTimestamp appends t as RFC 3339 UTC with milliseconds, 2026-11-27T19:00:00.123Z,
// digit by digit (time.AppendFormat would be correct too, but parses its layout each call).
func appendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	if year < 0 || year > 9999 {
		year = 0 // RFC 3339 has four-digit years only; such clocks are broken anyway
	}
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-')
	b = append2(b, int(month), '-')
	b = append2(b, day, 'T')
	b = append2(b, hour, ':')
	b = append2(b, min, ':')
	b = append2(b, sec, '.')
	return append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

func append2(b []byte, v int, sep byte) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10), sep)
}

// jsonSafe[c]: ASCII byte c stands for itself inside a JSON string.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes \ufffd (content
// from MessagePack clients is not checked for it); U+2028 and U+2029 are escaped so the
// output is also valid JavaScript.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
