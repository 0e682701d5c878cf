package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/switchboard-ws/switchboard/core"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func pemOf(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

type signer struct {
	method jwt.SigningMethod
	key    any
	pub    any
}

func signers(t *testing.T) map[string]signer {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]signer{
		"RS256": {jwt.SigningMethodRS256, rsaKey, &rsaKey.PublicKey},
		"ES256": {jwt.SigningMethodES256, ecKey, &ecKey.PublicKey},
		"EdDSA": {jwt.SigningMethodEdDSA, edKey, edPub},
	}
}

var fixedNow = func() time.Time { return now }

// Each public key verifies its own algorithm only: not another key's, not HS256 signed
// with the PEM bytes as the secret (algorithm confusion), not alg none.
func TestPublicKeys(t *testing.T) {
	all := signers(t)
	ok := jwt.MapClaims{"sub": "ann", "exp": now.Add(time.Hour).Unix()}
	for name, s := range all {
		t.Run(name, func(t *testing.T) {
			pemBytes := pemOf(t, s.pub)
			a, err := New(Config{Mode: ModeJWT, PublicKeyPEM: pemBytes, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			id, err := a.VerifyConnection(sign(t, s.method, s.key, ok))
			if err != nil || id.User != "ann" || !id.Expires.Equal(now.Add(time.Hour)) {
				t.Fatalf("own algorithm: %+v, %v", id, err)
			}
			refused := map[string]string{
				"HS256 with the PEM as secret": sign(t, jwt.SigningMethodHS256, pemBytes, ok),
				"HS256 with the test secret":   sign(t, jwt.SigningMethodHS256, secret, ok),
				"alg none":                     sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, ok),
			}
			for other, os := range all {
				if other != name {
					refused[other] = sign(t, os.method, os.key, ok)
				}
			}
			for why, tok := range refused {
				if _, err := a.VerifyConnection(tok); err == nil {
					t.Errorf("%s verified", why)
				}
				_, ierr := a.Identify(request("/ws?token="+tok, nil))
				if herr, isErr := ierr.(*Error); !isErr || herr.Status != 401 {
					t.Errorf("%s: handshake got %v, want 401", why, ierr)
				}
			}
		})
	}
}

// The first token found decides: Bearer, then ?token= (empty is none), else the
// handshake is upgraded and the token comes in the auth message.
func TestTokenSources(t *testing.T) {
	a, err := New(Config{Mode: ModeJWT, Secret: secret, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "ann"})
	bob := sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "bob"})
	bad := sign(t, jwt.SigningMethodHS256, []byte("wrong"), jwt.MapClaims{"sub": "eve"})
	tests := []struct {
		name   string
		target string
		auth   string
		user   string
		status int
		later  bool
	}{
		{"bearer", "/ws", "Bearer " + good, "ann", 0, false},
		{"bearer in lower case", "/ws", "bearer " + good, "ann", 0, false},
		{"query", "/ws?token=" + good, "", "ann", 0, false},
		{"bearer wins over query", "/ws?token=" + bob, "Bearer " + good, "ann", 0, false},
		{"bad bearer beside a good query", "/ws?token=" + good, "Bearer " + bad, "", 401, false},
		{"bad query", "/ws?token=" + bad, "", "", 401, false},
		{"empty query is no token", "/ws?token=", "", "", 0, true},
		{"no token at all", "/ws?user=mallory", "", "", 0, true},
		{"basic auth is no token", "/ws", "Basic YTpi", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.auth != "" {
				hdr["Authorization"] = tt.auth
			}
			id, err := a.Identify(request(tt.target, hdr))
			switch {
			case tt.later:
				if !errors.Is(err, ErrAuthMessage) {
					t.Fatalf("got %+v %v, want ErrAuthMessage", id, err)
				}
			case tt.status != 0:
				if herr, ok := err.(*Error); !ok || herr.Status != tt.status {
					t.Fatalf("got %+v %v, want %d", id, err, tt.status)
				}
			default:
				if err != nil || id.User != tt.user {
					t.Fatalf("got %+v %v, want %s", id, err, tt.user)
				}
			}
		})
	}
}

func TestGrantClaims(t *testing.T) {
	a, err := New(Config{Mode: ModeJWT, Secret: secret, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{
		"sub": "ann", "exp": now.Add(time.Hour).Unix(),
		"rooms": []string{"team:42:*"}, "publish": []string{"team:42:dev"}, "subs": []string{"user:ann"},
	})
	id, err := a.VerifyConnection(tok)
	want := core.Identity{User: "ann", Rooms: []string{"team:42:*"}, Publish: []string{"team:42:dev"},
		Subs: []string{"user:ann"}, Expires: now.Add(time.Hour)}
	if err != nil || !cmp.Equal(id, want) {
		t.Fatalf("got %+v %v, want %+v", id, err, want)
	}
	if _, err := a.VerifyConnection(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "ann", "publish": true})); err == nil {
		t.Error("connection token with publish: true accepted")
	}
}

// A room token needs exp; publish: true grants publishing in its room.
func TestRoomTokens(t *testing.T) {
	a, err := New(Config{Mode: ModeJWT, Secret: secret, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	exp := now.Add(10 * time.Minute)
	tests := []struct {
		name   string
		claims jwt.MapClaims
		want   *core.Identity // nil: refused
	}{
		{"publish", jwt.MapClaims{"sub": "ann", "room": "team:1", "exp": exp.Unix(), "publish": true},
			&core.Identity{User: "ann", Rooms: []string{"team:1"}, Publish: []string{"team:1"}, Expires: exp}},
		{"read only", jwt.MapClaims{"sub": "ann", "room": "team:1", "exp": exp.Unix()},
			&core.Identity{User: "ann", Rooms: []string{"team:1"}, Expires: exp}},
		{"no exp", jwt.MapClaims{"sub": "ann", "room": "team:1"}, nil},
		{"expired", jwt.MapClaims{"sub": "ann", "room": "team:1", "exp": now.Add(-time.Second).Unix()}, nil},
		{"no room", jwt.MapClaims{"sub": "ann", "exp": exp.Unix()}, nil},
		{"publish not a boolean", jwt.MapClaims{"sub": "ann", "room": "team:1", "exp": exp.Unix(), "publish": []string{"team:1"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.VerifyRoom(sign(t, jwt.SigningMethodHS256, secret, tt.claims))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("accepted: %+v", id)
				}
				return
			}
			if err != nil || !cmp.Equal(id, *tt.want) {
				t.Fatalf("got %+v %v, want %+v", id, err, *tt.want)
			}
		})
	}
	none, _ := New(Config{})
	if _, err := none.VerifyRoom("x.y.z"); err == nil {
		t.Error("--auth none verified a room token")
	}
}

// jwksServer serves a JWK Set of RSA keys by kid, counting fetches; rotate swaps keys.
type jwksServer struct {
	*httptest.Server
	keys    atomic.Pointer[map[string]*rsa.PublicKey]
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, keys map[string]*rsa.PublicKey) *jwksServer {
	s := &jwksServer{}
	s.keys.Store(&keys)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		type jwk struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Alg string `json:"alg"`
			Use string `json:"use"`
			N   string `json:"n"`
			E   string `json:"e"`
		}
		var set struct {
			Keys []jwk `json:"keys"`
		}
		for kid, k := range *s.keys.Load() {
			set.Keys = append(set.Keys, jwk{Kty: "RSA", Kid: kid, Alg: "RS256", Use: "sig",
				N: base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(s.Close)
	return s
}

func signKID(t *testing.T, key *rsa.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A JWKS verifies by kid with keys fetched at start; an unknown kid refetches, at most
// once a minute.
func TestJWKS(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	k3, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv := newJWKSServer(t, map[string]*rsa.PublicKey{"k1": &k1.PublicKey})
	a, err := New(Config{Mode: ModeJWT, JWKSURL: srv.URL, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches at start, want 1", n)
	}
	claims := jwt.MapClaims{"sub": "ann"}
	if id, err := a.VerifyConnection(signKID(t, k1, "k1", claims)); err != nil || id.User != "ann" {
		t.Fatalf("k1: %+v %v", id, err)
	}
	if _, err := a.VerifyConnection(signKID(t, k2, "k1", claims)); err == nil {
		t.Error("another key under kid k1 verified")
	}
	if _, err := a.VerifyConnection(sign(t, jwt.SigningMethodHS256, secret, claims)); err == nil {
		t.Error("HS256 verified by a JWKS")
	}
	// The key set rotates: k2 is unknown, so the JWKS is fetched again.
	srv.keys.Store(&map[string]*rsa.PublicKey{"k1": &k1.PublicKey, "k2": &k2.PublicKey})
	if id, err := a.VerifyConnection(signKID(t, k2, "k2", claims)); err != nil || id.User != "ann" {
		t.Fatalf("k2 after rotation: %+v %v", id, err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after an unknown kid, want 2", n)
	}
	// Within the minute, another unknown kid does not fetch again: refused.
	srv.keys.Store(&map[string]*rsa.PublicKey{"k3": &k3.PublicKey})
	if _, err := a.VerifyConnection(signKID(t, k3, "k3", claims)); err == nil {
		t.Error("k3 verified without a refetch")
	}
	if _, err := a.VerifyConnection(signKID(t, k3, "k4", claims)); err == nil {
		t.Error("unknown kid k4 verified")
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2: unknown kids refetch at most once a minute", n)
	}
}

// --jwks-refresh fetches the key set again on its own.
func TestJWKSRefresh(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv := newJWKSServer(t, map[string]*rsa.PublicKey{"k1": &k1.PublicKey})
	a, err := New(Config{Mode: ModeJWT, JWKSURL: srv.URL, JWKSRefresh: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for srv.fetches.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d fetches in 5s with a 50ms refresh", srv.fetches.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
