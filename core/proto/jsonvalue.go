package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/tinylib/msgp/msgp"
)

// rpc's `data` and rpc_result's `result` are any JSON value (PROTOCOL.md §9.1). The core
// and the backend hold them as JSON text; a MessagePack client sends and gets the same
// value as MessagePack. These conversions are not on the hot path: they may allocate.

// ValidValue reports whether b is exactly one JSON value (as a backend's result must be).
func ValidValue(b []byte) bool { return len(b) > 0 && json.Valid(b) }

var errNotOneValue = errors.New("proto: not exactly one JSON value")

// AppendJSONAsMsgpack appends the JSON value js as MessagePack: objects as maps with
// their keys in order, integers as integers, other numbers as float64. A client that
// speaks switchboard.msgpack can build its messages with it.
func AppendJSONAsMsgpack(b, js []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	b, err := appendJSONToken(b, dec, 0)
	if err != nil {
		return b, err
	}
	if dec.More() {
		return b, errNotOneValue
	}
	if _, err := dec.Token(); err == nil {
		return b, errNotOneValue
	}
	return b, nil
}

func appendJSONToken(b []byte, dec *json.Decoder, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return b, errDepth
	}
	tok, err := dec.Token()
	if err != nil {
		return b, err
	}
	switch v := tok.(type) {
	case json.Delim:
		var body []byte
		n := uint32(0)
		for dec.More() {
			if v == '{' {
				key, err := dec.Token()
				if err != nil {
					return b, err
				}
				body = msgp.AppendString(body, key.(string))
			}
			if body, err = appendJSONToken(body, dec, depth+1); err != nil {
				return b, err
			}
			n++
		}
		if _, err := dec.Token(); err != nil { // the closer
			return b, err
		}
		if v == '{' {
			b = msgp.AppendMapHeader(b, n)
		} else {
			b = msgp.AppendArrayHeader(b, n)
		}
		return append(b, body...), nil
	case string:
		return msgp.AppendString(b, v), nil
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return msgp.AppendInt64(b, i), nil
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return msgp.AppendUint64(b, u), nil
		}
		f, err := v.Float64()
		if err != nil {
			return b, err
		}
		return msgp.AppendFloat64(b, f), nil
	case bool:
		return msgp.AppendBool(b, v), nil
	case nil:
		return msgp.AppendNil(b), nil
	}
	return b, errNotOneValue
}
