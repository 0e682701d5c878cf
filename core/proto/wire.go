package proto

import (
	"time"

	"github.com/tinylib/msgp/msgp"
)

//go:generate go tool msgp -file wire.go -o wire_gen.go -io=false -tests=false -unexported

//msgp:newtime

// The MessagePack form of each server message (PROTOCOL.md §4): one struct per type
// with exactly its keys, in the same order as the JSON form. msgp generates their
// MarshalMsg into wire_gen.go. They are filled on the stack from a Message, with
// strings viewing the Message's bytes, and marshalled straight into its frame buffer.
// Timestamps use the official timestamp extension (type -1), per the newtime directive.

type wireConnected struct {
	Type      string    `msg:"type"`
	UserID    string    `msg:"user_id"`
	ConnID    string    `msg:"conn_id"`
	Rooms     []string  `msg:"rooms"`
	Timestamp time.Time `msg:"timestamp"`
}

type wireUserJoined struct {
	Type      string    `msg:"type"`
	Room      string    `msg:"room"`
	UserID    string    `msg:"user_id"`
	Members   []string  `msg:"members"`
	Timestamp time.Time `msg:"timestamp"`
}

type wireUserLeft struct {
	Type      string    `msg:"type"`
	Room      string    `msg:"room"`
	UserID    string    `msg:"user_id"`
	Timestamp time.Time `msg:"timestamp"`
}

type wireChat struct {
	Type      string    `msg:"type"`
	Room      string    `msg:"room"`
	Sender    string    `msg:"sender"`
	Content   string    `msg:"content"`
	Offset    uint64    `msg:"offset"`
	Timestamp time.Time `msg:"timestamp"`
}

type wirePrivate struct {
	Type      string    `msg:"type"`
	Sender    string    `msg:"sender"`
	To        string    `msg:"to"`
	Content   string    `msg:"content"`
	Timestamp time.Time `msg:"timestamp"`
}

type wireBroadcast struct {
	Type      string    `msg:"type"`
	Sender    string    `msg:"sender"`
	Content   string    `msg:"content"`
	Timestamp time.Time `msg:"timestamp"`
}

type wireSystem struct {
	Type      string    `msg:"type"`
	Content   string    `msg:"content"`
	Room      string    `msg:"room,omitempty"`
	Timestamp time.Time `msg:"timestamp"`
}

type wireMembers struct {
	Type    string   `msg:"type"`
	Room    string   `msg:"room"`
	Members []string `msg:"members"`
}

type wireOnline struct {
	Type  string   `msg:"type"`
	Users []string `msg:"users"`
	Total int64    `msg:"total"`
}

type wirePong struct {
	Type string `msg:"type"`
}

type wireAck struct {
	Type string `msg:"type"`
	ID   string `msg:"id"`
}

// wireAckOffset is the ack of a chat, which carries the chat's offset (§10.4).
type wireAckOffset struct {
	Type   string `msg:"type"`
	ID     string `msg:"id"`
	Offset uint64 `msg:"offset"`
}

type wireJoined struct {
	Type      string `msg:"type"`
	Room      string `msg:"room"`
	Epoch     string `msg:"epoch"`
	Offset    uint64 `msg:"offset"`
	Recovered bool   `msg:"recovered"`
}

type wireEvent struct {
	Type      string    `msg:"type"`
	Room      string    `msg:"room"`
	Sender    string    `msg:"sender"`
	Event     string    `msg:"event"`
	Content   string    `msg:"content"`
	Timestamp time.Time `msg:"timestamp"`
}

type wireLeft struct {
	Type   string `msg:"type"`
	Room   string `msg:"room"`
	Reason string `msg:"reason"`
}

type wireError struct {
	Type    string  `msg:"type"`
	Code    string  `msg:"code"`
	Message string  `msg:"message"`
	ID      *string `msg:"id,omitempty"` // a pointer: an id of "" is still sent
	Room    string  `msg:"room,omitempty"`
}

// wireRPCResult carries the backend's result as the MessagePack form of its JSON value.
type wireRPCResult struct {
	Type   string   `msg:"type"`
	ID     string   `msg:"id"`
	Result msgp.Raw `msg:"result"`
}
