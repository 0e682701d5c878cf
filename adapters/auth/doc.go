// Package auth owns the decision of who a WebSocket handshake is and what its token
// grants (PROTOCOL.md §2, §8): the user id from `/ws/{user}` or `?user=` (or a fresh
// guest id) with --auth none; with --auth jwt the `sub` and grants (rooms, publish,
// subs, exp) of a JWT from `Authorization: Bearer`, `?token=`, or, with neither, the
// connection's `auth` first message (ErrAuthMessage tells the node to wait for it); the
// verification of refresh and room tokens; and the browser Origin check.
//
// It must never upgrade or answer a request itself, and never let a token choose how it
// is checked: --jwt-secret verifies HS256 only, --jwt-public-key the one algorithm of its
// key (RS256, ES256 or EdDSA), --jwks-url the key of the token's kid for that key's
// algorithm; alg none never verifies. Its verdict is a core.Identity, or an *Error that
// the transport turns into an HTTP answer. NamedUser is the one rule for clients that
// say who they are without proof, also a node's default when the application gives no
// Identify.
//
//	a, err := auth.New(auth.Config{Mode: auth.ModeJWT, PublicKeyPEM: pem})
//	defer a.Close()
//	id, err := a.Identify(r) // *Error: 400, 401 or 403; ErrAuthMessage: wait for `auth`
package auth
