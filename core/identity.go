package core

import "time"

// Identity is who a connection is and what its token grants, the one value that travels
// from the handshake (adapters/auth, or an embedding application's own function) to the
// hub. The hub never parses tokens: it gets their verdict here.
type Identity struct {
	User string // the user id (PROTOCOL.md §2)
	// Rooms are patterns of rooms the user may join in `join: grant` namespaces, Publish
	// of rooms it may chat in where `publish: grant`, Subs rooms the connection is joined
	// to at connect whatever the rules (PROTOCOL.md §8.1). A pattern is a room name, a
	// prefix ending in `*`, or `*` alone.
	Rooms, Publish, Subs []string
	// Expires is when the token stops being valid: the connection is then closed
	// 4002 Token expired, unless refreshed before. Zero: never.
	Expires time.Time
}
