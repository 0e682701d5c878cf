package proto

import "github.com/tinylib/msgp/msgp"

// parseMsgpack reads a MessagePack map with the same keys as the JSON form. Strings
// may be str or bin (both alias the payload); `since` may be any integer type.
func (r *Request) parseMsgpack(payload []byte, fs *fields) *Error {
	if len(payload) == 0 {
		return r.fail(BadRequest, msgNotMsgpack)
	}
	if msgp.NextType(payload) != msgp.MapType {
		if rest, err := skipMsgpack(payload, 0); err == nil && len(rest) == 0 {
			return r.fail(BadRequest, msgNotMsgpackMap)
		}
		return r.fail(BadRequest, msgNotMsgpack)
	}
	n, b, err := msgp.ReadMapHeaderBytes(payload)
	if err != nil {
		return r.fail(BadRequest, msgNotMsgpack)
	}
	for ; n > 0; n-- {
		var key []byte
		switch msgp.NextType(b) {
		case msgp.StrType, msgp.BinType:
			key, b, err = msgp.ReadMapKeyZC(b)
			if err != nil {
				return r.fail(BadRequest, msgNotMsgpack)
			}
		case msgp.InvalidType: // the map promised more pairs than the payload holds
			return r.fail(BadRequest, msgNotMsgpack)
		default:
			return r.fail(BadRequest, msgBadKey)
		}
		slot := fs.slot(key)
		if slot == nil {
			if b, err = skipMsgpack(b, 1); err != nil {
				return r.fail(BadRequest, skipFailure(err))
			}
			continue
		}
		start := b
		if b, err = readMsgpackValue(b, slot); err != nil {
			return r.fail(BadRequest, skipFailure(err))
		}
		if slot == &fs.data {
			fs.dataRaw, fs.dataMsgpack = start[:len(start)-len(b)], true
		}
	}
	if len(b) != 0 {
		return r.fail(BadRequest, msgTrailingMsgp)
	}
	return nil
}

func skipFailure(err error) string {
	if err == errTooDeep {
		return msgTooDeep
	}
	return msgNotMsgpack
}

// readMsgpackValue reads one value of a known key into slot.
func readMsgpackValue(b []byte, slot *value) (rest []byte, err error) {
	switch msgp.NextType(b) {
	case msgp.StrType:
		var s []byte
		s, rest, err = msgp.ReadStringZC(b)
		*slot = value{kind: kindString, str: s}
	case msgp.BinType:
		var s []byte
		s, rest, err = msgp.ReadBytesZC(b)
		*slot = value{kind: kindString, str: s}
	case msgp.UintType:
		var u uint64
		u, rest, err = msgp.ReadUint64Bytes(b)
		*slot = value{kind: kindUint, num: u}
	case msgp.IntType:
		var i int64
		i, rest, err = msgp.ReadInt64Bytes(b)
		if i >= 0 {
			*slot = value{kind: kindUint, num: uint64(i)}
		} else {
			*slot = value{kind: kindBadUint}
		}
	case msgp.NilType:
		rest, err = msgp.ReadNilBytes(b)
		*slot = value{kind: kindNull}
	default:
		rest, err = skipMsgpack(b, 1)
		*slot = value{kind: kindOther}
	}
	return rest, err
}

type tooDeepError struct{}

func (tooDeepError) Error() string { return msgTooDeep }

var errTooDeep error = tooDeepError{}

// skipMsgpack steps over one value. msgp.Skip alone would recurse up to 100000 levels;
// nested maps and arrays are walked here so nesting stays within maxDepth.
func skipMsgpack(b []byte, depth int) ([]byte, error) {
	var n uint32
	var err error
	switch msgp.NextType(b) {
	case msgp.MapType:
		if depth >= maxDepth {
			return b, errTooDeep
		}
		if n, b, err = msgp.ReadMapHeaderBytes(b); err != nil {
			return b, err
		}
		for ; n > 0; n-- {
			if b, err = skipMsgpack(b, depth+1); err != nil { // key
				return b, err
			}
			if b, err = skipMsgpack(b, depth+1); err != nil { // value
				return b, err
			}
		}
		return b, nil
	case msgp.ArrayType:
		if depth >= maxDepth {
			return b, errTooDeep
		}
		if n, b, err = msgp.ReadArrayHeaderBytes(b); err != nil {
			return b, err
		}
		for ; n > 0; n-- {
			if b, err = skipMsgpack(b, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case msgp.InvalidType:
		return b, msgp.ErrShortBytes
	}
	return msgp.Skip(b)
}
