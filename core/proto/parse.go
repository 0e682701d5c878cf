package proto

// Parse decodes one client message of format f into r and validates it against
// PROTOCOL.md §2–§3. On success r's byte fields alias payload (or r's scratch space).
//
// On failure the returned *Error carries the code and a sentence naming the field; it
// points into r and is valid until r is parsed into again. When the message had a valid
// `id`, r.ID/r.HasID and the Error's ID are set even though a later field (or the
// syntax after the id) failed, so the error can echo the id. Parse never panics and, once r's scratch has grown to the
// largest payload seen, allocates nothing.
func Parse(f Format, payload []byte, r *Request) *Error {
	scratch, data := r.scratch[:0], r.data[:0]
	*r = Request{scratch: scratch, data: data}
	var fs fields
	var err *Error
	switch f {
	case JSON:
		err = r.parseJSON(payload, &fs)
	case Msgpack:
		err = r.parseMsgpack(payload, &fs)
	default:
		return r.fail(BadRequest, msgBadFormat)
	}
	if err != nil {
		// A payload that breaks off after a valid id still gets its error correlated.
		if fs.id.kind == kindString && len(fs.id.str) <= maxIDLen {
			r.ID, r.HasID = fs.id.str, true
			err.ID = r.ID
		}
		return err
	}
	return r.apply(&fs)
}
