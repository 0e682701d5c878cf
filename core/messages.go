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

// roomMsg is a room message of type t from sender in r, with the room fields an
// unstored room message carries (see RemoteRoomMessage); event is an event's name.
func roomMsg[E, C text](t proto.MessageType, r *room, sender string, event E, content C, at time.Time) *proto.Message {
	m := proto.NewMessage(t)
	m.Room, m.Sender, m.Time = r.name, sender, at
	m.Event = append(m.Event[:0], event...)
	m.Content = append(m.Content[:0], content...)
	return m
}
