package core

import (
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// The frames below are built the same way for a client, an operator and another node;
// their text comes as a string (admin) or bytes (a client's request, a cluster message).

type text interface{ ~string | ~[]byte }

// privateMsg is a private message of sender to user to.
func privateMsg[C text](sender, to string, content C, at time.Time) *proto.Message {
	m := proto.NewMessage(proto.MsgPrivate)
	m.Sender, m.To, m.Time = sender, to, at
	m.Content = append(m.Content[:0], content...)
	return m
}

// broadcastMsg is a broadcast of sender.
func broadcastMsg[C text](sender string, content C, at time.Time) *proto.Message {
	m := proto.NewMessage(proto.MsgBroadcast)
	m.Sender, m.Time = sender, at
	m.Content = append(m.Content[:0], content...)
	return m
}

// systemMsg is an operator notice, for room ("": everyone).
func systemMsg[C text](room string, content C, at time.Time) *proto.Message {
	m := proto.NewMessage(proto.MsgSystem)
	m.Room, m.Time = room, at
	m.Content = append(m.Content[:0], content...)
	return m
}

// roomEvent is an ephemeral event of sender in r (PROTOCOL.md §10.3).
func roomEvent[E, C text](r *room, sender string, event E, content C, at time.Time) *proto.Message {
	m := proto.NewMessage(proto.MsgEvent)
	m.Room, m.Sender, m.Time = r.name, sender, at
	m.Event = append(m.Event[:0], event...)
	m.Content = append(m.Content[:0], content...)
	return m
}
