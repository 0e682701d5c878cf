package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/switchboard-ws/switchboard/core/proto"
)

func TestJSONToMsgpackAndBack(t *testing.T) {
	for _, in := range []string{
		`{"type":"join","room":"lobby","since":42}`,
		`{"type":"chat","room":"r","content":"héllo \"x\"","n":-3,"f":1.5,"ok":true,"z":null,"a":[1,"two",[]],"o":{}}`,
		`{"big":18446744073709551615}`,
	} {
		b, err := jsonToMsgpack([]byte(in))
		if err != nil {
			t.Fatalf("jsonToMsgpack(%s): %v", in, err)
		}
		out := renderPayload(proto.Msgpack, b)
		if out.Text != in {
			t.Errorf("round trip of %s gave %s", in, out.Text)
		}
		if out.Bytes != len(b) || len(out.Hex) != 2*len(b) {
			t.Errorf("%s: bytes %d hex %q for %d bytes", in, out.Bytes, out.Hex, len(b))
		}
	}
	for _, bad := range []string{`{`, `{"a":1} x`, ``, strings.Repeat("[", 70) + strings.Repeat("]", 70)} { // 70: past the parser's depth limit (64)
		if _, err := jsonToMsgpack([]byte(bad)); err == nil {
			t.Errorf("jsonToMsgpack(%q) should fail", bad)
		}
	}
	if got := renderPayload(proto.Msgpack, []byte{0xa1, 'x'}).Text; !strings.HasPrefix(got, "unreadable") {
		t.Errorf("rendering 0xc1 gave %q", got)
	}
}

func TestFramePayloadReadsEveryLengthForm(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		payload := bytes.Repeat([]byte{'x'}, n)
		var frame []byte
		switch {
		case n < 126:
			frame = []byte{0x81, byte(n)}
		case n < 1<<16:
			frame = []byte{0x81, 126, byte(n >> 8), byte(n)}
		default:
			frame = []byte{0x81, 127, 0, 0, 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n)}
		}
		got, err := framePayload(append(frame, payload...))
		if err != nil || !bytes.Equal(got, payload) {
			t.Errorf("payload of %d bytes: got %d bytes, err %v", n, len(got), err)
		}
	}
	for _, bad := range [][]byte{{0x81}, {0x81, 5, 'x'}, {0x81, 0x85, 0, 0, 0, 0, 'x'}, {0x81, 126, 0}} {
		if _, err := framePayload(bad); err == nil {
			t.Errorf("framePayload(%v) should fail", bad)
		}
	}
}
