package proto

import (
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// The JSON encoder, appendJSON, is generated from the message table into table_gen.go;
// these are the helpers it calls.

// bytesString views b as a string for the encoders, which only read it.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// appendJSONTime appends t as a JSON string (PROTOCOL.md §4).
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = appendTimestamp(b, t)
	return append(b, '"')
}

// appendJSONDecimal appends n as a JSON string of decimal digits (conn_id: JavaScript
// numbers cannot hold every uint64).
func appendJSONDecimal(b []byte, n uint64) []byte {
	b = append(b, '"')
	b = strconv.AppendUint(b, n, 10)
	return append(b, '"')
}

// appendJSONStrings appends an array of strings; nil encodes as [].
func appendJSONStrings(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
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
