package core

import "testing"

// TestUserKeepsNoClosedConn: a user's connections live in the user's own one-element
// array while it has one; once a second tab moves them out and the first closes, nothing
// in the user still points at the closed connection (it would stay in memory for as long
// as the user is online).
func TestUserKeepsNoClosedConn(t *testing.T) {
	h := New(Config{})
	var out Outbox
	for id := ConnID(1); id <= 2; id++ {
		must(t, h.Step(Event{Kind: EventConnect, Now: start, Conn: id, Identity: Identity{User: "ann"}}, &out))
	}
	first := h.conns[1]
	must(t, h.Step(Event{Kind: EventDisconnect, Now: start, Conn: 1, Code: CloseNormal}, &out))
	u := h.users["ann"]
	if len(u.conns) != 1 || u.conns[0] != h.conns[2] {
		t.Fatalf("ann's conns %v, want only conn 2", u.conns)
	}
	if u.one[0] == first {
		t.Fatal("the user's inline array still holds the closed connection")
	}
}
