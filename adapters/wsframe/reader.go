package wsframe

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// Handler receives what a Reader decodes. Every slice is valid only during the call: it
// aliases the bytes given to Feed or the Reader's pooled buffer.
type Handler interface {
	// Message is one complete data message (reassembled when fragmented), unmasked,
	// of the connection's frame type, UTF-8 checked when text.
	Message(payload []byte)
	// Ping is a ping's payload; the transport answers with a pong carrying the same bytes.
	Ping(payload []byte)
	// Pong is a pong's payload (proof of life; nothing to answer).
	Pong(payload []byte)
}

// Reader decodes the frames a client sends to a server, incrementally: Feed it whatever a
// read returned. Its zero value is not ready; call Init. A Reader is used by one goroutine
// at a time.
//
// The byte-sized fields sit together after hdr: one Reader per connection, padding counts.
type Reader struct {
	max    int       // largest message, reassembled, in payload bytes
	budget *Budget   // shared by the readers of a server; nil: no limit
	h      ws.Header // the current frame, once its header is complete
	hdr    [ws.MaxHeaderSize]byte
	hn     uint8     // header bytes held in hdr while the header is split across reads
	inBody bool      // h is valid and its payload is being read
	dataOp ws.OpCode // the only data frame type the subprotocol allows
	msgOp  ws.OpCode // opcode of the fragmented message in progress (0: none)
	got    int       // payload bytes of the current frame read so far
	msgLen int       // unmasked bytes of that message held in the chunks
	// The partial message's chunks, unmasked as they arrive (pooled; nil between
	// messages); ctl holds a control frame split across reads.
	head, tail *chunk
	ctl        *chunk
	held       int         // bytes of the chunks and ctl (their capacity)
	err        *CloseError // set once the stream has ended (peer close or violation)
}

// Init readies r for a connection speaking format f (text frames for JSON, binary for
// MessagePack) whose messages may not exceed maxMessage bytes (0: no limit beyond int);
// what it holds of partial messages counts against budget (nil: no limit).
func (r *Reader) Init(f proto.Format, maxMessage int, budget *Budget) {
	r.Reset()
	r.budget = budget
	r.dataOp = ws.OpText
	if f == proto.Msgpack {
		r.dataOp = ws.OpBinary
	}
	if maxMessage <= 0 {
		maxMessage = int(^uint(0) >> 1)
	}
	r.max = maxMessage
	r.err = nil
}

// Reset drops any partial frame and returns its buffers to the pool (call it when the
// connection goes away mid-frame). Init must be called again before the next Feed.
func (r *Reader) Reset() {
	r.putData()
	r.putCtl()
	r.hn, r.inBody, r.got, r.msgOp, r.msgLen = 0, false, 0, 0, 0
}

// Partial reports whether r holds part of a frame or of a fragmented message.
func (r *Reader) Partial() bool { return r.hn != 0 || r.inBody || r.msgOp != 0 }

// Held is the buffer r holds now, in bytes: never more than the payload bytes received
// of the current message (and control frame) plus one chunk.
func (r *Reader) Held() int { return r.held }

// Feed decodes p, calling h for every complete message and control frame, in order. It
// unmasks p in place. It returns nil when p was consumed (a trailing partial frame is
// kept for the next Feed), or a *CloseError once the stream has ended: the peer sent a
// close frame (FromPeer) or broke a rule; every later Feed returns the same error.
func (r *Reader) Feed(p []byte, h Handler) error {
	if r.err != nil {
		return r.err
	}
	for len(p) > 0 {
		if !r.inBody {
			var done bool
			p, done = r.readHeader(p)
			if !done {
				return nil
			}
			if err := r.startFrame(); err != nil {
				return r.fail(err)
			}
			if r.h.Length == 0 {
				if err := r.endEmpty(h); err != nil {
					return r.fail(err)
				}
				continue
			}
		}
		var err *CloseError
		p, err = r.readBody(p, h)
		if err != nil {
			return r.fail(err)
		}
	}
	return nil
}

// readHeader collects the current frame's header from p, returning the rest of p and
// whether the header is complete (then r.h holds it).
func (r *Reader) readHeader(p []byte) ([]byte, bool) {
	if r.hn == 0 && len(p) >= 2 {
		if n := headerSize(p[0], p[1]); len(p) >= n {
			parseHeader(p[:n], &r.h)
			return p[n:], true
		}
	}
	for len(p) > 0 {
		need := 2
		if r.hn >= 2 {
			need = headerSize(r.hdr[0], r.hdr[1])
		}
		k := copy(r.hdr[r.hn:need], p)
		r.hn += uint8(k)
		p = p[k:]
		if int(r.hn) < need || need == 2 && headerSize(r.hdr[0], r.hdr[1]) > 2 {
			continue
		}
		parseHeader(r.hdr[:r.hn], &r.h)
		r.hn = 0
		return p, true
	}
	return p, false
}

// headerSize is the length of a header whose first two bytes are b0, b1.
func headerSize(_, b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// parseHeader decodes a complete header. A 64-bit length with its top bit set becomes a
// negative Length, which startFrame refuses.
func parseHeader(b []byte, h *ws.Header) {
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] & 0x70) >> 4
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	rest := b[2:]
	switch n := b[1] & 0x7f; n {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
	case 127:
		h.Length = int64(binary.BigEndian.Uint64(rest))
		rest = rest[8:]
	default:
		h.Length = int64(n)
	}
	if h.Masked {
		copy(h.Mask[:], rest)
	} else {
		h.Mask = [4]byte{}
	}
}

// startFrame applies the header rules: masking, control frames, continuation order,
// frame type against the subprotocol, and the size limit on the whole message.
func (r *Reader) startFrame() *CloseError {
	h := &r.h
	if h.Length < 0 {
		return errProtocol
	}
	state := ws.StateServerSide
	if r.msgOp != 0 {
		state = state.Set(ws.StateFragmented)
	}
	if ws.CheckHeader(*h, state) != nil {
		return errProtocol
	}
	if !h.OpCode.IsControl() {
		if h.OpCode != ws.OpContinuation && h.OpCode != r.dataOp {
			return errUnsupported
		}
		if h.Length > int64(r.max-r.msgLen) {
			return errTooBig
		}
		if h.OpCode != ws.OpContinuation && !h.Fin {
			r.msgOp = h.OpCode
		}
	}
	r.inBody, r.got = true, 0
	return nil
}

// readBody takes the current frame's payload from p, ending the frame when it is whole.
// A frame that is entirely in p is unmasked and handled in place, with no copy; the
// bytes of one that is not are copied into chunks as they come.
func (r *Reader) readBody(p []byte, h Handler) ([]byte, *CloseError) {
	length := int(r.h.Length)
	need := length - r.got
	if r.h.OpCode.IsControl() {
		if r.ctl == nil && len(p) >= need {
			ws.Cipher(p[:need], r.h.Mask, 0)
			return p[need:], r.endFrame(p[:need], h)
		}
		if r.ctl == nil {
			if r.ctl = r.takeChunk(0); r.ctl == nil {
				return p, errBusy
			}
		}
		k := min(need, len(p))
		r.ctl.b = r.appendUnmasked(r.ctl.b, p[:k])
		if r.got < length {
			return p[k:], nil
		}
		err := r.endFrame(r.ctl.b, h)
		r.putCtl()
		return p[k:], err
	}
	if r.head == nil && r.msgOp == 0 && len(p) >= need {
		// The common case: a whole unfragmented message in one read.
		ws.Cipher(p[:need], r.h.Mask, 0)
		return p[need:], r.endFrame(p[:need], h)
	}
	k := min(need, len(p))
	for q := p[:k]; len(q) > 0; {
		if r.tail == nil || len(r.tail.b) == cap(r.tail.b) {
			c := r.takeChunk(nextClass(r.tail))
			if c == nil {
				return p[k:], errBusy
			}
			if r.tail == nil {
				r.head = c
			} else {
				r.tail.next = c
			}
			r.tail = c
		}
		room := min(cap(r.tail.b)-len(r.tail.b), len(q))
		r.tail.b = r.appendUnmasked(r.tail.b, q[:room])
		q = q[room:]
	}
	if r.got < length {
		return p[k:], nil
	}
	r.msgLen += length
	if !r.h.Fin {
		r.inBody = false
		return p[k:], nil
	}
	return p[k:], r.endMessage(h)
}

// appendUnmasked appends the frame's next payload bytes p to dst, unmasked.
func (r *Reader) appendUnmasked(dst, p []byte) []byte {
	start := len(dst)
	dst = append(dst, p...)
	ws.Cipher(dst[start:], r.h.Mask, r.got)
	r.got += len(p)
	return dst
}

// endMessage ends a message held in chunks: the Handler sees it contiguous (the one
// chunk, or a joined copy that lives for the call only).
func (r *Reader) endMessage(h Handler) *CloseError {
	if r.head == nil || r.head == r.tail {
		var p []byte
		if r.head != nil {
			p = r.head.b
		}
		err := r.endFrame(p, h)
		r.putData()
		return err
	}
	joined := getJoined(r.msgLen)
	for c := r.head; c != nil; c = c.next {
		*joined = append(*joined, c.b...)
	}
	r.putData()
	err := r.endFrame(*joined, h)
	putJoined(joined)
	return err
}

// endEmpty ends a frame with no payload; when it is the final fragment of a message, the
// message is what the earlier fragments held.
func (r *Reader) endEmpty(h Handler) *CloseError {
	if r.h.OpCode != ws.OpContinuation || !r.h.Fin {
		return r.endFrame(nil, h)
	}
	return r.endMessage(h)
}

// endFrame handles a complete frame whose unmasked payload is p; for a data frame with
// FIN, p is the whole message.
func (r *Reader) endFrame(p []byte, h Handler) *CloseError {
	r.inBody = false
	switch r.h.OpCode {
	case ws.OpPing:
		h.Ping(p)
	case ws.OpPong:
		h.Pong(p)
	case ws.OpClose:
		return closeFromPeer(p)
	default:
		if !r.h.Fin {
			return nil // an empty fragment; the message goes on
		}
		op := r.h.OpCode
		if op == ws.OpContinuation {
			op = r.msgOp
		}
		r.msgOp, r.msgLen = 0, 0
		if op == ws.OpText && !utf8.Valid(p) {
			return errInvalidUTF8
		}
		h.Message(p)
	}
	return nil
}

// closeFromPeer decodes the payload of the peer's close frame into the error that ends
// the stream: the peer's code to echo, or the violation its payload commits.
func closeFromPeer(p []byte) *CloseError {
	switch len(p) {
	case 0:
		return &CloseError{Code: ws.StatusNoStatusRcvd, FromPeer: true}
	case 1:
		return errProtocol
	}
	code, reason := ws.ParseCloseFrameDataUnsafe(p)
	if !PeerMaySend(code) {
		return errProtocol
	}
	if !utf8.ValidString(reason) {
		return errInvalidUTF8
	}
	return &CloseError{Code: code, Reason: strings.Clone(reason), FromPeer: true} // reason aliases p
}

// PeerMaySend reports whether a peer may put code in its close frame (RFC 6455 §7.4):
// 1000–1003, 1007–1011 and 3000–4999. gobwas/ws's own check lets 5000 and above pass.
func PeerMaySend(code ws.StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

func (r *Reader) fail(err *CloseError) error {
	r.err = err
	r.Reset()
	return err
}

// takeChunk returns an empty chunk of class from the pool, or nil when the budget
// cannot cover it.
func (r *Reader) takeChunk(class int) *chunk {
	if !r.budget.take(chunkClasses[class]) {
		return nil
	}
	r.held += chunkClasses[class]
	return getChunk(class)
}

func (r *Reader) release(c *chunk) {
	r.budget.give(cap(c.b))
	r.held -= cap(c.b)
	putChunk(c)
}

func (r *Reader) putData() {
	for c := r.head; c != nil; {
		next := c.next
		r.release(c)
		c = next
	}
	r.head, r.tail = nil, nil
}

func (r *Reader) putCtl() {
	if r.ctl != nil {
		r.release(r.ctl)
		r.ctl = nil
	}
}
