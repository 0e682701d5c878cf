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

// The verbs below emit one message to a set of connections and return how many it
// reaches; each takes over the caller's reference on m.

// deliverTo emits m to one connection.
func (o *Outbox) deliverTo(m *proto.Message, id ConnID) {
	mark := o.mark()
	o.addTarget(id)
	o.deliver(m, mark)
}

// toRoom emits m to every member connection of r, in join order.
func (o *Outbox) toRoom(m *proto.Message, r *room) int { return o.toRoomExcept(m, r, nil) }

// toRoomExcept emits m to every member connection of r but except (nil: none).
func (o *Outbox) toRoomExcept(m *proto.Message, r *room, except *conn) int {
	mark := o.mark()
	for _, x := range r.members.slots {
		if x != nil && x != except {
			o.addTarget(x.id)
		}
	}
	return o.deliver(m, mark)
}

// toUser emits m to every connection of to (nil: none here) and, so that a user's tabs
// stay in step, to the other connections of the sender's user (from is nil for the
// server).
func (o *Outbox) toUser(m *proto.Message, to *user, from *conn) int {
	mark := o.mark()
	if to != nil {
		for _, x := range to.conns {
			o.addTarget(x.id)
		}
	}
	if from != nil && from.user != to {
		for _, x := range from.user.conns {
			if x != from {
				o.addTarget(x.id)
			}
		}
	}
	return o.deliver(m, mark)
}

// toAll emits m to every connection of all, in connect order, except those of user
// exclude ("": none).
func (o *Outbox) toAll(m *proto.Message, all *connList, exclude string) int {
	mark := o.mark()
	for _, x := range all.slots {
		if x != nil && (exclude == "" || x.user.id != exclude) {
			o.addTarget(x.id)
		}
	}
	return o.deliver(m, mark)
}

func (o *Outbox) cluster(a ClusterAction) {
	o.Actions = append(o.Actions, Action{Kind: ActionCluster, Cluster: a})
}

func (o *Outbox) close(id ConnID, code uint16, reason string) {
	o.Actions = append(o.Actions, Action{Kind: ActionClose, Conn: id, Code: code, Reason: reason})
}

func (o *Outbox) reply(r *AdminReply) {
	o.Actions = append(o.Actions, Action{Kind: ActionAdminReply, Reply: r})
}
