package proto

// Framing is how one transport wraps an encoded message for its wire: a WebSocket frame
// (adapters/wsframe), a Server-Sent Event (adapters/sse). Message.Frame builds each
// (framing, format) pair once per message, for every recipient to share. A Framing must
// be comparable (Frame tells framings apart with ==) and must not keep dst.
type Framing interface {
	// AppendHeader appends to dst what goes in front of a payload of n bytes in format f.
	AppendHeader(dst []byte, f Format, n int) []byte
	// Trailer is what goes after the payload (nil: nothing); shared, never modified.
	Trailer(f Format) []byte
}

// maxFramed is how many (framing, format) pairs a message keeps framed at once: every
// framing of a node in both formats. A pair beyond them is framed afresh on each call.
const maxFramed = 4

// framed is one (framing, format) pair built: in the payload's own buffer, from
// frames[f][start:], when its header fit in the headroom; else a copy in own. Holding
// no slice of the in-place bytes keeps the entry small (the message's reset is on the
// hot path).
type framed struct {
	fr      Framing
	own     []byte // the copy, or scratch for an in-place header; capacity kept across reuse
	f       Format
	inPlace bool
	start   uint8 // in place: where the header begins in frames[f]
}

// Frame returns m as one complete frame of framing fr in format f: header, payload and
// trailer in one buffer. The payload is encoded once per format, and each (framing,
// format) pair built once; later calls return the same bytes, which every recipient
// shares and nobody may modify. The first framing with a header that fits in the
// headroom and no trailer (a WebSocket frame) is written in place, copying nothing.
// Fill every field before the first call.
func (m *Message) Frame(fr Framing, f Format) []byte {
	payload := m.Payload(f)
	for i := range m.framed[:m.nframed] {
		if e := &m.framed[i]; e.f == f && e.fr == fr {
			return m.framedBytes(e)
		}
	}
	trailer := fr.Trailer(f)
	if int(m.nframed) == len(m.framed) {
		b := fr.AppendHeader(make([]byte, 0, headroom+len(payload)+len(trailer)), f, len(payload))
		return append(append(b, payload...), trailer...)
	}
	e := &m.framed[m.nframed]
	m.nframed++
	e.fr, e.f = fr, f
	// The header is built in own, where a copy starts with it anyway: no scratch for it
	// in the message.
	e.own = fr.AppendHeader(e.own[:0], f, len(payload))
	e.inPlace = len(trailer) == 0 && len(e.own) <= headroom && !m.inPlace[f]
	if e.inPlace {
		m.inPlace[f] = true
		e.start = uint8(headroom - len(e.own))
		copy(m.frames[f][e.start:], e.own)
	} else {
		e.own = append(append(e.own, payload...), trailer...)
	}
	return m.framedBytes(e)
}

// framedBytes is the frame entry e built.
func (m *Message) framedBytes(e *framed) []byte {
	if e.inPlace {
		return m.frames[e.f][e.start:]
	}
	return e.own
}
