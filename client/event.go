package client

import (
	"encoding/json"
	"time"
)

// Event is one server message (Type is its `type`: "chat", "joined", "user_joined",
// "private", "event", "left", "error" …, fields as in PROTOCOL.md §4 and §10), or one of
// the client's own reports (EventState, EventRejoined, EventRefreshFailed). Answers to
// requests (ack, members, online, pong, rpc_result, and errors with an id) go to the
// request's caller, not here.
type Event struct {
	Type      string    `json:"type"`
	Room      string    `json:"room,omitempty"`
	Sender    string    `json:"sender,omitempty"`
	To        string    `json:"to,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	Content   string    `json:"content,omitempty"`
	Event     string    `json:"event,omitempty"` // an ephemeral event's name
	Offset    uint64    `json:"offset,omitempty"`
	Epoch     string    `json:"epoch,omitempty"`
	Recovered bool      `json:"recovered,omitempty"` // joined, EventRejoined
	Members   []string  `json:"members,omitempty"`
	Code      string    `json:"code,omitempty"`    // error (history_gap, an error without id)
	Message   string    `json:"message,omitempty"` // error
	Reason    string    `json:"reason,omitempty"`  // left
	Timestamp time.Time `json:"timestamp,omitzero"`

	// The client's own reports.
	State   State         `json:"-"` // EventState: the new state
	RetryIn time.Duration `json:"-"` // EventState Reconnecting: the wait before the next attempt
	Err     error         `json:"-"` // EventState: why the last connection ended; EventRejoined, EventRefreshFailed: the failure
}

// Types of the client's own events.
const (
	// EventState: the connection changed State. The last event before Events closes is
	// Closed, with Err saying why (ErrClosed, or a *ClosedError).
	EventState = "client.state"
	// EventRejoined: after a reconnect, Room was joined again (Err nil) with `since`:
	// Recovered tells whether every missed message follows (false: a `history_gap` or a
	// new epoch); or the server refused it (Err an *Error) and the room is forgotten. It
	// comes before the replayed chats, except from a server that predates `joined`
	// (PROTOCOL.md §10.1), where it follows them.
	EventRejoined = "client.rejoined"
	// EventRefreshFailed: the token could not be refreshed (Err); the server closes the
	// connection 4002 at `exp` and the client reconnects with a new token.
	EventRefreshFailed = "client.refresh_failed"
)

// State is where the client's connection stands.
type State uint8

const (
	Connecting   State = iota // the first attempt
	Connected                 // `connected` received; rooms rejoined and chats resent
	Reconnecting              // waiting RetryIn, then trying again
	Closed                    // for good; Err says why
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Reconnecting:
		return "reconnecting"
	}
	return "closed"
}

// frame is a server message as the client reads it: an Event plus the fields that only
// answers carry.
type frame struct {
	Event
	ID     string          `json:"id"`
	ConnID string          `json:"conn_id"`
	Rooms  []string        `json:"rooms"`
	Users  []string        `json:"users"`
	Total  int             `json:"total"`
	Result json.RawMessage `json:"result"`
}

// request is a client message (PROTOCOL.md §3, §8.2, §9.1, §10). Pointers tell an absent
// field from a zero one where the server cares.
type request struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Room    string          `json:"room,omitempty"`
	To      string          `json:"to,omitempty"`
	Event   string          `json:"event,omitempty"`
	Content *string         `json:"content,omitempty"`
	Since   *uint64         `json:"since,omitempty"`
	Epoch   string          `json:"epoch,omitempty"`
	Token   string          `json:"token,omitempty"`
	Method  string          `json:"method,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}
