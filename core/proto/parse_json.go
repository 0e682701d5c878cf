package proto

import "unicode/utf8"

// A strict RFC 8259 reader for the one shape the protocol needs: a top-level object
// whose known keys are collected into fields and whose other values are validated and
// skipped. It is hand-written so that strings alias the payload and nothing allocates.

// maxDepth bounds the nesting of skipped values, so a hostile payload cannot make the
// reader recurse without end.
const maxDepth = 64

type jsonReader struct {
	buf []byte
	pos int
	r   *Request // owns the scratch space unescaped strings are written to
	bad string   // why reading failed (an msg… constant)
}

func (r *Request) parseJSON(payload []byte, fs *fields) *Error {
	d := jsonReader{buf: payload, r: r}
	d.ws()
	if d.pos >= len(d.buf) || d.buf[d.pos] != '{' {
		if d.pos < len(d.buf) && d.value(0, nil) && d.end() {
			return r.fail(BadRequest, msgNotJSONObject)
		}
		return r.fail(BadRequest, msgNotJSON)
	}
	if !d.object(0, fs) {
		if d.bad == "" {
			d.bad = msgNotJSON
		}
		return r.fail(BadRequest, d.bad)
	}
	if !d.end() {
		return r.fail(BadRequest, msgTrailingJSON)
	}
	return nil
}

// end reports whether only whitespace is left.
func (d *jsonReader) end() bool {
	d.ws()
	return d.pos == len(d.buf)
}

func (d *jsonReader) ws() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// object reads an object at d.pos; with fs non-nil (the top level) known keys are
// collected, otherwise every value is skipped.
func (d *jsonReader) object(depth int, fs *fields) bool {
	if empty, ok := d.open(depth, '}'); empty || !ok {
		return ok
	}
	for {
		if d.pos >= len(d.buf) || d.buf[d.pos] != '"' {
			return false
		}
		var slot *value
		if fs != nil {
			key, ok := d.str(true)
			if !ok {
				return false
			}
			slot = fs.slot(key)
		} else if _, ok := d.str(false); !ok {
			return false
		}
		d.ws()
		if d.pos >= len(d.buf) || d.buf[d.pos] != ':' {
			return false
		}
		d.pos++
		d.ws()
		start := d.pos
		if !d.value(depth+1, slot) {
			return false
		}
		if fs != nil && slot == &fs.data {
			fs.dataRaw = d.buf[start:d.pos]
		}
		if done, ok := d.next('}'); done || !ok {
			return ok
		}
	}
}

func (d *jsonReader) array(depth int) bool {
	if empty, ok := d.open(depth, ']'); empty || !ok {
		return ok
	}
	for {
		if !d.value(depth+1, nil) {
			return false
		}
		if done, ok := d.next(']'); done || !ok {
			return ok
		}
	}
}

// open steps over the '{' or '[' at d.pos, refusing nesting deeper than maxDepth, and
// reports whether the container is empty (its closer consumed too).
func (d *jsonReader) open(depth int, closer byte) (empty, ok bool) {
	if depth >= maxDepth {
		d.bad = msgTooDeep
		return false, false
	}
	d.pos++
	d.ws()
	if d.pos < len(d.buf) && d.buf[d.pos] == closer {
		d.pos++
		return true, true
	}
	return false, true
}

// next steps over what follows a member or element: a ',' (more to come) or closer
// (done); anything else is malformed.
func (d *jsonReader) next(closer byte) (done, ok bool) {
	d.ws()
	if d.pos >= len(d.buf) {
		return false, false
	}
	switch d.buf[d.pos] {
	case ',':
		d.pos++
		d.ws()
		return false, true
	case closer:
		d.pos++
		return true, true
	}
	return false, false
}

// value reads any value at d.pos; with slot non-nil it records what it was.
func (d *jsonReader) value(depth int, slot *value) bool {
	if d.pos >= len(d.buf) {
		return false
	}
	kind := kindOther
	switch c := d.buf[d.pos]; {
	case c == '"':
		s, ok := d.str(slot != nil)
		if !ok {
			return false
		}
		if slot != nil {
			*slot = value{kind: kindString, str: s}
		}
		return true
	case c == '{':
		if !d.object(depth, nil) {
			return false
		}
	case c == '[':
		if !d.array(depth) {
			return false
		}
	case c == '-' || ('0' <= c && c <= '9'):
		n, k, ok := d.number()
		if !ok {
			return false
		}
		if slot != nil {
			*slot = value{kind: k, num: n}
		}
		return true
	case c == 't':
		if !d.literal("true") {
			return false
		}
	case c == 'f':
		if !d.literal("false") {
			return false
		}
	case c == 'n':
		if !d.literal("null") {
			return false
		}
		kind = kindNull
	default:
		return false
	}
	if slot != nil {
		*slot = value{kind: kind}
	}
	return true
}

func (d *jsonReader) literal(word string) bool {
	if len(d.buf)-d.pos < len(word) || string(d.buf[d.pos:d.pos+len(word)]) != word {
		return false
	}
	d.pos += len(word)
	return true
}

// number reads a number per RFC 8259 §6. kind is kindUint for a plain non-negative
// integer that fits in uint64 (the only numbers the protocol reads), else kindBadUint.
func (d *jsonReader) number() (n uint64, kind valueKind, ok bool) {
	kind = kindUint
	if d.buf[d.pos] == '-' {
		kind = kindBadUint
		d.pos++
	}
	if d.pos >= len(d.buf) {
		return 0, 0, false
	}
	switch c := d.buf[d.pos]; {
	case c == '0':
		d.pos++
	case '1' <= c && c <= '9':
		for d.pos < len(d.buf) && '0' <= d.buf[d.pos] && d.buf[d.pos] <= '9' {
			digit := uint64(d.buf[d.pos] - '0')
			if n > (1<<64-1-digit)/10 {
				kind = kindBadUint // overflows uint64; keep reading the digits
			}
			n = n*10 + digit
			d.pos++
		}
	default:
		return 0, 0, false
	}
	if d.pos < len(d.buf) && d.buf[d.pos] == '.' {
		kind = kindBadUint
		d.pos++
		if !d.digits() {
			return 0, 0, false
		}
	}
	if d.pos < len(d.buf) && (d.buf[d.pos] == 'e' || d.buf[d.pos] == 'E') {
		kind = kindBadUint
		d.pos++
		if d.pos < len(d.buf) && (d.buf[d.pos] == '+' || d.buf[d.pos] == '-') {
			d.pos++
		}
		if !d.digits() {
			return 0, 0, false
		}
	}
	if kind != kindUint {
		n = 0
	}
	return n, kind, true
}

// digits reads one or more decimal digits.
func (d *jsonReader) digits() bool {
	start := d.pos
	for d.pos < len(d.buf) && '0' <= d.buf[d.pos] && d.buf[d.pos] <= '9' {
		d.pos++
	}
	return d.pos > start
}

// str reads the string at d.pos (which is '"'). With keep, it returns the string's
// value: a slice of the payload when it has no escapes, else of r.scratch. Raw control
// characters, invalid escapes and invalid UTF-8 are rejected.
func (d *jsonReader) str(keep bool) ([]byte, bool) {
	d.pos++ // opening quote
	start := d.pos
	for d.pos < len(d.buf) {
		for d.pos < len(d.buf) && !strStop[d.buf[d.pos]] { // the common case: plain ASCII
			d.pos++
		}
		if d.pos >= len(d.buf) {
			break
		}
		c := d.buf[d.pos]
		switch {
		case c == '"':
			s := d.buf[start:d.pos]
			d.pos++
			return s, true
		case c == '\\':
			return d.escaped(start, keep)
		case c < 0x20:
			return nil, false
		case c < utf8.RuneSelf:
			d.pos++
		default:
			if !d.utf8() {
				return nil, false
			}
		}
	}
	return nil, false
}

// utf8 steps over one multi-byte UTF-8 sequence at d.pos.
func (d *jsonReader) utf8() bool {
	r, size := utf8.DecodeRune(d.buf[d.pos:])
	if r == utf8.RuneError && size <= 1 {
		return false
	}
	d.pos += size
	return true
}

// escaped continues str from the first backslash, unescaping into scratch. Scratch is
// grown once to the payload's length: no string's value is longer than its JSON text,
// so every string of this payload fits and earlier slices of scratch stay valid.
func (d *jsonReader) escaped(start int, keep bool) ([]byte, bool) {
	r := d.r
	var out []byte
	mark := 0
	if keep {
		if cap(r.scratch) < len(d.buf) {
			r.scratch = make([]byte, 0, len(d.buf))
		}
		mark = len(r.scratch)
		out = append(r.scratch, d.buf[start:d.pos]...)
	}
	for d.pos < len(d.buf) {
		c := d.buf[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !keep {
				return nil, true
			}
			r.scratch = out
			return out[mark:len(out):len(out)], true
		case c == '\\':
			if d.pos+1 >= len(d.buf) {
				return nil, false
			}
			e := d.buf[d.pos+1]
			d.pos += 2
			var b byte
			switch e {
			case '"', '\\', '/':
				b = e
			case 'b':
				b = '\b'
			case 'f':
				b = '\f'
			case 'n':
				b = '\n'
			case 'r':
				b = '\r'
			case 't':
				b = '\t'
			case 'u':
				rn, ok := d.hex4()
				if !ok {
					return nil, false
				}
				if utf16IsHigh(rn) && d.pos+1 < len(d.buf) && d.buf[d.pos] == '\\' && d.buf[d.pos+1] == 'u' {
					save := d.pos
					d.pos += 2
					lo, ok := d.hex4()
					if !ok {
						return nil, false
					}
					if utf16IsLow(lo) {
						rn = 0x10000 + (rn-0xD800)<<10 + (lo - 0xDC00)
					} else {
						d.pos = save // not a pair: the second escape stands alone
					}
				}
				// A lone surrogate is grammatical JSON but not a character:
				// utf8.AppendRune turns it into U+FFFD, as encoding/json does.
				if keep {
					out = utf8.AppendRune(out, rn)
				}
				continue
			default:
				return nil, false
			}
			if keep {
				out = append(out, b)
			}
		case c < 0x20:
			return nil, false
		case c < utf8.RuneSelf:
			if keep {
				out = append(out, c)
			}
			d.pos++
		default:
			from := d.pos
			if !d.utf8() {
				return nil, false
			}
			if keep {
				out = append(out, d.buf[from:d.pos]...)
			}
		}
	}
	return nil, false
}

func (d *jsonReader) hex4() (rune, bool) {
	if len(d.buf)-d.pos < 4 {
		return 0, false
	}
	var rn rune
	for _, c := range d.buf[d.pos : d.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		rn = rn<<4 | rune(c)
	}
	d.pos += 4
	return rn, true
}

// strStop[c]: byte c inside a string needs more than stepping over it.
var strStop = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf
	}
	return t
}()

func utf16IsHigh(r rune) bool { return 0xD800 <= r && r < 0xDC00 }
func utf16IsLow(r rune) bool  { return 0xDC00 <= r && r < 0xE000 }
