package client

import (
	"encoding/json"
	"fmt"

	"github.com/coder/websocket"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// encode renders a request in format f, with the WebSocket message type it travels in.
func encode(f Format, r *request) (websocket.MessageType, []byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, nil, err
	}
	if f == JSON {
		return websocket.MessageText, b, nil
	}
	b, err = proto.FromJSON(f, b)
	return websocket.MessageBinary, b, err
}

// decode reads a server message of format f. MessagePack goes through its canonical JSON
// (proto.ToJSON), so both formats decode the same way, timestamps and rpc results
// included.
func decode(f Format, typ websocket.MessageType, p []byte) (*frame, error) {
	want := websocket.MessageText
	if f == Msgpack {
		want = websocket.MessageBinary
	}
	if typ != want {
		return nil, fmt.Errorf("switchboard: %v message on %s", typ, f.Subprotocol())
	}
	js, err := proto.ToJSON(f, p)
	if err != nil {
		return nil, err
	}
	fr := new(frame)
	if err := json.Unmarshal(js, fr); err != nil {
		return nil, err
	}
	return fr, nil
}
