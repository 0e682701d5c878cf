package auth

import "net/http"

// checkOrigin applies the Origin rule (adapters/origin) to a handshake.
func (a *Authenticator) checkOrigin(r *http.Request) *Error {
	if a.origins.Allows(r) {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Code: "forbidden",
		Message: "origin " + r.Header.Get("Origin") + " is not allowed (see --allowed-origins)"}
}
