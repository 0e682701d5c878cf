package core

import (
	"fmt"
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// start is the clock of every transcript and property test before any tick.
var start = time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)

// defaultConfig is the server's default configuration (PROTOCOL.md §1) on node-1.
func defaultConfig() Config {
	c := DefaultConfig()
	c.NodeID = "node-1"
	return c
}

// renderMessage returns m as a client of format f reads it, as one line of JSON (a
// MessagePack frame decoded by proto.ToJSON, its timestamp as in JSON).
func renderMessage(m *proto.Message, f proto.Format) (string, error) {
	js, err := proto.ToJSON(f, m.Payload(f))
	if err != nil {
		return "", fmt.Errorf("%v frame %q does not decode: %v", f, m.Payload(f), err)
	}
	return string(js), nil
}

// jsonToMsgpack re-encodes one JSON value as MessagePack, keeping the key order, so a
// transcript can speak to a MessagePack connection in readable JSON.
func jsonToMsgpack(s string) ([]byte, error) { return proto.AppendJSONAsMsgpack(nil, []byte(s)) }

// checkOutbox checks what a user would notice of one step's actions: every message
// encodes in both formats, no target is unknown, closed before, or listed twice, and
// every target is still connected at the end of the step unless a later action closes it.
func checkOutbox(h *Hub, out *Outbox, from int) error {
	closedAt := map[ConnID]int{}
	for i := from; i < len(out.Actions); i++ {
		if a := out.Actions[i]; a.Kind == ActionClose {
			if _, twice := closedAt[a.Conn]; twice {
				return fmt.Errorf("conn %d closed twice", a.Conn)
			}
			closedAt[a.Conn] = i
			if h.conns[a.Conn] != nil {
				return fmt.Errorf("conn %d closed but still in the hub", a.Conn)
			}
		}
	}
	for i := from; i < len(out.Actions); i++ {
		a := out.Actions[i]
		switch a.Kind {
		case ActionDeliver:
			if a.Msg == nil || len(a.Targets) == 0 {
				return fmt.Errorf("action %d: deliver without message or targets", i)
			}
			if a.Msg.Refs() < 1 {
				return fmt.Errorf("action %d: message already released", i)
			}
			for f := proto.Format(0); f < proto.NumFormats; f++ {
				if _, err := renderMessage(a.Msg, f); err != nil {
					return fmt.Errorf("action %d: %v", i, err)
				}
			}
			seen := map[ConnID]bool{}
			for _, id := range a.Targets {
				if seen[id] {
					return fmt.Errorf("action %d: conn %d targeted twice", i, id)
				}
				seen[id] = true
				if at, closed := closedAt[id]; closed {
					if at < i {
						return fmt.Errorf("action %d: conn %d targeted after its close", i, id)
					}
				} else if h.conns[id] == nil {
					return fmt.Errorf("action %d: conn %d targeted but not connected", i, id)
				}
			}
		case ActionClose:
		case ActionStore:
			if !h.cfg.Durable || a.Room == "" || a.Epoch == "" || a.Store == StoreAppend && (a.Msg == nil || a.Msg.Refs() < 1) {
				return fmt.Errorf("action %d: store %d of %q (epoch %q) without a store, room, epoch or message", i, a.Store, a.Room, a.Epoch)
			}
		case ActionAdminReply:
			if a.Reply == nil {
				return fmt.Errorf("action %d: admin reply without reply", i)
			}
		case ActionAsk:
			if a.Ask == nil || a.Ask.ID == 0 || h.conns[a.Ask.Conn] == nil {
				return fmt.Errorf("action %d: ask without ask, id or live conn", i)
			}
		case ActionAppEvent:
			if a.App == nil || !h.cfg.AppEvents {
				return fmt.Errorf("action %d: app event without event or consumer", i)
			}
		default:
			return fmt.Errorf("action %d: unknown kind %d", i, a.Kind)
		}
	}
	return nil
}
