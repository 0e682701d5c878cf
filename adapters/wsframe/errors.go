package wsframe

import (
	"strconv"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/core"
)

// CloseError ends a connection's stream of frames: either the peer sent a close frame
// (FromPeer; Code is its code, 1005 when it named none, to be echoed), or the peer broke
// a rule and the server closes with Code (PROTOCOL.md §5).
type CloseError struct {
	Code     ws.StatusCode
	Reason   string // the peer's reason when FromPeer, else what went wrong (for logs)
	FromPeer bool
}

func (e *CloseError) Error() string {
	if e.FromPeer {
		return "websocket: peer closed " + strconv.Itoa(int(e.Code)) + " " + e.Reason
	}
	return "websocket: close " + strconv.Itoa(int(e.Code)) + ": " + e.Reason
}

// The violations, shared values so that failing a connection allocates nothing.
var (
	errProtocol    = &CloseError{Code: core.CloseProtocolError, Reason: "protocol error"}
	errUnsupported = &CloseError{Code: core.CloseUnsupported, Reason: "frame type does not match the subprotocol"}
	errInvalidUTF8 = &CloseError{Code: core.CloseInvalidUTF8, Reason: "invalid UTF-8"}
	errTooBig      = &CloseError{Code: core.CloseTooBig, Reason: "message too big"}
	// errBusy: the Budget shared by every connection is spent, so this message is more
	// than the server can take now (RFC 6455's 1009: "too big for it to process").
	errBusy = &CloseError{Code: core.CloseTooBig, Reason: "partial-message budget spent"}
)
