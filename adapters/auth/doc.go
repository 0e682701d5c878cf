// Package auth owns the decision of who a WebSocket handshake is (PROTOCOL.md §2): the
// user id from `?user=` or `/ws/{user}` (or a fresh guest id), or from the `sub` of an
// HS256 JWT in `?token=`, and the browser Origin check.
//
// It must never upgrade or answer a request itself, and never trust an algorithm the
// token names: only HS256 with the configured secret is accepted. Its verdict is a
// core.Identity or an *Error that the transport turns into an HTTP answer. NamedUser is
// the one rule for clients that say who they are without proof (/ws/{user}, ?user=,
// else a guest id), also a node's default when the application gives no Identify.
//
//	a, err := auth.New(auth.Config{Mode: auth.ModeJWT, Secret: key})
//	id, herr := a.Identify(r) // herr: 400, 401 or 403 with a JSON-ready code and message
package auth
