package node

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/wsframe"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// textFraming frames everything as readable lines, to see what the node asked for.
type textFraming struct{}

var lineEnd = []byte("\n")

func (textFraming) AppendHeader(dst []byte, _ proto.Format, _ int) []byte {
	return append(dst, "msg "...)
}
func (textFraming) Trailer(proto.Format) []byte { return lineEnd }
func (textFraming) Ping() []byte                { return []byte("ping\n") }
func (textFraming) Pong(p []byte) []byte        { return append([]byte("pong "), append(p, '\n')...) }
func (textFraming) Close(code uint16, reason string) []byte {
	return []byte("close " + reason + "\n")
}

// text is everything written to l so far.
func (l *testLink) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wire.String()
}

// A connection's frames are its transport's Framing's: messages (one build shared by a
// fan-out of mixed framings), pings and the close; a WebSocket peer in the same room
// gets WebSocket frames of the same payload.
func TestConnectionFraming(t *testing.T) {
	n := New(Options{PingInterval: 20 * time.Millisecond, IdleTimeout: -1})
	text, ws := &testLink{}, &testLink{}
	for _, l := range []struct {
		link *testLink
		user string
		fr   Framing
	}{{text, "ann", textFraming{}}, {ws, "bob", nil}} {
		l.link.mu.Lock()
		c, err := n.Attach(Handshake{Identity: core.Identity{User: l.user}, Format: proto.JSON, Framing: l.fr}, l.link)
		if err != nil {
			t.Fatal(err)
		}
		l.link.c = c
		l.link.mu.Unlock()
		c.Start()
		c.Receive([]byte(`{"type":"join","room":"r"}`))
	}
	text.c.Receive([]byte(`{"type":"chat","room":"r","content":"hi"}`))
	chat := `{"type":"chat","room":"r","sender":"ann","content":"hi","offset":1,`
	waitFor(t, "the chat on both", func() bool { return strings.Contains(text.text(), "msg "+chat) && strings.Contains(ws.text(), chat) })
	waitFor(t, "a ping", func() bool { return strings.Contains(text.text(), "\nping\n") })
	for _, line := range strings.Split(strings.TrimSuffix(text.text(), "\n"), "\n") {
		if line != "ping" && !strings.HasPrefix(line, "msg {") {
			t.Errorf("line %q is not of the connection's framing", line)
		}
	}
	if got := ws.text(); !strings.Contains(got, string(wsframe.Ping)) || strings.Contains(got, "msg ") {
		t.Errorf("the WebSocket connection got another framing's bytes: %q", got)
	}
	shutdown(t, n)
	if got := text.text(); !strings.HasSuffix(got, "close "+core.ReasonShutdown+"\n") {
		t.Errorf("last frame of %q, want the framing's close", got)
	}
}
