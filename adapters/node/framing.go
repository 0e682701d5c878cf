package node

import "github.com/switchboard-ws/switchboard/core/proto"

// Framing is how a connection's transport puts the node's frames on its wire: the
// messages (proto.Framing: built once per framing and format for all the recipients of
// a fan-out, header and payload in one shared buffer), and the frames of the
// connection's own. adapters/wsframe.Framing is WebSocket's; adapters/sse has another.
// The node never looks inside what they return.
type Framing interface {
	proto.Framing
	// Ping is the keep-alive queued every PingInterval (shared by every connection).
	Ping() []byte
	// Pong answers a ping of the peer carrying payload.
	Pong(payload []byte) []byte
	// Close is the last frame of a connection closed with code and reason.
	Close(code uint16, reason string) []byte
}
