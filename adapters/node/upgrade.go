package node

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/adapters/auth"
	"github.com/switchboard-ws/switchboard/adapters/wsframe"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Handshake is a connection accepted on its http.Handler goroutine (upgraded to
// WebSocket, or an event stream), ready to be handed to a transport (Attach).
type Handshake struct {
	Conn net.Conn
	// Buffered holds bytes the client sent right after its handshake that the HTTP
	// server had already read: they are the first bytes of the WebSocket stream.
	Buffered []byte
	Identity core.Identity
	Format   proto.Format
	// Framing puts the node's frames on the connection's wire; nil: WebSocket's
	// (wsframe.Framing).
	Framing Framing
	// IP is the client's address, admitted by the node's Admission until the connection
	// is Finished (or, when Attach fails, released by it).
	IP netip.Addr
}

// httpHeaderSlack is what net/http reads beyond http.Server.MaxHeaderBytes (its 4 KiB
// bufio buffer) before it answers 431.
const httpHeaderSlack = 4096

// ConfigureServer sets the limits of an http.Server that serves the WebSocket endpoint:
// a request line and headers over MaxHandshakeHeaderBytes in all get 431 from net/http
// before any handler runs (so a pending handshake holds at most that). Upgrade checks
// the same limit itself for servers not configured so.
func ConfigureServer(s *http.Server) { s.MaxHeaderBytes = MaxHandshakeHeaderBytes - httpHeaderSlack }

// Upgrade does the part of a WebSocket handshake both transports share: Accept's rules,
// with a Sec-WebSocket-Key that is not the base64 of 16 bytes refused 400 (after the
// header limit, before Origin) and a --auth jwt request without a token let through to
// send its auth message. It negotiates the subprotocol (switchboard.json unless the
// client offers switchboard.msgpack first) and upgrades through gobwas/ws on the
// hijacked connection, the response bounded by HandshakeTimeout. It reports false when
// it has answered the request itself.
func (n *Node) Upgrade(w http.ResponseWriter, r *http.Request) (Handshake, bool) {
	id, ip, ok := n.accept(w, r, true, checkKey)
	if !ok {
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
		n.release(ip)
		if conn != nil {
			conn.Close()
		}
		n.opts.Logger.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return Handshake{}, false
	}
	h := Handshake{Conn: conn, Identity: id, Format: proto.JSON, Framing: wsframe.Framing{}, IP: ip}
	if hs.Protocol == proto.SubprotocolMsgpack {
		h.Format = proto.Msgpack
	}
	if k := rw.Reader.Buffered(); k > 0 {
		b, _ := rw.Reader.Peek(k)
		h.Buffered = append([]byte(nil), b...)
	}
	return h, true
}

// Accept decides whether a transport's handshake request may become a connection, by
// the rules of PROTOCOL.md §2 and §11 every transport shares, refusing it (and
// answering it itself, reporting false): while draining or shutting down, 503 with
// Retry-After; headers over MaxHandshakeHeaderBytes, 431; a foreign Origin, 403
// (whatever Identify does); over the Admission limits, 503 with Retry-After; then
// IdentifyRequest's refusal for a transport without the auth message. The Handshake it
// returns has the identity and the admitted IP; the transport fills in the rest.
func (n *Node) Accept(w http.ResponseWriter, r *http.Request) (Handshake, bool) {
	id, ip, ok := n.accept(w, r, false, nil)
	return Handshake{Identity: id, IP: ip}, ok
}

func (n *Node) accept(w http.ResponseWriter, r *http.Request, authMessage bool, check func(*http.Request) *HTTPError) (core.Identity, netip.Addr, bool) {
	if !n.accepting.Load() || n.drainingHS.Load() {
		w.Header().Set("Retry-After", RetryAfterHeader(drainRetryAfter))
		WriteError(w, &HTTPError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: core.ReasonShutdown})
		return core.Identity{}, netip.Addr{}, false
	}
	if headerBytes(r) > MaxHandshakeHeaderBytes {
		WriteError(w, &HTTPError{Status: http.StatusRequestHeaderFieldsTooLarge, Code: "too_large", Message: "request headers over 16 KiB"})
		return core.Identity{}, netip.Addr{}, false
	}
	if check != nil {
		if he := check(r); he != nil {
			WriteError(w, he)
			return core.Identity{}, netip.Addr{}, false
		}
	}
	if !n.origins.Allows(r) {
		WriteError(w, &HTTPError{Status: http.StatusForbidden, Code: "forbidden", Message: "origin " + r.Header.Get("Origin") + " is not allowed"})
		return core.Identity{}, netip.Addr{}, false
	}
	ip := remoteIP(r)
	if wait, ok := n.admit(ip); !ok {
		w.Header().Set("Retry-After", RetryAfterHeader(wait))
		WriteError(w, &HTTPError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "too many connections; retry later"})
		return core.Identity{}, netip.Addr{}, false
	}
	id, he := n.IdentifyRequest(r, authMessage)
	if he != nil {
		n.release(ip)
		WriteError(w, he)
		return core.Identity{}, netip.Addr{}, false
	}
	return id, ip, true
}

// checkKey refuses a WebSocket handshake whose Sec-WebSocket-Key is not the base64 of
// 16 bytes (PROTOCOL.md §11).
func checkKey(r *http.Request) *HTTPError {
	if key, err := base64.StdEncoding.DecodeString(r.Header.Get("Sec-WebSocket-Key")); err != nil || len(key) != 16 {
		return &HTTPError{Status: http.StatusBadRequest, Code: "bad_request", Message: "Sec-WebSocket-Key must be the base64 of 16 bytes"}
	}
	return nil
}

// drainRetryAfter is the Retry-After of a handshake refused while draining: by then a
// load balancer has seen /healthz fail and sends the retry to another node.
const drainRetryAfter = 5 * time.Second

// headerBytes is the size of r's request line and headers as sent (names, values and
// the separators between them).
func headerBytes(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2 + len("Host: ") + len(r.Host) + 2 + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

// remoteIP is the client's address of r (the zero Addr when RemoteAddr is not IP:port).
func remoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// admit runs the Admission under its lock.
func (n *Node) admit(ip netip.Addr) (time.Duration, bool) {
	n.admitMu.Lock()
	defer n.admitMu.Unlock()
	return n.admission.Admit(ip, time.Now())
}

func (n *Node) release(ip netip.Addr) {
	n.admitMu.Lock()
	n.admission.Release(ip)
	n.admitMu.Unlock()
}

// IdentifyRequest runs Identify for a transport's handshake and says how to refuse it.
// With authMessage (a WebSocket, which can send `auth` first) a --auth jwt request
// without a token is let through with an empty Identity, to be identified by its first
// message (PROTOCOL.md §8.2); without (a transport with no such message, like SSE) it
// is refused 401.
func (n *Node) IdentifyRequest(r *http.Request, authMessage bool) (core.Identity, *HTTPError) {
	id, err := n.Identify(r)
	switch {
	case errors.Is(err, auth.ErrAuthMessage):
		if authMessage && n.opts.Tokens != nil {
			return core.Identity{}, nil
		}
		return core.Identity{}, &HTTPError{Status: http.StatusUnauthorized, Code: "unauthorized",
			Message: "a token is required (Authorization: Bearer or ?token=)"}
	case err == nil && id.User == "":
		return core.Identity{}, &HTTPError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "no user identified"}
	case err != nil:
		var he *HTTPError
		if !errors.As(err, &he) {
			he = &HTTPError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: err.Error()}
		}
		return core.Identity{}, he
	}
	return id, nil
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
