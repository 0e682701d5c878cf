package proto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// jsonToMsgpack converts a JSON document into the MessagePack document with the same
// keys in the same order, so every request case can run in both formats. Integers
// become MessagePack ints (negative) or uints, other numbers float64.
func jsonToMsgpack(doc string) ([]byte, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	out, err := convertValue(dec, nil)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data")
	}
	return out, nil
}

func convertValue(dec *json.Decoder, out []byte) ([]byte, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	return convertToken(dec, tok, out)
}

func convertToken(dec *json.Decoder, tok json.Token, out []byte) ([]byte, error) {
	switch v := tok.(type) {
	case json.Delim:
		var items [][]byte
		for dec.More() {
			if v == '{' {
				key, err := dec.Token()
				if err != nil {
					return nil, err
				}
				items = append(items, msgp.AppendString(nil, key.(string)))
			}
			item, err := convertValue(dec, nil)
			if err != nil {
				return nil, err
			}
			items = append(items, item)
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return nil, err
		}
		if v == '{' {
			out = msgp.AppendMapHeader(out, uint32(len(items)/2))
		} else {
			out = msgp.AppendArrayHeader(out, uint32(len(items)))
		}
		return append(out, bytes.Join(items, nil)...), nil
	case string:
		return msgp.AppendString(out, v), nil
	case json.Number:
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return msgp.AppendUint64(out, u), nil
		}
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return msgp.AppendInt64(out, i), nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, err
		}
		return msgp.AppendFloat64(out, f), nil
	case bool:
		return msgp.AppendBool(out, v), nil
	case nil:
		return msgp.AppendNil(out), nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// mpMap builds a MessagePack map from alternating keys and already-encoded values.
func mpMap(kv ...[]byte) []byte {
	out := msgp.AppendMapHeader(nil, uint32(len(kv)/2))
	for _, b := range kv {
		out = append(out, b...)
	}
	return out
}

func mpStr(s string) []byte { return msgp.AppendString(nil, s) }
func mpBin(s string) []byte { return msgp.AppendBytes(nil, []byte(s)) }

var time0 = time.Date(2026, 11, 27, 19, 0, 0, 123_000_000, time.UTC)
