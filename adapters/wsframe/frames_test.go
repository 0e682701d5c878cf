package wsframe

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// A message's WebSocket frame has the smallest header RFC 6455 §5.2 allows in front of
// the payload: FIN, text for JSON and binary for MessagePack.
func TestFramingHeaders(t *testing.T) {
	for _, f := range []proto.Format{proto.JSON, proto.Msgpack} {
		for _, size := range []int{125, 126, 65535, 65536} {
			m := broadcastOfSize(t, f, size)
			frame, payload := m.Frame(Framing{}, f), m.Payload(f)
			var hdr []byte
			switch {
			case size <= 125:
				hdr = []byte{0, byte(size)}
			case size <= 0xFFFF:
				hdr = binary.BigEndian.AppendUint16([]byte{0, 126}, uint16(size))
			default:
				hdr = binary.BigEndian.AppendUint64([]byte{0, 127}, uint64(size))
			}
			hdr[0] = 0x81 // FIN, text
			if f == proto.Msgpack {
				hdr[0] = 0x82 // FIN, binary
			}
			if !bytes.Equal(frame[:len(hdr)], hdr) || !bytes.Equal(frame[len(hdr):], payload) {
				t.Errorf("%s payload of %d bytes: header % x, want % x", f, size, frame[:len(hdr)], hdr)
			}
			m.Release()
		}
	}
}

// broadcastOfSize returns a broadcast whose payload in format f is exactly size bytes.
func broadcastOfSize(t *testing.T, f proto.Format, size int) *proto.Message {
	for n := size; n > 0; n-- {
		m := proto.NewMessage(proto.MsgBroadcast)
		m.Sender, m.Time = "ann", time.Unix(0, 0)
		m.Content = append(m.Content[:0], strings.Repeat("a", n)...)
		if got := len(m.Payload(f)); got == size {
			return m
		} else if got < size {
			t.Fatalf("no %s broadcast has a payload of exactly %d bytes", f, size)
		}
		m.Release()
	}
	t.Fatalf("size %d too small", size)
	return nil
}
