package sse

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
)

// SessionHeader names the stream a POST /sse/send is for.
const SessionHeader = "X-Switchboard-Session"

// MaxMessagesPerPost bounds the messages of one POST /sse/send: more get 413 and none is
// taken (PROTOCOL.md §12).
const MaxMessagesPerPost = 100

// forwardTimeout bounds how long a POST waits for the node holding its stream.
const forwardTimeout = 5 * time.Second

// Options configure the SSE endpoints.
type Options struct {
	// Key signs sessions; every node of a cluster given the same key tells a forged
	// session from one of a stream that ended (401, 410) on its own. Nil: a random key
	// per process, and a POST for another node's session is judged by that node.
	Key []byte
	// Forwarder carries POSTs for streams other nodes hold (adapters/nats); nil: a
	// single node, where such a session is unknown (401).
	Forwarder Forwarder
}

// Forwarder carries the messages of a POST to the node holding its stream, in the
// order Forward is called for one session, and returns the status that node answered
// (the status Handler.Deliver returned there), or 0 when no node of that name exists.
// An error: the holder could not be asked (the cluster link is down, a timeout); the
// POST gets 503.
type Forwarder interface {
	Forward(ctx context.Context, node, session string, msgs [][]byte) (int, error)
}

// Handler serves GET /sse, GET /sse/{user} and POST /sse/send for a node.
type Handler struct {
	node   *node.Node
	nodeID string
	key    []byte
	shared bool // key was configured: other nodes' sessions can be verified here
	fwd    Forwarder

	mu      sync.Mutex
	streams map[core.ConnID]*stream
}

// New returns the SSE endpoints of n.
func New(n *node.Node, opts Options) *Handler {
	h := &Handler{node: n, nodeID: n.Options().Core.NodeID, key: opts.Key, shared: opts.Key != nil, fwd: opts.Forwarder,
		streams: make(map[core.ConnID]*stream)}
	if h.key == nil {
		h.key = randomKey()
	}
	return h
}

// SetForwarder sets the Forwarder after New (a cluster link is made with the handler's
// Deliver, so it exists only after the handler does). Call it before serving.
func (h *Handler) SetForwarder(f Forwarder) { h.fwd = f }

// ServeHTTP routes: POST …/send is a send, GET anything else a stream.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/send") {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			node.WriteError(w, &node.HTTPError{Status: http.StatusMethodNotAllowed, Code: "bad_request", Message: "POST /sse/send"})
			return
		}
		h.send(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		node.WriteError(w, &node.HTTPError{Status: http.StatusMethodNotAllowed, Code: "bad_request", Message: "GET opens a stream"})
		return
	}
	hs, ok := h.node.Accept(w, r)
	if !ok {
		return
	}
	h.serve(w, r, hs)
}

func (h *Handler) add(s *stream) {
	h.mu.Lock()
	h.streams[s.nc.ID] = s
	h.mu.Unlock()
}

func (h *Handler) remove(s *stream) {
	h.mu.Lock()
	delete(h.streams, s.nc.ID)
	h.mu.Unlock()
}

// send is POST /sse/send: the checks of PROTOCOL.md §12, then the messages to the node
// holding the stream.
func (h *Handler) send(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		node.WriteError(w, &node.HTTPError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "a POST must have Content-Type: application/json"})
		return
	}
	str := r.Header.Get(SessionHeader)
	sess, body, sum, err := parseSession(str)
	if err != nil || (h.shared || sess.node == h.nodeID) && !verify(h.key, body, sum) {
		writeStatus(w, http.StatusUnauthorized)
		return
	}
	msgs, status := h.readMessages(r)
	if status != 0 {
		writeStatus(w, status)
		return
	}
	if sess.node == h.nodeID {
		status = h.deliver(sess, msgs)
	} else {
		status = h.forward(r.Context(), sess.node, str, msgs)
	}
	if status != http.StatusAccepted {
		writeStatus(w, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(struct {
		Accepted int `json:"accepted"`
	}{len(msgs)})
}

// forward asks the node holding the stream; with no Forwarder, or no node of that name,
// the session is unknown here (401), or, under a shared key, of a stream gone with its
// node (410); a holder that cannot be asked is 503.
func (h *Handler) forward(ctx context.Context, holder, session string, msgs [][]byte) int {
	gone := http.StatusUnauthorized
	if h.shared {
		gone = http.StatusGone
	}
	if h.fwd == nil {
		return gone
	}
	ctx, cancel := context.WithTimeout(ctx, forwardTimeout)
	defer cancel()
	status, err := h.fwd.Forward(ctx, holder, session, msgs)
	switch {
	case err != nil:
		return http.StatusServiceUnavailable
	case status == 0:
		return gone
	}
	return status
}

// Deliver takes the messages of a POST forwarded by another node for a stream of this
// one, and returns the status to answer: 202, 401 (not signed here) or 410 (ended).
func (h *Handler) Deliver(session string, msgs [][]byte) int {
	sess, body, sum, err := parseSession(session)
	if err != nil || sess.node != h.nodeID || !verify(h.key, body, sum) {
		return http.StatusUnauthorized
	}
	if len(msgs) > MaxMessagesPerPost {
		return http.StatusRequestEntityTooLarge
	}
	for _, m := range msgs {
		if len(m) > h.node.Options().MaxMessageBytes {
			return http.StatusRequestEntityTooLarge
		}
	}
	return h.deliver(sess, msgs)
}

// deliver hands msgs, in order, to the stream sess names (verified), as if its client
// had sent them on a WebSocket.
func (h *Handler) deliver(sess session, msgs [][]byte) int {
	h.mu.Lock()
	s := h.streams[sess.conn]
	h.mu.Unlock()
	if s == nil || s.nonce != sess.nonce {
		return http.StatusGone // signed here, so it was a stream of this node: it ended
	}
	s.recv.Lock()
	defer s.recv.Unlock()
	if !s.nc.Open() {
		return http.StatusGone
	}
	for _, m := range msgs {
		s.nc.Receive(m)
	}
	return http.StatusAccepted
}

// readMessages reads the body's messages, one per non-blank line; status is non-zero
// when the body is refused: a message over the node's MaxMessageBytes or more than
// MaxMessagesPerPost messages, 413, and none taken.
func (h *Handler) readMessages(r *http.Request) (msgs [][]byte, status int) {
	limit := h.node.Options().MaxMessageBytes
	// Enough for the most messages of the longest size, with CRLFs and blank lines.
	bound := int64(MaxMessagesPerPost)*int64(limit+2) + 64<<10
	body, err := io.ReadAll(io.LimitReader(r.Body, bound+1))
	if err != nil {
		return nil, http.StatusBadRequest
	}
	if int64(len(body)) > bound {
		return nil, http.StatusRequestEntityTooLarge
	}
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(line) > limit || len(msgs) == MaxMessagesPerPost {
			return nil, http.StatusRequestEntityTooLarge
		}
		msgs = append(msgs, line)
	}
	return msgs, 0
}

// writeStatus answers a refused POST as JSON {"error","message"}, like every refusal.
func writeStatus(w http.ResponseWriter, status int) {
	e := &node.HTTPError{Status: status}
	switch status {
	case http.StatusUnauthorized:
		e.Code, e.Message = "unauthorized", "unknown session"
	case http.StatusGone:
		e.Code, e.Message = "gone", "the stream of this session has ended"
	case http.StatusRequestEntityTooLarge:
		e.Code, e.Message = "too_large", "a message over the size limit, or more than 100 messages"
	case http.StatusServiceUnavailable:
		e.Code, e.Message = "unavailable", "the node holding this stream cannot be reached; retry"
	default:
		e.Code, e.Message = "bad_request", http.StatusText(status)
	}
	node.WriteError(w, e)
}
