package core

import "github.com/switchboard-ws/switchboard/core/proto"

// The backend's decisions (PROTOCOL.md §9.1): a join in a `join: proxy` namespace, a
// chat or event in a `publish: proxy` one, and rpc. Each is an Ask out and an Answer in
// (ask.go), so the hub never waits: the connection's later requests are held until the
// answer and then take effect in the order sent. With no backend (Config.Backend off)
// they answer unavailable.

const (
	msgNoRPCBackend = "rpc needs a backend, and none is configured"
	msgRPCRefused   = "the backend refused this call"
	msgBadResult    = "the backend's result is not one JSON value"
)

// fillBackend copies into a what the backend is asked about req from c.
func (a *Ask) fillBackend(c *conn, req *proto.Request) {
	a.User, a.Type = c.user.id, req.Type
	switch a.Kind {
	case AskPublish:
		a.Content = append([]byte(nil), req.Content...)
		a.Event = string(req.Event)
	case AskRPC:
		a.Method = string(req.Method)
		a.Data = append([]byte(nil), req.Data...)
	}
}

// proxyJoin is mayJoin for a `join: proxy` room: c is seated when the backend allowed
// it (the join replayed with the answer), else the join asks; a connection already in
// the room is not asked again (reqJoin acks it).
func (h *Hub) proxyJoin(c *conn, req *proto.Request, out *Outbox) (seat, bool) {
	if r := h.rooms[string(req.Room)]; r != nil && c.roomIndex(r) >= 0 {
		return seatRule, true
	}
	if a := h.answering; a != nil {
		if a.Code != proto.OK {
			h.refuse(c, a, msgJoinForbidden, req, out)
			return 0, false
		}
		return seatRule, true
	}
	h.ask(c, AskJoin, req, out)
	return 0, false
}

// proxyPublish is mayPublish for a `publish: proxy` room: with the backend's answer the
// chat or event goes on (with the content it gave, when it rewrote it) or is refused;
// without one it asks. Content over the size limit is not asked about: the caller
// refuses it too_large.
func (h *Hub) proxyPublish(c *conn, req *proto.Request, out *Outbox) bool {
	if a := h.answering; a != nil {
		if a.Code != proto.OK {
			h.refuse(c, a, msgPublishForbidden, req, out)
			return false
		}
		if a.Rewrite {
			req.Content = a.Content // the caller checks its size and delivers it
		}
		return true
	}
	if h.tooLarge(req.Content) {
		return true
	}
	h.ask(c, AskPublish, req, out)
	return false
}

// reqRPC asks the backend, and with its answer sends rpc_result (no ack: the result
// carries the id) or the error.
func (h *Hub) reqRPC(c *conn, req *proto.Request, out *Outbox) {
	if !h.cfg.Backend {
		h.fail(c, proto.Unavailable, msgNoRPCBackend, req, out)
		return
	}
	a := h.answering
	if a == nil {
		h.ask(c, AskRPC, req, out)
		return
	}
	if a.Code != proto.OK {
		h.refuse(c, a, msgRPCRefused, req, out)
		return
	}
	if len(a.Result) > 0 && !proto.ValidValue(a.Result) {
		h.fail(c, proto.Unavailable, msgBadResult, req, out)
		return
	}
	m := proto.NewMessage(proto.MsgRPCResult)
	m.ID = append(m.ID[:0], req.ID...)
	x := m.Extra()
	x.Result = append(x.Result[:0], a.Result...)
	out.deliverTo(m, c.id)
}

// refuse answers req with the backend's refusal a: its code (or the one it named) and
// its message, else text (PROTOCOL.md §9.1: the backend's code wins over forbidden).
func (h *Hub) refuse(c *conn, a *Answer, text string, req *proto.Request, out *Outbox) {
	if a.Message != "" {
		text = a.Message
	} else if a.Code == proto.Unavailable {
		text = msgBackendDown
	}
	code := a.Code
	if code == proto.OK { // cannot happen for a refusal; keep the frame well-formed
		code = proto.Forbidden
	}
	h.failNamed(c, code, a.ErrorCode, text, req, out)
}

const msgBackendDown = "the backend failed or did not answer in time"
