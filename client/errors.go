package client

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// Error is a request the server refused: an `error` frame (PROTOCOL.md §4) with the
// protocol's code, e.g. "forbidden", "not_member", "rate_limited". errors.Is matches it
// against the Err… values by code.
type Error struct {
	Code    string // the protocol's error code
	Message string // the server's words
	ID      string // the request's id
}

func (e *Error) Error() string { return "switchboard: " + e.Code + ": " + e.Message }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// Errors to compare with errors.Is(err, client.ErrForbidden); their codes are the
// protocol's, spelled once in core/proto.
var (
	ErrBadRequest    = &Error{Code: proto.BadRequest.String()}
	ErrUnknownType   = &Error{Code: proto.UnknownType.String()}
	ErrNotMember     = &Error{Code: proto.NotMember.String()}
	ErrUserOffline   = &Error{Code: proto.UserOffline.String()}
	ErrForbidden     = &Error{Code: proto.Forbidden.String()}
	ErrRateLimited   = &Error{Code: proto.RateLimited.String()}
	ErrLimitExceeded = &Error{Code: proto.LimitExceeded.String()}
	ErrTooLarge      = &Error{Code: proto.TooLarge.String()}
)

// historyGap is the `error` code that says a room's recovery is incomplete (§7, §10).
var historyGap = proto.HistoryGap.String()

// Errors of the client itself.
var (
	// ErrClosed: the client was closed (Close, or it stopped; see Err).
	ErrClosed = errors.New("switchboard: client closed")
	// ErrConnectionLost: the connection dropped after the request was sent and before
	// its answer, so whether it took effect is unknown. (Chats are never failed with it:
	// they are resent with the same id, which the server deduplicates.)
	ErrConnectionLost = errors.New("switchboard: connection lost before the answer")
	// ErrQueueFull: Options.MaxQueued chats already await their acks.
	ErrQueueFull = errors.New("switchboard: too many chats awaiting their acks")
)

// ClosedError is a connection the server ended, by a close code (Code, Reason), or a
// handshake it refused, by an HTTP status (Status). In an EventState Reconnecting it says
// why the last connection ended; as Err it says why the client stopped for good (4000,
// 4001, 4009, HTTP 400/401/403/404: retrying would be refused again).
type ClosedError struct {
	Status int    // HTTP status of a refused handshake, 0 otherwise
	Code   int    // WebSocket close code, 0 for a refused handshake
	Reason string // close reason, or the HTTP error body's message
}

func (e *ClosedError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("switchboard: handshake refused: HTTP %d %s", e.Status, e.Reason)
	}
	return "switchboard: closed by the server: " + strconv.Itoa(e.Code) + " " + e.Reason
}
