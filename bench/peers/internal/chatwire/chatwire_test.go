package chatwire

import (
	"encoding/json"
	"strings"
	"testing"
)

// The peers' chat frames must look like Switchboard's, so one load generator reads both.
func TestChatFrameShape(t *testing.T) {
	b := Chat("r1", "ann", `123.4.xx"`, 7)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "room", "sender", "content", "offset", "timestamp"} {
		if _, ok := m[k]; !ok {
			t.Errorf("chat frame %s lacks %q", b, k)
		}
	}
	if m["type"] != "chat" || m["content"] != `123.4.xx"` || m["offset"] != 7.0 {
		t.Errorf("chat frame %s", b)
	}
	if !strings.Contains(string(b), `"content":"123.4.`) {
		t.Errorf("the load generator's marker is missing from %s", b)
	}
}

func TestDecode(t *testing.T) {
	r, err := Decode([]byte(`{"type":"join","room":"r","id":"j"}`))
	if err != nil || r.Type != "join" || r.Room != "r" || r.ID != "j" {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := Decode([]byte(`nope`)); err == nil {
		t.Fatal("bad JSON decoded")
	}
}
