package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-ws/switchboard/core"
)

// step sends one event and decodes the Result, failing on a glue-level error.
func step(t *testing.T, s *Session, event string) Result {
	t.Helper()
	var r Result
	if err := json.Unmarshal(s.Step([]byte(event)), &r); err != nil {
		t.Fatalf("step %s: result is not JSON: %v", event, err)
	}
	return r
}

// delivered is what a reader checks of a deliver action: its type and targets.
type delivered struct {
	Type    string
	Targets []core.ConnID
}

func deliveries(r Result) []delivered {
	var d []delivered
	for _, a := range r.Actions {
		if a.Kind == "deliver" {
			d = append(d, delivered{a.Type, a.Targets})
		}
	}
	return d
}

func decodeObject(t *testing.T, text string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("frame text %q is not a JSON object: %v", text, err)
	}
	return m
}

func TestSessionRendersEachTargetsFormat(t *testing.T) {
	s, err := NewSession([]byte(`{"start": 1700000000000}`))
	if err != nil {
		t.Fatal(err)
	}
	r := step(t, s, `{"kind":"connect","conn":1,"user":"ann","format":"json"}`)
	if diff := cmp.Diff([]delivered{{"connected", []core.ConnID{1}}}, deliveries(r)); diff != "" {
		t.Fatalf("connect ann (-want +got):\n%s", diff)
	}
	if got := decodeObject(t, r.Actions[0].Frames["json"].Text)["user_id"]; got != "ann" {
		t.Errorf("connected.user_id = %v, want ann", got)
	}

	r = step(t, s, `{"kind":"connect","conn":2,"user":"bob","format":"msgpack"}`)
	f := r.Actions[0].Frames["msgpack"]
	if f == nil || f.Hex == "" || len(r.Actions[0].Frames) != 1 {
		t.Fatalf("bob's connected frame should be msgpack only, with hex: %+v", r.Actions[0].Frames)
	}
	if got := decodeObject(t, f.Text)["user_id"]; got != "bob" {
		t.Errorf("msgpack connected.user_id = %v, want bob (text %s)", got, f.Text)
	}

	step(t, s, `{"kind":"frame","conn":1,"data":"{\"type\":\"join\",\"room\":\"lobby\"}"}`)
	r = step(t, s, `{"kind":"frame","conn":2,"data":"{\"type\":\"join\",\"room\":\"lobby\"}"}`)
	if r.Sent == nil || r.Sent.Hex == "" {
		t.Errorf("a msgpack connection's typed JSON should be sent re-encoded: %+v", r.Sent)
	}
	if diff := cmp.Diff([]delivered{{"joined", []core.ConnID{2}}, {"user_joined", []core.ConnID{1, 2}}}, deliveries(r)); diff != "" {
		t.Fatalf("bob joins (-want +got):\n%s", diff)
	}

	r = step(t, s, `{"kind":"frame","conn":1,"now":1700000005000,"data":"{\"type\":\"chat\",\"room\":\"lobby\",\"content\":\"hi\"}"}`)
	if diff := cmp.Diff([]delivered{{"chat", []core.ConnID{1, 2}}}, deliveries(r)); diff != "" {
		t.Fatalf("ann chats (-want +got):\n%s", diff)
	}
	frames := r.Actions[0].Frames
	if frames["json"] == nil || frames["msgpack"] == nil {
		t.Fatalf("chat to a json and a msgpack connection needs both frames: %+v", frames)
	}
	fromJSON, fromMsgpack := decodeObject(t, frames["json"].Text), decodeObject(t, frames["msgpack"].Text)
	if diff := cmp.Diff(fromJSON, fromMsgpack); diff != "" {
		t.Errorf("the two encodings of one chat differ (-json +msgpack):\n%s", diff)
	}
	if fromJSON["content"] != "hi" || fromJSON["sender"] != "ann" {
		t.Errorf("chat frame = %v", fromJSON)
	}
	if ts, _ := fromJSON["timestamp"].(string); !strings.HasPrefix(ts, "2023-11-14T22:13:25") {
		t.Errorf("chat timestamp %q should come from the event's clock (2023-11-14T22:13:25Z)", ts)
	}
	if r.Now != 1700000005000 {
		t.Errorf("clock after the step = %d, want 1700000005000", r.Now)
	}
}

func TestSessionReportsClosesAndForgetsClosedConns(t *testing.T) {
	s, err := NewSession([]byte(`{"max_per_user": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	step(t, s, `{"kind":"connect","conn":1,"user":"ann"}`)
	r := step(t, s, `{"kind":"connect","conn":2,"user":"ann"}`)
	var closes []ActionJSON
	for _, a := range r.Actions {
		if a.Kind == "close" {
			closes = append(closes, a)
		}
	}
	want := []ActionJSON{{Kind: "close", Conn: 1, Code: 4000, Reason: "Replaced by new connection"}}
	if diff := cmp.Diff(want, closes); diff != "" {
		t.Fatalf("second connection of ann with max_per_user 1 (-want +got):\n%s", diff)
	}
	r = step(t, s, `{"kind":"frame","conn":1,"data":"{\"type\":\"ping\"}"}`)
	if r.Error == "" || len(r.Actions) != 0 {
		t.Errorf("a frame on the closed conn 1 should be the hub's error, got %+v", r)
	}

	r = step(t, s, `{"kind":"admin","op":"disconnect","user":"ann","ref":7}`)
	var kicked, replied bool
	for _, a := range r.Actions {
		kicked = kicked || (a.Kind == "close" && a.Conn == 2 && a.Code == 4009 && a.Reason == "Kicked")
		replied = replied || (a.Kind == "admin_reply" && a.Ref == 7 && a.Status == 200 &&
			cmp.Equal(a.Body, map[string]any{"closed": float64(1)}))
	}
	if !kicked || !replied {
		t.Errorf("admin disconnect: want close 2 4009 Kicked and a reply closed=1, got %+v", r.Actions)
	}
}

func TestSessionRefusesBadInput(t *testing.T) {
	if _, err := NewSession([]byte(`{"max_per_usr": 1}`)); err == nil {
		t.Error("a misspelt config field should be refused")
	}
	s, err := NewSession([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{
		`not json`,
		`{"kind":"teleport"}`,
		`{"kind":"connect","conn":1,"user":"ann","format":"xml"}`,
		`{"kind":"admin","op":"reboot"}`,
	} {
		if r := step(t, s, ev); r.Error == "" || len(r.Actions) != 0 {
			t.Errorf("event %s: want an error and no actions, got %+v", ev, r)
		}
	}
	step(t, s, `{"kind":"connect","conn":1,"user":"ann"}`)
	r := step(t, s, `{"kind":"frame","conn":1,"data":"{oops"}`)
	if d := deliveries(r); len(d) != 1 || d[0].Type != "error" {
		t.Fatalf("a payload that is not JSON should get an error frame, got %+v", r.Actions)
	}
	if code := decodeObject(t, r.Actions[0].Frames["json"].Text)["code"]; code != "bad_request" {
		t.Errorf("error code = %v, want bad_request", code)
	}
}
