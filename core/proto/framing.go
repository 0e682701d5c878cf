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

// framed is one (framing, format) pair's bytes: in the payload's own buffer when its
// header fit in the headroom (own unused), else a copy in own.
type framed struct {
	fr  Framing
	f   Format
	b   []byte
	own []byte // capacity kept across reuse
}

// Frame returns m as one complete frame of framing fr in format f: header, payload and
// trailer in one buffer. The payload is encoded once per format, and each (framing,
// format) pair built once; later calls return the same bytes, which every recipient
// shares and nobody may modify. The first framing with a header that fits in the
// headroom and no trailer (a WebSocket frame) is written in place, copying nothing.
// Fill every field before the first call.
func (m *Message) Frame(fr Framing, f Format) []byte {
	payload := m.Payload(f)
	free := -1
	for i := range m.framed {
		e := &m.framed[i]
		if e.fr == nil {
			if free < 0 {
				free = i
			}
			continue
		}
		if e.f == f && e.fr == fr {
			return e.b
		}
	}
	hdr := fr.AppendHeader(m.hdr[:0], f, len(payload))
	trailer := fr.Trailer(f)
	if free < 0 {
		return append(append(append(make([]byte, 0, len(hdr)+len(payload)+len(trailer)), hdr...), payload...), trailer...)
	}
	e := &m.framed[free]
	e.fr, e.f = fr, f
	if len(trailer) == 0 && len(hdr) <= headroom && !m.inPlace[f] {
		m.inPlace[f] = true
		start := headroom - len(hdr)
		copy(m.frames[f][start:], hdr)
		e.b = m.frames[f][start : headroom+len(payload)]
		return e.b
	}
	e.own = append(append(append(e.own[:0], hdr...), payload...), trailer...)
	e.b = e.own
	return e.b
}
