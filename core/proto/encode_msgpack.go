package proto

import (
	"strconv"
	"time"
)

// appendMsgpack appends m's MessagePack map via its type's generated wire struct.
// The structs live on the stack and their strings view m's own bytes, so nothing is
// allocated once m's buffer has grown to size.
func (m *Message) appendMsgpack(b []byte) []byte {
	var err error
	typ := m.Type.String()
	ts := m.Time.Truncate(time.Millisecond) // the precision of the JSON form
	switch m.Type {
	case MsgConnected:
		conn := strconv.AppendUint(m.connID[:0], m.ConnID, 10)
		w := wireConnected{Type: typ, UserID: m.UserID, ConnID: bytesString(conn), Rooms: m.Rooms, Timestamp: ts}
		b, err = w.MarshalMsg(b)
	case MsgUserJoined:
		w := wireUserJoined{Type: typ, Room: m.Room, UserID: m.UserID, Members: m.Members, Timestamp: ts}
		b, err = w.MarshalMsg(b)
	case MsgUserLeft:
		w := wireUserLeft{Type: typ, Room: m.Room, UserID: m.UserID, Timestamp: ts}
		b, err = w.MarshalMsg(b)
	case MsgChat:
		w := wireChat{Type: typ, Room: m.Room, Sender: m.Sender, Content: bytesString(m.Content), Offset: m.Offset, Timestamp: ts}
		b, err = w.MarshalMsg(b)
	case MsgPrivate:
		w := wirePrivate{Type: typ, Sender: m.Sender, To: m.To, Content: bytesString(m.Content), Timestamp: ts}
		b, err = w.MarshalMsg(b)
	case MsgBroadcast:
		w := wireBroadcast{Type: typ, Sender: m.Sender, Content: bytesString(m.Content), Timestamp: ts}
		b, err = w.MarshalMsg(b)
	case MsgSystem:
		w := wireSystem{Type: typ, Content: bytesString(m.Content), Room: m.Room, Timestamp: ts}
		b, err = w.MarshalMsg(b)
	case MsgMembers:
		w := wireMembers{Type: typ, Room: m.Room, Members: m.Members}
		b, err = w.MarshalMsg(b)
	case MsgOnline:
		w := wireOnline{Type: typ, Users: m.Users, Total: int64(m.Total)}
		b, err = w.MarshalMsg(b)
	case MsgPong:
		b, err = wirePong{Type: typ}.MarshalMsg(b)
	case MsgAck:
		if m.HasOffset {
			b, err = wireAckOffset{Type: typ, ID: bytesString(m.ID), Offset: m.Offset}.MarshalMsg(b)
		} else {
			b, err = wireAck{Type: typ, ID: bytesString(m.ID)}.MarshalMsg(b)
		}
	case MsgJoined:
		w := wireJoined{Type: typ, Room: m.Room, Epoch: m.Epoch, Offset: m.Offset, Recovered: m.Recovered}
		b, err = w.MarshalMsg(b)
	case MsgEvent:
		w := wireEvent{Type: typ, Room: m.Room, Sender: m.Sender, Event: bytesString(m.Event), Content: bytesString(m.Content), Timestamp: ts}
		b, err = w.MarshalMsg(b)
	case MsgError:
		w := wireError{Type: typ, Code: m.errorCode(), Message: m.errorText(), Room: m.Room}
		id := bytesString(m.ID)
		if m.HasID || len(m.ID) > 0 {
			w.ID = &id
		}
		b, err = w.MarshalMsg(b)
	case MsgLeft:
		b, err = wireLeft{Type: typ, Room: m.Room, Reason: m.Text}.MarshalMsg(b)
	case MsgRPCResult:
		// The core checked Result is one JSON value (ValidValue); nil would encode null.
		result, cerr := AppendJSONAsMsgpack(nil, m.resultJSON())
		if cerr != nil {
			result = nil
		}
		w := wireRPCResult{Type: typ, ID: bytesString(m.ID), Result: result}
		b, err = w.MarshalMsg(b)
	default:
		panic("proto: unknown MessageType")
	}
	if err != nil { // the generated marshallers of these plain structs cannot fail
		panic("proto: " + err.Error())
	}
	return b
}
