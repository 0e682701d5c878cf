package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-ws/switchboard/adapters/origin"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Mode is how users prove who they are.
type Mode string

const (
	ModeNone Mode = "none" // the user id the client names (or a guest id)
	ModeJWT  Mode = "jwt"  // the `sub` of a JWT verified with the configured keys
)

// ParseMode returns the Mode named s.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeNone, ModeJWT:
		return m, nil
	}
	return "", fmt.Errorf("unknown auth mode %q (want none or jwt)", s)
}

// Config says how to identify handshakes and verify tokens. ModeJWT needs at least one
// key: Secret, PublicKeyPEM or JWKSURL (each verifies only its own algorithms).
type Config struct {
	Mode   Mode
	Secret []byte // HS256 key
	// PublicKeyPEM is a PEM public key (RSA, EC P-256 or Ed25519) verifying RS256, ES256
	// or EdDSA, the algorithm matching the key.
	PublicKeyPEM []byte
	// JWKSURL is a JWK Set verifying tokens by kid: fetched at New, every JWKSRefresh
	// (DefaultJWKSRefresh when 0), and on an unknown kid at most once a minute.
	JWKSURL     string
	JWKSRefresh time.Duration
	HTTPClient  *http.Client // for the JWKS; nil: http.DefaultClient
	// AllowedOrigins are Origin patterns accepted besides the request's own host, e.g.
	// "https://*.example.com"; `*` matches any run of characters, "*" alone any origin.
	AllowedOrigins []string
	Now            func() time.Time // the clock for `exp`; nil means time.Now
}

// Error is a refused handshake: the HTTP status and the JSON body's code and message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// DefaultJWKSRefresh is how often a JWKS is fetched again (PROTOCOL.md §8.2).
const DefaultJWKSRefresh = time.Hour

// ErrAuthMessage is Identify's answer to a --auth jwt handshake that carries no token:
// upgrade it, and take the token from its first message, `auth` (PROTOCOL.md §8.2).
var ErrAuthMessage = errors.New("auth: no token in the handshake: the first message must be auth")

// Authenticator identifies handshakes and verifies tokens; it is safe for concurrent
// use. Close stops its JWKS refreshes.
type Authenticator struct {
	mode    Mode
	origins *origin.Policy
	now     func() time.Time
	keys    *keys
	cancel  context.CancelFunc
}

// New checks cfg and returns its Authenticator (fetching the JWKS once, when set).
func New(cfg Config) (*Authenticator, error) {
	if cfg.Mode == "" {
		cfg.Mode = ModeNone
	}
	if _, err := ParseMode(string(cfg.Mode)); err != nil {
		return nil, err
	}
	a := &Authenticator{mode: cfg.Mode, now: cfg.Now, cancel: func() {}}
	if a.now == nil {
		a.now = time.Now
	}
	a.origins = origin.New(cfg.AllowedOrigins)
	if cfg.Mode == ModeJWT {
		if len(cfg.Secret) == 0 && len(cfg.PublicKeyPEM) == 0 && cfg.JWKSURL == "" {
			return nil, errors.New("auth jwt needs a key (--jwt-secret, --jwt-public-key or --jwks-url)")
		}
		ctx, cancel := context.WithCancel(context.Background())
		k, err := newKeys(ctx, &cfg, func() time.Time { return a.now() })
		if err != nil {
			cancel()
			return nil, err
		}
		a.keys, a.cancel = k, cancel
	}
	return a, nil
}

// Close stops the JWKS refreshes (a no-op without a JWKS).
func (a *Authenticator) Close() { a.cancel() }

// SplitOrigins splits a comma-separated --allowed-origins value.
func SplitOrigins(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Identify returns who handshake r is, or why it is refused: a *Error (403 for a
// foreign Origin, 401 for a bad token, 400 for an invalid user id), or ErrAuthMessage
// when --auth jwt finds no token in the handshake. Tokens come from, first found wins,
// `Authorization: Bearer T`, then `?token=T` (an empty value is none): a bad Bearer
// token is 401 even beside a good ?token=.
func (a *Authenticator) Identify(r *http.Request) (core.Identity, error) {
	if err := a.checkOrigin(r); err != nil {
		return core.Identity{}, err
	}
	if a.mode != ModeJWT {
		id, err := NamedUser(r)
		if err != nil {
			return core.Identity{}, err
		}
		return id, nil
	}
	raw := bearer(r.Header.Get("Authorization"))
	if raw == "" {
		raw = r.URL.Query().Get("token")
	}
	if raw == "" {
		return core.Identity{}, ErrAuthMessage
	}
	id, err := a.VerifyConnection(raw)
	if err != nil {
		return core.Identity{}, unauthorized(err.Error())
	}
	return id, nil
}

// bearer returns the token of an `Authorization: Bearer T` header value ("" for none or
// another scheme); the scheme's name is case-insensitive (RFC 9110 §11.1).
func bearer(header string) string {
	const scheme = "bearer "
	if len(header) < len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return ""
	}
	return strings.TrimSpace(header[len(scheme):])
}

// NamedUser is the identity of a client that says who it is, with no proof (--auth
// none, and a node with no Identify of its own): the {user} path value (/ws/ann), else
// ?user=, else a fresh guest-<hex> id, random so that nodes of a cluster never hand out
// the same one. An invalid id is refused 400.
func NamedUser(r *http.Request) (core.Identity, *Error) {
	user := r.PathValue("user")
	if user == "" {
		user = r.URL.Query().Get("user")
	}
	if user == "" {
		return core.Identity{User: guestID()}, nil
	}
	if !proto.ValidUser([]byte(user)) {
		return core.Identity{}, &Error{Status: http.StatusBadRequest, Code: "bad_request",
			Message: "user must be 1–64 characters of A-Z a-z 0-9 _ . @ -"}
	}
	return core.Identity{User: user}, nil
}

// reason names a token failure without echoing the token.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim is missing"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrSignatureInvalid):
		return "signing method or key not accepted"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	}
	return "rejected"
}

func unauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: msg}
}

// guestID is a fresh "guest-" id for a client that named no user.
func guestID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "guest-" + hex.EncodeToString(b[:])
}
