package roster

import "github.com/switchboard-ws/switchboard/bench/peers/internal/chatwire"

// Handle answers one client frame b from c, a connection of user, as every roster peer
// does: join (acked when it has an id), chat to a room c is in (else not_member), private
// to every connection of a user, bad_request and unknown_type for the rest. send writes
// one frame to a connection; frame turns a chatwire payload into what send takes (nil
// when the WebSocket library frames it).
func (r *Roster[C]) Handle(b []byte, c C, user string, send func(C, []byte), frame func([]byte) []byte) {
	if frame == nil {
		frame = func(p []byte) []byte { return p }
	}
	req, err := chatwire.Decode(b)
	if err != nil {
		send(c, frame(chatwire.Error("bad_request", err.Error())))
		return
	}
	switch req.Type {
	case "join":
		r.Join(req.Room, c)
		if req.ID != "" {
			send(c, frame(chatwire.Ack(req.ID)))
		}
	case "chat":
		ok := r.Publish(req.Room, c, func(off uint64) []byte {
			return frame(chatwire.Chat(req.Room, user, req.Content, off))
		}, send)
		if !ok {
			send(c, frame(chatwire.Error("not_member", "join the room first")))
		}
	case "private":
		r.Private(req.To, frame(chatwire.Private(user, req.To, req.Content)), send)
	default:
		send(c, frame(chatwire.Error("unknown_type", req.Type)))
	}
}
