package roster

import (
	"strings"
	"testing"
)

// TestHandle: the answers every roster peer gives, as the connections receive them.
func TestHandle(t *testing.T) {
	r := New[int]()
	got := map[int][]string{}
	send := func(c int, b []byte) { got[c] = append(got[c], string(b)) }
	frame := func(p []byte) []byte { return append([]byte("F:"), p...) }
	r.Connect("ann", 1)
	r.Connect("bob", 2)
	r.Connect("bob", 3)

	r.Handle([]byte(`{"type":"chat","room":"lobby","content":"early"}`), 1, "ann", send, frame)
	r.Handle([]byte(`{"type":"join","room":"lobby","id":"j1"}`), 1, "ann", send, frame)
	r.Handle([]byte(`{"type":"join","room":"lobby"}`), 2, "bob", send, frame)
	r.Handle([]byte(`{"type":"chat","room":"lobby","content":"hi"}`), 1, "ann", send, frame)
	r.Handle([]byte(`{"type":"private","to":"bob","content":"psst"}`), 1, "ann", send, frame)
	r.Handle([]byte(`{"type":"typing"}`), 3, "bob", send, frame)
	r.Handle([]byte(`not json`), 3, "bob", send, nil)

	want := map[int][]string{
		1: {`F:{"type":"error","code":"not_member"`, `F:{"type":"ack","id":"j1"}`, `F:{"type":"chat","room":"lobby","sender":"ann","content":"hi","offset":1`},
		2: {`F:{"type":"chat","room":"lobby","sender":"ann","content":"hi","offset":1`, `F:{"type":"private","sender":"ann","to":"bob","content":"psst"`},
		3: {`F:{"type":"private","sender":"ann","to":"bob","content":"psst"`, `F:{"type":"error","code":"unknown_type"`, `{"type":"error","code":"bad_request"`},
	}
	for c, frames := range want {
		if len(got[c]) != len(frames) {
			t.Fatalf("conn %d got %q, want frames starting %q", c, got[c], frames)
		}
		for i, prefix := range frames {
			if !strings.HasPrefix(got[c][i], prefix) {
				t.Errorf("conn %d frame %d: %s, want it to start %s", c, i, got[c][i], prefix)
			}
		}
	}
}
