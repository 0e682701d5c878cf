package proto

// Code is one of the protocol's error codes (PROTOCOL.md §4).
type Code uint8

const (
	OK Code = iota
	BadRequest
	UnknownType
	NotMember
	UserOffline
	Forbidden
	RateLimited
	LimitExceeded
	TooLarge
	HistoryGap
	Unauthorized // a token that does not verify (refresh)
	Unavailable  // a decision that needs a backend the server cannot reach or has not got
)

// Error is a request that failed, as the client will be told: a code from the protocol,
// a human message, and the request's id when it had one.
type Error struct {
	Code    Code
	Message string
	ID      []byte
}

// Error implements the error interface: "bad_request: room must be …".
func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }
