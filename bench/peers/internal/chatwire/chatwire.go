// Package chatwire is the minimal room-chat protocol every peer in bench/peers speaks: the
// subset of Switchboard's JSON protocol the load generator uses (join with ack, chat to a
// room, private to a user) and chat frames shaped like Switchboard's. It owns only the
// encoding; it never touches a connection or keeps state.
package chatwire

import (
	"encoding/json"
	"sync/atomic"
	"time"
)

// Request is one client message.
type Request struct {
	Type    string `json:"type"`
	Room    string `json:"room,omitempty"`
	To      string `json:"to,omitempty"`
	Content string `json:"content,omitempty"`
	ID      string `json:"id,omitempty"`
}

// Decode parses a client frame; a bad frame is reported as an error frame to send back.
func Decode(b []byte) (Request, error) {
	var r Request
	err := json.Unmarshal(b, &r)
	return r, err
}

type chatFrame struct {
	Type      string `json:"type"`
	Room      string `json:"room,omitempty"`
	Sender    string `json:"sender"`
	To        string `json:"to,omitempty"`
	Content   string `json:"content"`
	Offset    uint64 `json:"offset,omitempty"`
	Timestamp string `json:"timestamp"`
}

// Offsets numbers room messages; one counter per room, like Switchboard's offset.
type Offsets struct{ n atomic.Uint64 }

// Next returns the room's next offset.
func (o *Offsets) Next() uint64 { return o.n.Add(1) }

func stamp() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// Chat encodes a room message once, for every recipient.
func Chat(room, sender, content string, offset uint64) []byte {
	b, _ := json.Marshal(chatFrame{Type: "chat", Room: room, Sender: sender, Content: content, Offset: offset, Timestamp: stamp()})
	return b
}

// Private encodes a private message.
func Private(sender, to, content string) []byte {
	b, _ := json.Marshal(chatFrame{Type: "private", Sender: sender, To: to, Content: content, Timestamp: stamp()})
	return b
}

// Ack answers a request that carried an id.
func Ack(id string) []byte {
	b, _ := json.Marshal(struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}{"ack", id})
	return b
}

// Error reports a bad request.
func Error(code, msg string) []byte {
	b, _ := json.Marshal(struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}{"error", code, msg})
	return b
}
