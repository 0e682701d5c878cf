package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"
)

// Decoding server messages is for transcripts, tests, Go clients and the wasm
// playground, not for the hot path: it may allocate.

// ToJSON renders a server message of format f as canonical JSON: the compact form the
// server itself sends on switchboard.json. A MessagePack map becomes the JSON object
// with its keys in the same order, bin values as strings, and timestamps (extension -1)
// as RFC 3339 UTC strings with milliseconds, so that for any Message m,
// ToJSON(Msgpack, m.Payload(Msgpack)) equals m.Payload(JSON).
func ToJSON(f Format, payload []byte) ([]byte, error) {
	switch f {
	case JSON:
		if !utf8.Valid(payload) {
			return nil, errors.New("proto: message is not valid UTF-8")
		}
		var out bytes.Buffer
		if err := json.Compact(&out, payload); err != nil {
			return nil, err
		}
		if out.Len() == 0 || out.Bytes()[0] != '{' {
			return nil, errors.New("proto: message is not a JSON object")
		}
		return out.Bytes(), nil
	case Msgpack:
		if msgp.NextType(payload) != msgp.MapType {
			return nil, errors.New("proto: message is not a MessagePack map")
		}
		out, rest, err := appendMsgpackAsJSON(nil, payload, 0)
		if err != nil {
			return nil, err
		}
		if len(rest) != 0 {
			return nil, errors.New("proto: data after the MessagePack map")
		}
		return out, nil
	}
	return nil, errors.New("proto: unknown format")
}

// DecodeMessage decodes a server message of format f into a map, as encoding/json
// would decode its ToJSON form with UseNumber: numbers are json.Number, timestamps
// strings, lists []any.
func DecodeMessage(f Format, payload []byte) (map[string]any, error) {
	js, err := ToJSON(f, payload)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

var errDepth = errors.New("proto: MessagePack nested too deeply")

func appendMsgpackAsJSON(out, b []byte, depth int) ([]byte, []byte, error) {
	if depth >= maxDepth {
		return out, b, errDepth
	}
	var err error
	switch msgp.NextType(b) {
	case msgp.MapType:
		var n uint32
		if n, b, err = msgp.ReadMapHeaderBytes(b); err != nil {
			return out, b, err
		}
		out = append(out, '{')
		for i := uint32(0); i < n; i++ {
			if i > 0 {
				out = append(out, ',')
			}
			var key []byte
			if key, b, err = msgp.ReadMapKeyZC(b); err != nil {
				return out, b, err
			}
			out = appendJSONString(out, bytesString(key))
			out = append(out, ':')
			if out, b, err = appendMsgpackAsJSON(out, b, depth+1); err != nil {
				return out, b, err
			}
		}
		return append(out, '}'), b, nil
	case msgp.ArrayType:
		var n uint32
		if n, b, err = msgp.ReadArrayHeaderBytes(b); err != nil {
			return out, b, err
		}
		out = append(out, '[')
		for i := uint32(0); i < n; i++ {
			if i > 0 {
				out = append(out, ',')
			}
			if out, b, err = appendMsgpackAsJSON(out, b, depth+1); err != nil {
				return out, b, err
			}
		}
		return append(out, ']'), b, nil
	case msgp.StrType:
		var s []byte
		if s, b, err = msgp.ReadStringZC(b); err != nil {
			return out, b, err
		}
		return appendJSONString(out, bytesString(s)), b, nil
	case msgp.BinType:
		var s []byte
		if s, b, err = msgp.ReadBytesZC(b); err != nil {
			return out, b, err
		}
		return appendJSONString(out, bytesString(s)), b, nil
	case msgp.IntType:
		var i int64
		if i, b, err = msgp.ReadInt64Bytes(b); err != nil {
			return out, b, err
		}
		return strconv.AppendInt(out, i, 10), b, nil
	case msgp.UintType:
		var u uint64
		if u, b, err = msgp.ReadUint64Bytes(b); err != nil {
			return out, b, err
		}
		return strconv.AppendUint(out, u, 10), b, nil
	case msgp.Float32Type, msgp.Float64Type:
		var f float64
		if f, b, err = msgp.ReadFloat64Bytes(b); err != nil {
			return out, b, err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return out, b, errors.New("proto: NaN or infinity has no JSON form")
		}
		return strconv.AppendFloat(out, f, 'g', -1, 64), b, nil
	case msgp.BoolType:
		var v bool
		if v, b, err = msgp.ReadBoolBytes(b); err != nil {
			return out, b, err
		}
		return strconv.AppendBool(out, v), b, nil
	case msgp.NilType:
		if b, err = msgp.ReadNilBytes(b); err != nil {
			return out, b, err
		}
		return append(out, "null"...), b, nil
	case msgp.TimeType, msgp.ExtensionType:
		// NextType reports a timestamp that ends the buffer as a plain extension (it
		// wants one byte more than the value), so extensions are tried as timestamps.
		t, rest, err := msgp.ReadTimeBytes(b)
		if err != nil {
			return out, b, err
		}
		out = append(out, '"')
		out = appendTimestamp(out, t)
		return append(out, '"'), rest, nil
	}
	if len(b) == 0 {
		return out, b, msgp.ErrShortBytes
	}
	return out, b, errors.New("proto: MessagePack value of a kind server messages never hold")
}
