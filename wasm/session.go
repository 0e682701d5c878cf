package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/wsframe"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Version is the version of the JavaScript API (switchboard.version).
const Version = "1"

// Session is one hub the page created, with what rendering its actions needs: the
// format each connection speaks (each target sees a frame in its own format) and the
// clock, which only moves when an event says so.
type Session struct {
	hub     *core.Hub
	out     core.Outbox
	formats map[core.ConnID]proto.Format
	now     time.Time
}

// Config is the JSON a page passes to newHub. Names and defaults are the server's
// flags (PROTOCOL.md §1); absent fields keep the default.
type Config struct {
	NodeID               string  `json:"node_id"`
	MaxConns             int     `json:"max_conns"`
	MaxPerUser           int     `json:"max_per_user"`
	MaxRoomsPerConn      int     `json:"max_rooms_per_conn"`
	MaxMessageBytes      int     `json:"max_message_bytes"`
	Rate                 float64 `json:"rate"`
	Burst                int     `json:"burst"`
	AllowClientBroadcast bool    `json:"allow_client_broadcast"`
	History              int     `json:"history"`
	MaxListed            int     `json:"max_listed"`
	// Start is the hub's clock at creation, in Unix milliseconds (0: the Unix epoch).
	Start int64 `json:"start"`
}

// DefaultConfig is the server's defaults (core.DefaultConfig) as the playground names them.
func DefaultConfig() Config {
	d := core.DefaultConfig()
	return Config{
		NodeID: "playground", MaxConns: d.MaxConns, MaxPerUser: d.MaxPerUser, MaxRoomsPerConn: d.MaxRoomsPerConn,
		MaxMessageBytes: d.MaxMessageBytes, Rate: d.Rate, Burst: d.Burst, AllowClientBroadcast: d.AllowClientBroadcast,
		History: d.History, MaxListed: d.MaxListed,
	}
}

// NewSession creates a hub from a JSON Config.
func NewSession(configJSON []byte) (*Session, error) {
	c := DefaultConfig()
	if err := decodeStrict(configJSON, &c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	hub := core.New(core.Config{
		NodeID: c.NodeID, MaxConns: c.MaxConns, MaxPerUser: c.MaxPerUser,
		MaxRoomsPerConn: c.MaxRoomsPerConn, MaxMessageBytes: c.MaxMessageBytes,
		Rate: c.Rate, Burst: c.Burst, AllowClientBroadcast: c.AllowClientBroadcast,
		History: c.History, MaxListed: c.MaxListed,
	})
	return &Session{
		hub:     hub,
		formats: map[core.ConnID]proto.Format{},
		now:     time.UnixMilli(c.Start).UTC(),
	}, nil
}

// Event is the JSON of one step: kind is connect, frame, disconnect, tick or admin.
type Event struct {
	Kind string `json:"kind"`
	// Now moves the clock (Unix milliseconds) before the event; absent, it stays.
	Now    *int64 `json:"now"`
	Conn   uint64 `json:"conn"`
	User   string `json:"user"`   // connect
	Format string `json:"format"` // connect: "json" (default) or "msgpack"
	// Data is a frame's payload as text. For a msgpack connection it is JSON that is
	// re-encoded as MessagePack first; text that is not JSON is sent as it is.
	Data string `json:"data"`
	Code uint16 `json:"code"` // disconnect: the close code seen (default 1000)
	// Admin fields (kind "admin"): op is stats, users, rooms, members, broadcast,
	// publish, send, disconnect or system.
	Op      string `json:"op"`
	Ref     uint64 `json:"ref"`
	Room    string `json:"room"`
	Content string `json:"content"`
	Exclude string `json:"exclude"`
}

// Result is what step returns.
type Result struct {
	Actions []ActionJSON `json:"actions"`
	Now     int64        `json:"now"`             // the hub's clock after the step, Unix ms
	Sent    *FrameJSON   `json:"sent,omitempty"`  // a frame event's payload as the hub got it
	Error   string       `json:"error,omitempty"` // a bad event, or the hub refused it
}

// ActionJSON is one action: deliver (type, targets, frames), close (conn, code,
// reason) or admin_reply (ref, status and body: the admin API's JSON answer, §6).
type ActionJSON struct {
	Kind    string                `json:"kind"`
	Type    string                `json:"type,omitempty"`
	Targets []core.ConnID         `json:"targets,omitempty"`
	Frames  map[string]*FrameJSON `json:"frames,omitempty"`
	Conn    core.ConnID           `json:"conn,omitempty"`
	Code    uint16                `json:"code,omitempty"`
	Reason  string                `json:"reason,omitempty"`
	Ref     uint64                `json:"ref,omitempty"`
	Status  int                   `json:"status,omitempty"`
	Body    any                   `json:"body,omitempty"`
}

// FrameJSON is one encoded payload: Text is the JSON a person reads (MessagePack
// rendered as JSON), Bytes the payload's size on the wire, Hex the MessagePack bytes.
type FrameJSON struct {
	Text  string `json:"text"`
	Bytes int    `json:"bytes"`
	Hex   string `json:"hex,omitempty"`
}

var adminOps = map[string]core.AdminOp{
	"stats": core.AdminStats, "users": core.AdminUsers, "rooms": core.AdminRooms,
	"members": core.AdminRoomMembers, "broadcast": core.AdminBroadcast,
	"publish": core.AdminPublish, "send": core.AdminSendUser,
	"disconnect": core.AdminDisconnect, "system": core.AdminSystem,
}

// Step applies one JSON event and returns the Result as JSON. It never fails: a bad
// event or a hub error is the Result's Error.
func (s *Session) Step(eventJSON []byte) []byte {
	res := s.step(eventJSON)
	b, err := json.Marshal(res)
	if err != nil { // only reachable through a bug in this file
		return []byte(fmt.Sprintf(`{"actions":[],"error":%q}`, err.Error()))
	}
	return b
}

func (s *Session) step(eventJSON []byte) Result {
	res := Result{Actions: []ActionJSON{}}
	var e Event
	if err := decodeStrict(eventJSON, &e); err != nil {
		res.Error = "event: " + err.Error()
		res.Now = s.now.UnixMilli()
		return res
	}
	ev, sent, err := s.event(e)
	if err != nil {
		res.Error = "event: " + err.Error()
		res.Now = s.now.UnixMilli()
		return res
	}
	res.Sent = sent
	res.Now = s.now.UnixMilli()
	if ev.Kind == core.EventConnect {
		s.formats[ev.Conn] = ev.Format
	}
	if err := s.hub.Step(ev, &s.out); err != nil {
		res.Error = err.Error()
	}
	if ev.Kind == core.EventDisconnect {
		delete(s.formats, ev.Conn)
	}
	for _, a := range s.out.Actions {
		res.Actions = append(res.Actions, s.render(a))
	}
	s.out.Reset()
	return res
}

// event turns JSON into a core.Event, moving the clock first.
func (s *Session) event(e Event) (core.Event, *FrameJSON, error) {
	if e.Now != nil {
		s.now = time.UnixMilli(*e.Now).UTC()
	}
	ev := core.Event{Now: s.now, Conn: core.ConnID(e.Conn)}
	switch e.Kind {
	case "connect":
		ev.Kind, ev.Identity = core.EventConnect, core.Identity{User: e.User}
		f, ok := formatNamed(e.Format)
		if !ok {
			return ev, nil, fmt.Errorf("format %q: want json or msgpack", e.Format)
		}
		ev.Format = f
	case "frame":
		ev.Kind = core.EventFrame
		ev.Payload = []byte(e.Data)
		if s.formats[ev.Conn] == proto.Msgpack {
			if b, err := jsonToMsgpack([]byte(e.Data)); err == nil {
				ev.Payload = b
			}
			return ev, renderPayload(proto.Msgpack, ev.Payload), nil
		}
		return ev, renderPayload(proto.JSON, ev.Payload), nil
	case "disconnect":
		ev.Kind, ev.Code = core.EventDisconnect, e.Code
		if ev.Code == 0 {
			ev.Code = core.CloseNormal
		}
	case "tick":
		ev.Kind = core.EventTick
	case "admin":
		op, ok := adminOps[e.Op]
		if !ok {
			return ev, nil, fmt.Errorf("admin op %q: want one of stats, users, rooms, members, broadcast, publish, send, disconnect, system", e.Op)
		}
		ev.Kind = core.EventAdmin
		ev.Admin = core.AdminRequest{Op: op, Ref: e.Ref, Room: e.Room, User: e.User, Content: e.Content, Exclude: e.Exclude}
	default:
		return ev, nil, fmt.Errorf("kind %q: want connect, frame, disconnect, tick or admin", e.Kind)
	}
	return ev, nil, nil
}

// render turns one action into JSON, rendering a delivered message once per format its
// targets speak, the way the transports encode it once per subprotocol.
func (s *Session) render(a core.Action) ActionJSON {
	switch a.Kind {
	case core.ActionDeliver:
		out := ActionJSON{Kind: "deliver", Type: a.Msg.Type.String(),
			Targets: append([]core.ConnID(nil), a.Targets...), Frames: map[string]*FrameJSON{}}
		for _, c := range a.Targets {
			f := s.formats[c]
			if _, done := out.Frames[f.String()]; done {
				continue
			}
			payload, err := framePayload(a.Msg.Frame(wsframe.Framing{}, f))
			if err != nil {
				out.Frames[f.String()] = &FrameJSON{Text: "unreadable frame: " + err.Error()}
				continue
			}
			out.Frames[f.String()] = renderPayload(f, payload)
		}
		return out
	case core.ActionClose:
		delete(s.formats, a.Conn)
		return ActionJSON{Kind: "close", Conn: a.Conn, Code: a.Code, Reason: a.Reason}
	case core.ActionAdminReply:
		return ActionJSON{Kind: "admin_reply", Ref: a.Reply.Ref, Status: a.Reply.Status, Body: a.Reply.Body()}
	case core.ActionAsk: // a token to verify: the playground has no keys, so it stays unanswered
		return ActionJSON{Kind: "ask", Conn: a.Ask.Conn, Ref: a.Ask.ID}
	}
	return ActionJSON{Kind: fmt.Sprintf("unknown(%d)", a.Kind)}
}

func formatNamed(name string) (proto.Format, bool) {
	switch strings.ToLower(name) {
	case "", "json", proto.SubprotocolJSON:
		return proto.JSON, true
	case "msgpack", proto.SubprotocolMsgpack:
		return proto.Msgpack, true
	}
	return 0, false
}

// decodeStrict decodes one JSON object, refusing unknown fields so typos are seen.
func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimSpace(b[d.InputOffset():])) > 0 {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}
