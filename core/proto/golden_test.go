package proto

import (
	"encoding/hex"
	"flag"
	"os"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/messages.golden from the encoders")

// TestMessageBytesGolden pins the exact bytes of every message case in both formats
// (JSON key order, MessagePack header and integer widths), so that a change in how the
// encoders are organised cannot change what a client receives.
func TestMessageBytesGolden(t *testing.T) {
	var out strings.Builder
	for _, tc := range messageCases() {
		m := NewMessage(MsgPong)
		tc.fill(m)
		out.WriteString("# " + tc.name + "\n")
		out.Write(m.Payload(JSON))
		out.WriteString("\n" + hex.EncodeToString(m.Payload(Msgpack)) + "\n")
		m.Release()
	}
	const path = "testdata/messages.golden"
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(out.String(), "\n")
	for i, line := range strings.Split(string(want), "\n") {
		if i >= len(got) || got[i] != line {
			t.Fatalf("%s:%d:\nwant %s\n got %s", path, i+1, line, got[min(i, len(got)-1)])
		}
	}
	if len(got) != len(strings.Split(string(want), "\n")) {
		t.Fatalf("%d lines, want %d", len(got), len(strings.Split(string(want), "\n")))
	}
}
