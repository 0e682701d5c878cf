package auth

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// jwksAlgs are the algorithms a JWKS key may verify (asymmetric only: a shared secret
// has no business in a published key set); each key still verifies only its own.
var jwksAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// unknownKIDEvery is how often an unknown kid may make the JWKS be fetched again.
const unknownKIDEvery = time.Minute

// keys verifies tokens: each configured key answers only for its own algorithm, and
// the parser refuses every other algorithm (none included) before a key is consulted,
// so a token cannot choose how it is checked.
type keys struct {
	secret []byte
	public any    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	pubAlg string // the one algorithm public verifies
	jwks   keyfunc.Keyfunc
	conn   *jwt.Parser // connection tokens: exp optional
	room   *jwt.Parser // room tokens: exp required
}

func newKeys(ctx context.Context, cfg *Config, now func() time.Time) (*keys, error) {
	k := &keys{secret: cfg.Secret}
	var algs []string
	if len(k.secret) > 0 {
		algs = append(algs, jwt.SigningMethodHS256.Alg())
	}
	if len(cfg.PublicKeyPEM) > 0 {
		pub, alg, err := parsePublicKey(cfg.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		k.public, k.pubAlg = pub, alg
		algs = append(algs, alg)
	}
	if cfg.JWKSURL != "" {
		client := cfg.HTTPClient
		if client == nil {
			client = http.DefaultClient
		}
		jwks, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			Client:            client,
			RefreshInterval:   cmp.Or(cfg.JWKSRefresh, DefaultJWKSRefresh),
			RefreshUnknownKID: rate.NewLimiter(rate.Every(unknownKIDEvery), 1),
			RateLimitWaitMax:  time.Second, // over the limit (next refetch further than this): refused at once
			HTTPTimeout:       10 * time.Second,
			RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
				return func(context.Context, error) {} // a failed refresh keeps the keys held
			},
		})
		if err != nil {
			return nil, fmt.Errorf("--jwks-url: %w", err)
		}
		k.jwks = jwks
		algs = append(algs, jwksAlgs...)
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(algs), jwt.WithTimeFunc(now)}
	k.conn = jwt.NewParser(opts...)
	k.room = jwt.NewParser(append(opts, jwt.WithExpirationRequired())...)
	return k, nil
}

// parsePublicKey reads a PEM public key (PKIX, or PKCS#1 for RSA) and names the one
// algorithm it verifies.
func parsePublicKey(data []byte) (any, string, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, "", errors.New("--jwt-public-key: no PEM block found")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		rsaKey, err2 := x509.ParsePKCS1PublicKey(block.Bytes)
		if err2 != nil {
			return nil, "", fmt.Errorf("--jwt-public-key: not a public key: %v", err)
		}
		pub = rsaKey
	}
	switch key := pub.(type) {
	case *rsa.PublicKey:
		return key, jwt.SigningMethodRS256.Alg(), nil
	case *ecdsa.PublicKey:
		if key.Curve != elliptic.P256() {
			return nil, "", errors.New("--jwt-public-key: an EC key must be on P-256 (ES256)")
		}
		return key, jwt.SigningMethodES256.Alg(), nil
	case ed25519.PublicKey:
		return key, jwt.SigningMethodEdDSA.Alg(), nil
	}
	return nil, "", fmt.Errorf("--jwt-public-key: unsupported key type %T (want RSA, EC P-256 or Ed25519)", pub)
}

// key is the jwt.Keyfunc: the key configured for the token's algorithm.
func (k *keys) key(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	switch {
	case alg == jwt.SigningMethodHS256.Alg() && len(k.secret) > 0:
		return k.secret, nil
	case k.public != nil && alg == k.pubAlg:
		return k.public, nil
	case k.jwks != nil && alg != jwt.SigningMethodHS256.Alg():
		return k.jwks.Keyfunc(t)
	}
	return nil, jwt.ErrTokenUnverifiable
}

// claims are what Switchboard reads of a token (PROTOCOL.md §8.1): `publish` is a list
// of patterns in a connection token and a boolean in a room token.
type claims struct {
	jwt.RegisteredClaims
	Rooms   []string        `json:"rooms"`
	Subs    []string        `json:"subs"`
	Publish json.RawMessage `json:"publish"`
	Room    string          `json:"room"`
}

// TokenError is a token that does not verify; its text never echoes the token.
type TokenError struct{ Reason string }

func (e *TokenError) Error() string { return "invalid token: " + e.Reason }

func (a *Authenticator) parse(p func(*keys) *jwt.Parser, raw string) (*claims, error) {
	if a.keys == nil {
		return nil, &TokenError{"this server takes no tokens (--auth none)"}
	}
	var c claims
	if _, err := p(a.keys).ParseWithClaims(raw, &c, a.keys.key); err != nil {
		return nil, &TokenError{reason(err)}
	}
	if c.Subject == "" {
		return nil, &TokenError{"the token has no sub"}
	}
	if !proto.ValidUser([]byte(c.Subject)) {
		return nil, &TokenError{"the token's sub is not a valid user id (1–64 characters of A-Z a-z 0-9 _ . @ -)"}
	}
	return &c, nil
}

// VerifyConnection verifies a connection token (handshake, auth message, refresh) and
// returns its identity: user = sub, grants from rooms, publish and subs, Expires = exp.
func (a *Authenticator) VerifyConnection(raw string) (core.Identity, error) {
	c, err := a.parse(func(k *keys) *jwt.Parser { return k.conn }, raw)
	if err != nil {
		return core.Identity{}, err
	}
	id := core.Identity{User: c.Subject, Rooms: c.Rooms, Subs: c.Subs}
	if len(c.Publish) > 0 && string(c.Publish) != "null" {
		if err := json.Unmarshal(c.Publish, &id.Publish); err != nil {
			return core.Identity{}, &TokenError{"publish must be a list of room patterns"}
		}
	}
	if c.ExpiresAt != nil {
		id.Expires = c.ExpiresAt.Time
	}
	return id, nil
}

// VerifyRoom verifies a room token (a join's `token`, PROTOCOL.md §8.1) and returns it
// as core.Answer wants it: User = sub, Rooms = [room], Publish = [room] when it says
// publish: true, Expires = exp (required). The core checks the user and the room.
func (a *Authenticator) VerifyRoom(raw string) (core.Identity, error) {
	c, err := a.parse(func(k *keys) *jwt.Parser { return k.room }, raw)
	if err != nil {
		return core.Identity{}, err
	}
	if !proto.ValidRoom([]byte(c.Room)) {
		return core.Identity{}, &TokenError{"a room token needs a valid room"}
	}
	id := core.Identity{User: c.Subject, Rooms: []string{c.Room}, Expires: c.ExpiresAt.Time}
	var publish bool
	if len(c.Publish) > 0 && string(c.Publish) != "null" {
		if err := json.Unmarshal(c.Publish, &publish); err != nil {
			return core.Identity{}, &TokenError{"publish must be true or false in a room token"}
		}
	}
	if publish {
		id.Publish = []string{c.Room}
	}
	return id, nil
}
