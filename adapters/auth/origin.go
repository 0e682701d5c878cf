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

// OriginAllowed reports whether a browser page of r's Origin may use this server (the
// same host, or --allowed-origins), by the rule /ws applies: for CORS on the pages'
// resources, such as the JS client module.
func (a *Authenticator) OriginAllowed(r *http.Request) bool { return a.checkOrigin(r) == nil }
