package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/tinylib/msgp/msgp"
)

// FromJSON is ToJSON's inverse for clients: it re-encodes one JSON object as a message
// of format f, so a client builds its requests once, as JSON, and sends them on either
// subprotocol. MessagePack keeps the JSON key order and keeps integers integers
// (unsigned when not negative), which is what Parse expects of ids, offsets and
// arbitrary rpc data alike. Like decoding, this is not for the hot path.
func FromJSON(f Format, doc []byte) ([]byte, error) {
	switch f {
	case JSON:
		return doc, nil
	case Msgpack:
		d := json.NewDecoder(bytes.NewReader(doc))
		d.UseNumber()
		out, err := appendJSONAsMsgpack(nil, d, 0)
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc[d.InputOffset():])) > 0 {
			return nil, errors.New("proto: data after the JSON value")
		}
		return out, nil
	}
	return nil, errors.New("proto: unknown format")
}

func appendJSONAsMsgpack(dst []byte, d *json.Decoder, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return dst, errDepth
	}
	tok, err := d.Token()
	if err != nil {
		return dst, err
	}
	switch v := tok.(type) {
	case json.Delim:
		var body []byte
		n := uint32(0)
		for d.More() {
			if v == '{' {
				k, err := d.Token()
				if err != nil {
					return dst, err
				}
				body = msgp.AppendString(body, k.(string))
			}
			if body, err = appendJSONAsMsgpack(body, d, depth+1); err != nil {
				return dst, err
			}
			n++
		}
		if _, err := d.Token(); err != nil { // the closing delimiter
			return dst, err
		}
		if v == '{' {
			dst = msgp.AppendMapHeader(dst, n)
		} else {
			dst = msgp.AppendArrayHeader(dst, n)
		}
		return append(dst, body...), nil
	case string:
		return msgp.AppendString(dst, v), nil
	case json.Number:
		if u, err := strconv.ParseUint(v.String(), 10, 64); err == nil {
			return msgp.AppendUint64(dst, u), nil
		}
		if i, err := v.Int64(); err == nil {
			return msgp.AppendInt64(dst, i), nil
		}
		f, err := v.Float64()
		if err != nil {
			return dst, err
		}
		return msgp.AppendFloat64(dst, f), nil
	case bool:
		return msgp.AppendBool(dst, v), nil
	case nil:
		return msgp.AppendNil(dst), nil
	}
	return dst, fmt.Errorf("proto: unexpected JSON token %v", tok)
}
