package sse

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// stream is one GET /sse: the node's connection and the response it writes to. Its
// handler goroutine is its writer; POSTs hand messages to nc under recv.
type stream struct {
	nc      *node.Conn
	nonce   uint64
	session string

	wake  chan struct{}
	abort chan struct{}

	mu    sync.Mutex // guards rc against the node's Abort once the handler returned
	rc    *http.ResponseController
	ended bool

	recv sync.Mutex // one POST at a time hands its messages to nc, in order

	// The writer's.
	batch  node.Batch
	bufs   [][]byte
	nextID uint64
	line   []byte // scratch for `id: N` and the session
}

// Wake implements node.Link.
func (s *stream) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// TryFlush implements node.Link: a response can only be written by its handler, which
// writes whatever is queued as soon as it is woken.
func (s *stream) TryFlush() {}

// Abort implements node.Link: a write stuck on a client that takes no bytes fails now,
// and the handler ends the response.
func (s *stream) Abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	select {
	case <-s.abort:
	default:
		close(s.abort)
		s.rc.SetWriteDeadline(time.Unix(1, 0))
	}
}

// serve is the stream's life on its handler goroutine: it writes what the node queues
// until the close event is out, the client goes away, or the node aborts it.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, hs node.Handshake) {
	s := &stream{nonce: randomNonce(), wake: make(chan struct{}, 1), abort: make(chan struct{}), rc: http.NewResponseController(w), nextID: 1}
	hs.Format, hs.Framing = proto.JSON, framing{}
	nc, err := h.node.Attach(hs, s)
	if err != nil {
		node.WriteError(w, &node.HTTPError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: err.Error()})
		return
	}
	s.nc = nc
	s.session = session{node: h.nodeID, conn: nc.ID, nonce: s.nonce}.sign(h.key)
	h.add(s)
	defer h.remove(s)

	s.rc.SetWriteDeadline(time.Time{}) // a server WriteTimeout must not end a stream
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // proxies that buffer responses (nginx) pass events at once
	w.WriteHeader(http.StatusOK)
	if s.rc.Flush() != nil {
		nc.Lost()
	} else {
		nc.Start()
		s.writeLoop(w, r)
	}
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	nc.Finished(&s.batch)
}

func (s *stream) writeLoop(w http.ResponseWriter, r *http.Request) {
	for {
		select {
		case <-s.wake:
		case <-r.Context().Done(): // the client went away
			s.nc.Lost()
			return
		case <-s.abort:
			return
		}
		for {
			closing := s.nc.Pull(&s.batch)
			if s.batch.Empty() {
				if closing {
					return // the close event is out
				}
				break
			}
			n, err := s.write(w)
			if err != nil {
				s.nc.Lost()
				return
			}
			s.nc.Written(&s.batch, n)
			s.nc.Seen() // a stream taking its bytes is alive: it has no pong to send
		}
	}
}

// write writes the pulled batch as events, each with the stream's next id (the first,
// connected, with the session too), and flushes; n is the batch's bytes written.
func (s *stream) write(w http.ResponseWriter) (n int, err error) {
	s.bufs = s.batch.Buffers(s.bufs[:0], 1024)
	for _, b := range s.bufs {
		if isEvent(b) {
			s.line = append(strconv.AppendUint(append(s.line[:0], "id: "...), s.nextID, 10), '\n')
			if _, err = w.Write(s.line); err != nil {
				return n, err
			}
			if s.nextID == 1 && bytes.HasPrefix(b, connectedEvent) {
				err = s.writeFirst(w, b)
				s.nextID++
				if err != nil {
					return n, err
				}
				n += len(b)
				continue
			}
			s.nextID++
		}
		if _, err = w.Write(b); err != nil {
			return n, err
		}
		n += len(b)
	}
	return n, s.rc.Flush()
}

// connectedEvent begins the stream's first event (proto encodes "type" first), to which
// the stream adds its session.
var connectedEvent = []byte(`data: {"type":"connected",`)

// writeFirst writes the stream's `connected` event with "session" added to its object.
func (s *stream) writeFirst(w http.ResponseWriter, b []byte) error {
	at := len(connectedEvent) // after "type", as the first field
	s.line = append(s.line[:0], b[:at]...)
	s.line = append(s.line, sessionKey...)
	s.line = strconv.AppendQuote(s.line, s.session) // base64url and '.': plain ASCII
	s.line = append(s.line, ',')
	s.line = append(s.line, b[at:]...)
	_, err := w.Write(s.line)
	return err
}
