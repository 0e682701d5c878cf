package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Mode is how users prove who they are.
type Mode string

const (
	ModeNone Mode = "none" // the user id the client names (or a guest id)
	ModeJWT  Mode = "jwt"  // the `sub` of an HS256 token signed with Config.Secret
)

// ParseMode returns the Mode named s.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeNone, ModeJWT:
		return m, nil
	}
	return "", fmt.Errorf("unknown auth mode %q (want none or jwt)", s)
}

// Config says how to identify handshakes.
type Config struct {
	Mode   Mode
	Secret []byte // HS256 key; required for ModeJWT
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

// Authenticator identifies handshakes; it is safe for concurrent use.
type Authenticator struct {
	mode    Mode
	secret  []byte
	origins []string
	now     func() time.Time
	parser  *jwt.Parser
}

// New checks cfg and returns its Authenticator.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Mode == "" {
		cfg.Mode = ModeNone
	}
	if _, err := ParseMode(string(cfg.Mode)); err != nil {
		return nil, err
	}
	if cfg.Mode == ModeJWT && len(cfg.Secret) == 0 {
		return nil, errors.New("auth jwt needs a secret (--jwt-secret)")
	}
	a := &Authenticator{mode: cfg.Mode, secret: cfg.Secret, now: cfg.Now}
	if a.now == nil {
		a.now = time.Now
	}
	for _, p := range cfg.AllowedOrigins {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		a.origins = append(a.origins, p)
	}
	// WithValidMethods refuses every other algorithm, "none" included, before the key
	// is ever consulted: a token cannot choose how it is checked.
	a.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(func() time.Time { return a.now() }),
	)
	return a, nil
}

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

// Identify returns who handshake r is, or why it is refused: 403 for a foreign Origin,
// 401 for a missing or bad token, 400 for an invalid user id.
func (a *Authenticator) Identify(r *http.Request) (core.Identity, *Error) {
	if err := a.checkOrigin(r); err != nil {
		return core.Identity{}, err
	}
	if a.mode == ModeJWT {
		user, err := a.identifyJWT(r)
		return core.Identity{User: user}, err
	}
	return NamedUser(r)
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

func (a *Authenticator) identifyJWT(r *http.Request) (string, *Error) {
	raw := r.URL.Query().Get("token")
	if raw == "" {
		// Non-browser clients may prefer a header; browsers cannot set one on a WebSocket.
		raw, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if raw == "" {
		return "", unauthorized("a token is required (?token=JWT)")
	}
	var claims jwt.RegisteredClaims
	_, err := a.parser.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return a.secret, nil })
	if err != nil {
		return "", unauthorized("invalid token: " + reason(err))
	}
	if claims.Subject == "" {
		return "", unauthorized("the token has no sub")
	}
	if !proto.ValidUser([]byte(claims.Subject)) {
		return "", unauthorized("the token's sub is not a valid user id (1–64 characters of A-Z a-z 0-9 _ . @ -)")
	}
	return claims.Subject, nil
}

// reason names a token failure without echoing the token.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrSignatureInvalid):
		return "signing method not accepted (HS256 only)"
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
