package proto

import "errors"

// FromJSON is ToJSON's inverse for clients: it re-encodes one JSON object as a message
// of format f, so a client builds its requests once, as JSON, and sends them on either
// subprotocol. MessagePack keeps the JSON key order and keeps integers integers
// (AppendJSONAsMsgpack), which Parse takes for ids, offsets and rpc data alike. Like
// decoding, this is not for the hot path.
func FromJSON(f Format, doc []byte) ([]byte, error) {
	switch f {
	case JSON:
		return doc, nil
	case Msgpack:
		return AppendJSONAsMsgpack(nil, doc)
	}
	return nil, errors.New("proto: unknown format")
}
