package sse

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// stream is one GET /sse: the node's connection and where its events go. Over HTTP/1.x
// the socket is taken from net/http (its buffers and the request's goroutine released):
// a writer goroutine writes the events with vectored writes, a reader goroutine waits
// for the client to go away. Where the connection cannot be taken (HTTP/2), the
// handler's goroutine writes through the ResponseWriter. POSTs hand messages to nc
// under recv.
type stream struct {
	nc      *node.Conn
	nonce   uint64
	session string

	wake  chan struct{}
	abort chan struct{} // closed by Abort
	gone  <-chan struct{}

	mu    sync.Mutex // Abort against the end of the stream
	conn  net.Conn   // the taken socket; nil: writing through rc
	rc    *http.ResponseController
	w     http.ResponseWriter
	ended bool

	recv sync.Mutex // one POST at a time hands its messages to nc, in order

	// The writer's.
	batch  node.Batch
	bufs   [][]byte // the batch's frames
	wire   [][]byte // what goes on the wire: an id line before each event
	ids    []byte   // the id lines of one write
	first  []byte   // the connected event with the session
	nextID uint64
}

// Wake implements node.Link.
func (s *stream) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// TryFlush implements node.Link: only the writer writes, as soon as it is woken.
func (s *stream) TryFlush() {}

// Abort implements node.Link: a write stuck on a client that takes no bytes fails now,
// and the stream ends.
func (s *stream) Abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	select {
	case <-s.abort:
		return
	default:
	}
	close(s.abort)
	if s.conn != nil {
		s.conn.Close()
	} else {
		s.rc.SetWriteDeadline(time.Unix(1, 0))
	}
}

// responseHead is the answer to GET /sse written on a taken socket: the body is the
// events until the connection closes (no chunking).
const responseHead = " 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
	"X-Accel-Buffering: no\r\nConnection: close\r\n\r\n" // X-Accel-Buffering: proxies that buffer (nginx) pass events at once

// serve starts the stream: attached to the node, answered 200, then written until the
// close event is out, the client goes away, or the node aborts it.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, hs node.Handshake) {
	s := &stream{nonce: randomNonce(), wake: make(chan struct{}, 1), abort: make(chan struct{}), rc: http.NewResponseController(w), w: w, nextID: 1}
	hs.Format, hs.Framing = proto.JSON, framing{}
	nc, err := h.node.Attach(hs, s)
	if err != nil {
		node.WriteError(w, &node.HTTPError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: err.Error()})
		return
	}
	s.nc = nc
	s.session = session{node: h.nodeID, conn: nc.ID, nonce: s.nonce}.sign(h.key)
	h.add(s)

	if r.ProtoMajor == 1 {
		if conn, brw, err := s.rc.Hijack(); err == nil {
			// brw holds nothing we need (a client sends nothing more on this request) and
			// goes with net/http's state; only the socket stays.
			_ = brw
			conn.SetDeadline(time.Time{})
			s.mu.Lock()
			s.conn, s.rc, s.w = conn, nil, nil
			s.mu.Unlock()
			gone := make(chan struct{})
			s.gone = gone
			if _, err := conn.Write([]byte(r.Proto + responseHead)); err != nil {
				conn.Close()
				s.end(h, true)
				return
			}
			nc.Start()
			go watchEOF(conn, gone)
			go func() {
				lost := s.writeLoop()
				conn.Close()
				<-gone
				s.end(h, lost)
			}()
			return
		} else if !errors.Is(err, http.ErrNotSupported) {
			s.end(h, true)
			return
		}
	}
	s.gone = r.Context().Done()
	s.rc.SetWriteDeadline(time.Time{}) // a server WriteTimeout must not end a stream
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if s.rc.Flush() != nil {
		s.end(h, true)
		return
	}
	nc.Start()
	s.end(h, s.writeLoop())
}

// watchEOF reads the taken socket until it fails (the client went away, or the writer
// closed it), then closes gone. A client sends nothing on it: a few bytes of buffer do.
func watchEOF(conn net.Conn, gone chan<- struct{}) {
	var buf [16]byte
	for {
		if _, err := conn.Read(buf[:]); err != nil {
			close(gone)
			return
		}
	}
}

// end finishes the stream once nothing writes to it any more (lost: no close event
// went out, the client or the socket went away first).
func (s *stream) end(h *Handler, lost bool) {
	if lost {
		s.nc.Lost()
	}
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.nc.Finished(&s.batch)
	h.remove(s)
}

// writeLoop writes what the node queues until the close event is out (false) or the
// stream is lost (true: the client went away, a write failed, or the node aborted).
func (s *stream) writeLoop() (lost bool) {
	for {
		select {
		case <-s.wake:
		case <-s.gone:
			return true
		case <-s.abort:
			return true
		}
		for {
			closing := s.nc.Pull(&s.batch)
			if s.batch.Empty() {
				if closing {
					return false // the close event is out
				}
				break
			}
			n, err := s.write()
			if err != nil {
				return true
			}
			s.nc.Written(&s.batch, n)
			s.nc.Seen() // a stream taking its bytes is alive: it has no pong to send
		}
	}
}

// connectedEvent begins the stream's first event (proto encodes "type" first), to which
// the stream adds its session.
var connectedEvent = []byte(`data: {"type":"connected",`)

// write writes the pulled batch as events, each after an `id: N` line counting per
// stream (the first, connected, with the session added), and returns the batch's bytes
// written.
func (s *stream) write() (n int, err error) {
	s.bufs = s.batch.Buffers(s.bufs[:0], 1024)
	s.ids = s.ids[:0]
	if need := len(s.bufs) * 26; cap(s.ids) < need { // "id: " + 20 digits + "\n", never reallocated below
		s.ids = make([]byte, 0, need)
	}
	s.wire = s.wire[:0]
	for _, b := range s.bufs {
		n += len(b)
		if !isEvent(b) {
			s.wire = append(s.wire, b)
			continue
		}
		at := len(s.ids)
		s.ids = append(strconv.AppendUint(append(s.ids, "id: "...), s.nextID, 10), '\n')
		s.wire = append(s.wire, s.ids[at:])
		if s.nextID == 1 && bytes.HasPrefix(b, connectedEvent) {
			b = s.withSession(b)
		}
		s.nextID++
		s.wire = append(s.wire, b)
	}
	if s.conn != nil {
		bufs := net.Buffers(s.wire)
		_, err = bufs.WriteTo(s.conn)
		clear(s.wire)
		return n, err
	}
	for _, b := range s.wire {
		if _, err = s.w.Write(b); err != nil {
			return n, err
		}
	}
	clear(s.wire)
	return n, s.rc.Flush()
}

// withSession returns the connected event b with "session" after its "type".
func (s *stream) withSession(b []byte) []byte {
	at := len(connectedEvent)
	s.first = append(s.first[:0], b[:at]...)
	s.first = append(s.first, sessionKey...)
	s.first = strconv.AppendQuote(s.first, s.session) // base64url and '.': plain ASCII
	s.first = append(s.first, ',')
	return append(s.first, b[at:]...)
}
