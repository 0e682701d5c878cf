package client

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// expiry reads a JWT's exp without verifying it (the server verifies; the client only
// needs to know when to refresh). Tokens that are not JWTs, or have no exp, never expire.
func expiry(token string) (time.Time, bool) {
	claims := jwt.RegisteredClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil || claims.ExpiresAt == nil {
		return time.Time{}, false
	}
	return claims.ExpiresAt.Time, true
}
