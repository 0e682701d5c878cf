// Command melody is the olahol/melody peer: melody's session hub (a read and a write
// goroutine per session, a buffered outbox per session) with rooms kept in a roster; a
// room message is encoded once and queued with Session.Write to each member. It speaks
// bench/peers/internal/chatwire and never writes to a socket itself. Configuration:
// melody.New()'s defaults (a 256-message outbox per session, one frame per write), with
// MaxMessageSize raised to 64 KiB so the bench's 1 KiB messages are accepted.
package main

import (
	"net/http"

	"github.com/olahol/melody"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/peerhost"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/roster"
)

func main() {
	ln := peerhost.Listen()
	m := melody.New()
	m.Config.MaxMessageSize = 65536
	rs := roster.New[*melody.Session]()
	send := func(s *melody.Session, b []byte) { s.Write(b) }
	userOf := func(s *melody.Session) string { return s.MustGet("user").(string) }

	m.HandleConnect(func(s *melody.Session) { rs.Connect(userOf(s), s) })
	m.HandleDisconnect(func(s *melody.Session) { rs.Disconnect(userOf(s), s) })
	m.HandleMessage(func(s *melody.Session, b []byte) { rs.Handle(b, s, userOf(s), send, nil) })

	mux := http.NewServeMux()
	peerhost.Mount(mux)
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		m.HandleRequestWithKeys(w, r, map[string]any{"user": r.URL.Query().Get("user")})
	})
	http.Serve(ln, mux)
}
