package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/tinylib/msgp/msgp"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// framePayload returns the payload of one complete, unmasked server frame (what
// proto.Message.Frame builds with wsframe.Framing): the page shows what a client's onmessage would see.
func framePayload(frame []byte) ([]byte, error) {
	if len(frame) < 2 {
		return nil, errors.New("short frame header")
	}
	if frame[1]&0x80 != 0 {
		return nil, errors.New("server frame is masked")
	}
	n, head := uint64(frame[1]&0x7f), 2
	switch n {
	case 126:
		if len(frame) < 4 {
			return nil, errors.New("short frame header")
		}
		n, head = uint64(binary.BigEndian.Uint16(frame[2:])), 4
	case 127:
		if len(frame) < 10 {
			return nil, errors.New("short frame header")
		}
		n, head = binary.BigEndian.Uint64(frame[2:]), 10
	}
	if uint64(len(frame)-head) != n {
		return nil, fmt.Errorf("frame says %d payload bytes, has %d", n, len(frame)-head)
	}
	return frame[head:], nil
}

// renderPayload shows a payload as a person reads it: JSON as it is, MessagePack
// rendered as JSON by proto.ToJSON (keys in wire order, timestamps as RFC 3339) beside
// its hex.
func renderPayload(f proto.Format, payload []byte) *FrameJSON {
	if f != proto.Msgpack {
		return &FrameJSON{Text: string(payload), Bytes: len(payload)}
	}
	out := &FrameJSON{Bytes: len(payload), Hex: hex.EncodeToString(payload)}
	text, err := proto.ToJSON(proto.Msgpack, payload)
	if err != nil {
		out.Text = "unreadable: " + err.Error()
	} else {
		out.Text = string(text)
	}
	return out
}

const maxDepth = 32

// jsonToMsgpack re-encodes one JSON value as MessagePack, keeping key order and
// keeping integers integers, so a person can type msgpack requests as JSON.
func jsonToMsgpack(b []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	out, err := appendJSONValue(nil, d, 0)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b[d.InputOffset():])) > 0 {
		return nil, errors.New("trailing data after the JSON value")
	}
	return out, nil
}

func appendJSONValue(dst []byte, d *json.Decoder, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, errors.New("nested too deeply")
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
			if body, err = appendJSONValue(body, d, depth+1); err != nil {
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
		if i, err := v.Int64(); err == nil {
			return msgp.AppendInt64(dst, i), nil
		}
		if u, err := strconv.ParseUint(v.String(), 10, 64); err == nil {
			return msgp.AppendUint64(dst, u), nil
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
	return dst, fmt.Errorf("unexpected JSON token %v", tok)
}
