package node

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Handshake is a connection upgraded to WebSocket on its http.Handler goroutine, ready
// to be handed to a transport.
type Handshake struct {
	Conn net.Conn
	// Buffered holds bytes the client sent right after its handshake that the HTTP
	// server had already read: they are the first bytes of the WebSocket stream.
	Buffered []byte
	Identity core.Identity
	Format   proto.Format
}

// Upgrade does the part of a WebSocket handshake both transports share: refuse while
// shutting down (503), decide the identity with Identify before upgrading (its *HTTPError
// answered as JSON, never upgraded), negotiate the subprotocol (switchboard.json unless
// the client offers switchboard.msgpack first) and upgrade through gobwas/ws on the
// hijacked connection, the response bounded by HandshakeTimeout. It reports false when
// it has answered the request itself.
func (n *Node) Upgrade(w http.ResponseWriter, r *http.Request) (Handshake, bool) {
	if !n.accepting.Load() {
		WriteError(w, &HTTPError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: core.ReasonShutdown})
		return Handshake{}, false
	}
	id, err := n.Identify(r)
	if err != nil {
		var he *HTTPError
		if !errors.As(err, &he) {
			he = &HTTPError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: err.Error()}
		}
		WriteError(w, he)
		return Handshake{}, false
	}
	up := ws.HTTPUpgrader{
		Timeout: n.opts.HandshakeTimeout,
		Protocol: func(p string) bool {
			return p == proto.SubprotocolJSON || p == proto.SubprotocolMsgpack
		},
	}
	conn, rw, hs, err := up.Upgrade(r, w)
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		n.opts.Logger.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return Handshake{}, false
	}
	h := Handshake{Conn: conn, Identity: id, Format: proto.JSON}
	if hs.Protocol == proto.SubprotocolMsgpack {
		h.Format = proto.Msgpack
	}
	if k := rw.Reader.Buffered(); k > 0 {
		b, _ := rw.Reader.Peek(k)
		h.Buffered = append([]byte(nil), b...)
	}
	return h, true
}

// WriteError answers a refused handshake: JSON {"error":Code,"message":Message} with
// Status.
func WriteError(w http.ResponseWriter, e *HTTPError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{e.Code, e.Message})
}
