package proto

import (
	"strings"
	"testing"
)

// TestRequestTable checks the table the parser walks: every request type has a name
// that parses back to it, and is listed in the unknown_type message; every key is found
// by its name, and nothing else is.
func TestRequestTable(t *testing.T) {
	for rt := ReqUnknown + 1; int(rt) < len(requests); rt++ {
		name := rt.String()
		if name == "" || name == "unknown" {
			t.Errorf("request type %d has no name", rt)
		}
		if got := requestTypeOf([]byte(name)); got != rt {
			t.Errorf("requestTypeOf(%q) = %d, want %d", name, got, rt)
		}
		if !strings.Contains(msgTypeUnknown, " "+name) {
			t.Errorf("%q missing from %q", name, msgTypeUnknown)
		}
	}
	if requestTypeOf([]byte("unknown")) != ReqUnknown || requestTypeOf(nil) != ReqUnknown {
		t.Error("unknown and empty types must not name a request")
	}
	var fs fields
	for k, rule := range requestKeys {
		if got := fs.slot([]byte(rule.name)); got != &fs.vals[k] {
			t.Errorf("slot(%q) is not key %d's", rule.name, k)
		}
	}
	for _, key := range []string{"", "x", "rooms", "Room", "sender", "user_id", "from", "tyqe", "contents", strings.Repeat("k", 300)} {
		if fs.slot([]byte(key)) != nil {
			t.Errorf("slot(%q) should be ignored", key)
		}
	}
	for _, spec := range requests {
		for _, f := range spec.fields {
			rule := requestKeys[f.key]
			if rule.bad == "" || (!f.optional && rule.missing == "") {
				t.Errorf("%s: key %q lacks an error message", spec.name, rule.name)
			}
		}
	}
}
