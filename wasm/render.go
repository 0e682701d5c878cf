package main

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

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

// jsonToMsgpack re-encodes one JSON value as MessagePack, keeping key order and
// keeping integers integers, so a person can type msgpack requests as JSON.
func jsonToMsgpack(b []byte) ([]byte, error) { return proto.AppendJSONAsMsgpack(nil, b) }
