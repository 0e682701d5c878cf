package core

import "github.com/switchboard-ws/switchboard/core/proto"

// Outbox collects the actions of one or more Steps. The adapter reads Actions in order,
// then calls Reset, which releases the outbox's reference on every message and keeps the
// slices for the next round, so a steady state allocates nothing.
type Outbox struct {
	Actions []Action

	// arena backs every Action.Targets of this round. When it grows, targets handed out
	// earlier keep pointing into the old array, which stays valid until Reset.
	arena []ConnID
}

// Reset releases every message the outbox holds and empties it. Targets and messages of
// earlier actions must not be used afterwards (unless the adapter Retained the message).
func (o *Outbox) Reset() {
	for i := range o.Actions {
		if m := o.Actions[i].Msg; m != nil {
			m.Release()
		}
		o.Actions[i] = Action{}
	}
	o.Actions = o.Actions[:0]
	o.arena = o.arena[:0]
}

// mark starts a target list; addTarget appends to it; deliver closes it into an action.
func (o *Outbox) mark() int { return len(o.arena) }

func (o *Outbox) addTarget(id ConnID) { o.arena = append(o.arena, id) }

// deliver emits m to the targets added since mark. The outbox takes over the caller's
// reference on m; a message with no target is released at once.
func (o *Outbox) deliver(m *proto.Message, mark int) int {
	n := len(o.arena) - mark
	if n == 0 {
		m.Release()
		return 0
	}
	o.Actions = append(o.Actions, Action{
		Kind:    ActionDeliver,
		Msg:     m,
		Targets: o.arena[mark:len(o.arena):len(o.arena)],
	})
	return n
}

// deliverTo emits m to one connection, taking over the caller's reference on m.
func (o *Outbox) deliverTo(m *proto.Message, id ConnID) {
	mark := o.mark()
	o.addTarget(id)
	o.deliver(m, mark)
}

func (o *Outbox) close(id ConnID, code uint16, reason string) {
	o.Actions = append(o.Actions, Action{Kind: ActionClose, Conn: id, Code: code, Reason: reason})
}

func (o *Outbox) reply(r *AdminReply) {
	o.Actions = append(o.Actions, Action{Kind: ActionAdminReply, Reply: r})
}
