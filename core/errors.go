package core

import "errors"

// Caller misuse is reported by Step as one of these values (compare with errors.Is); a
// client's bad request is never a Go error but an `error` frame in the outbox.
var (
	ErrUnknownConn   = errors.New("hub: unknown conn")
	ErrDuplicateConn = errors.New("hub: duplicate conn")
	ErrInvalidUser   = errors.New("hub: invalid user id")
	ErrUnknownFormat = errors.New("hub: unknown format")
	ErrUnknownEvent  = errors.New("hub: unknown event kind")
	ErrBadRestore    = errors.New("hub: bad restored stream (invalid room or epoch, duplicate, or offsets past the last)")
)
