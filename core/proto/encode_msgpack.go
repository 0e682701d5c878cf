package proto

// appendMsgpack: the msgp-generated encoder replaces this in the next commit.
func (m *Message) appendMsgpack(b []byte) []byte {
	panic("proto: MessagePack encoding not implemented yet")
}
