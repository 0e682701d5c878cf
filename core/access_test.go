package core

import (
	"strings"
	"testing"

	"github.com/switchboard-ws/switchboard/core/proto"
)

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, room string
		want          bool
	}{
		{"team:42", "team:42", true},
		{"team:42", "team:420", false},
		{"team:42", "team:4", false},
		{"team:42:*", "team:42:dev", true},
		{"team:42:*", "team:42:", true},
		{"team:42:*", "team:42", false},
		{"team:*", "team:42:dev", true},
		{"*", "anything", true},
		{"*", "", true},
		{"", "lobby", false},
		{"lob*", "lobby", true},
		{"lobby*", "lob", false},
	} {
		if got := MatchPattern(tc.pattern, tc.room); got != tc.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tc.pattern, tc.room, got, tc.want)
		}
	}
}

func TestNamespaceOf(t *testing.T) {
	for room, want := range map[string]string{
		"team:42:dev": "team", "lobby": "", ":x": "", "user:ann": "user", "a/b:c": "a/b",
	} {
		if got := NamespaceOf(room); got != want {
			t.Errorf("NamespaceOf(%q) = %q, want %q", room, got, want)
		}
	}
}

func TestParseRules(t *testing.T) {
	for _, j := range []JoinRule{JoinPublic, JoinGrant, JoinUser, JoinProxy, JoinNone} {
		if got, err := ParseJoinRule(j.String()); err != nil || got != j {
			t.Errorf("ParseJoinRule(%q) = %v, %v", j, got, err)
		}
	}
	for _, p := range []PublishRule{PublishMembers, PublishGrant, PublishProxy, PublishNone} {
		if got, err := ParsePublishRule(p.String()); err != nil || got != p {
			t.Errorf("ParsePublishRule(%q) = %v, %v", p, got, err)
		}
	}
	if _, err := ParseJoinRule("members"); err == nil {
		t.Error("join: members accepted")
	}
	if _, err := ParsePublishRule("public"); err == nil {
		t.Error("publish: public accepted")
	}
}

// TestMayPublishEvent checks client_events, which only `event` messages (PROTOCOL.md
// §10.3) consult: a chat passes where an event is refused forbidden.
func TestMayPublishEvent(t *testing.T) {
	cfg := defaultConfig()
	cfg.Namespaces = map[string]Namespace{"quiet": {ClientEvents: Off}, "loud": {}}
	h := New(cfg)
	var out Outbox
	must(t, h.Step(Event{Kind: EventConnect, Now: start, Conn: 1, Identity: Identity{User: "ann"}}, &out))
	for _, room := range []string{"quiet:1", "loud:1"} {
		must(t, h.Step(Event{Kind: EventFrame, Now: start, Conn: 1, Payload: []byte(`{"type":"join","room":"` + room + `"}`)}, &out))
	}
	out.Reset()
	c := h.conns[1]
	req := &proto.Request{}
	for _, tc := range []struct {
		room string
		kind sendKind
		want bool
	}{
		{"quiet:1", sendChat, true},
		{"quiet:1", sendEvent, false},
		{"loud:1", sendEvent, true},
	} {
		if got := h.mayPublish(c, h.rooms[tc.room], tc.kind, req, &out); got != tc.want {
			t.Errorf("mayPublish(%s, kind %d) = %v, want %v", tc.room, tc.kind, got, tc.want)
		}
	}
	if len(out.Actions) != 1 || out.Actions[0].Msg.Extra().Code != proto.Forbidden {
		t.Fatalf("want one forbidden error, got %d actions", len(out.Actions))
	}
	out.Reset()
}

// Requests held behind an ask are bounded in bytes too, not only in number.
func TestHeldBytesBounded(t *testing.T) {
	h := New(defaultConfig())
	var out Outbox
	must(t, h.Step(Event{Kind: EventConnect, Now: start, Conn: 1, Identity: Identity{User: "ann"}}, &out))
	must(t, h.Step(Event{Kind: EventFrame, Now: start, Conn: 1, Payload: []byte(`{"type":"refresh","token":"t"}`)}, &out))
	out.Reset()
	big := []byte(`{"type":"chat","room":"r","id":"x","content":"` + strings.Repeat("a", 100<<10) + `"}`)
	for i := range 3 {
		must(t, h.Step(Event{Kind: EventFrame, Now: start, Conn: 1, Payload: big}, &out))
		refused := len(out.Actions) == 1 && out.Actions[0].Msg.Extra().Code == proto.LimitExceeded
		if want := i == 2; refused != want {
			t.Fatalf("request %d: refused %v, want %v (%d actions)", i+1, refused, want, len(out.Actions))
		}
		out.Reset()
	}
}
