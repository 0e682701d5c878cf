// Package auth owns the decision of who a WebSocket handshake is (PROTOCOL.md §2): the
// user id from `?user=` or `/ws/{user}` (or a fresh guest id), or from the `sub` of an
// HS256 JWT in `?token=`, and the browser Origin check.
//
// It must never upgrade or answer a request itself, and never trust an algorithm the
// token names: only HS256 with the configured secret is accepted. Its verdict is a user
// id or an *Error that the transport turns into an HTTP answer.
//
//	a, err := auth.New(auth.Config{Mode: auth.ModeJWT, Secret: key})
//	user, herr := a.Identify(r) // herr: 400, 401 or 403 with a JSON-ready code and message
package auth
