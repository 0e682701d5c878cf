package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	secret = []byte("correct horse battery staple")
	now    = time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)
)

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func request(target string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest("GET", target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

// viaMux runs Identify behind a ServeMux so /ws/{user} has its path value, as in the binary.
func viaMux(a *Authenticator, r *http.Request) (user string, err *Error) {
	mux := http.NewServeMux()
	h := func(w http.ResponseWriter, r *http.Request) {
		id, e := a.Identify(r)
		user = id.User
		if e != nil {
			var ok bool
			if err, ok = e.(*Error); !ok {
				err = &Error{Code: e.Error()} // ErrAuthMessage: no status
			}
		}
	}
	mux.HandleFunc("/ws", h)
	mux.HandleFunc("/ws/{user}", h)
	mux.ServeHTTP(httptest.NewRecorder(), r)
	return user, err
}

func TestNoneMode(t *testing.T) {
	a, err := New(Config{Mode: ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		target string
		user   string // "guest" means any guest id
		status int
	}{
		{"query user", "/ws?user=ann", "ann", 0},
		{"path user", "/ws/bob", "bob", 0},
		{"path wins over query", "/ws/bob?user=ann", "bob", 0},
		{"all allowed characters", "/ws?user=A.z_0-9@x", "A.z_0-9@x", 0},
		{"64 characters", "/ws?user=" + strings.Repeat("u", 64), strings.Repeat("u", 64), 0},
		{"absent: guest", "/ws", "guest", 0},
		{"empty: guest", "/ws?user=", "guest", 0},
		{"65 characters", "/ws?user=" + strings.Repeat("u", 65), "", 400},
		{"space", "/ws?user=a%20b", "", 400},
		{"slash in query", "/ws?user=a/b", "", 400},
		{"colon", "/ws/a:b", "", 400},
		{"unicode", "/ws?user=%C3%A9", "", 400},
		{"token ignored in none mode", "/ws?user=ann&token=xyz", "ann", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, herr := viaMux(a, request(tt.target, nil))
			if tt.status != 0 {
				if herr == nil || herr.Status != tt.status || herr.Code != "bad_request" || herr.Message == "" {
					t.Fatalf("got user %q err %v, want status %d", user, herr, tt.status)
				}
				return
			}
			if herr != nil {
				t.Fatalf("refused: %v", herr)
			}
			if tt.user == "guest" {
				if !strings.HasPrefix(user, "guest-") || len(user) > 64 {
					t.Fatalf("user %q, want a guest id", user)
				}
				return
			}
			if user != tt.user {
				t.Fatalf("user %q, want %q", user, tt.user)
			}
		})
	}
}

func TestGuestIDsDiffer(t *testing.T) {
	a, _ := New(Config{})
	seen := map[string]bool{}
	for range 100 {
		id, herr := a.Identify(request("/ws", nil))
		u := id.User
		if herr != nil {
			t.Fatal(herr)
		}
		if herr != nil || seen[u] {
			t.Fatalf("guest %q err %v (repeat: %v)", u, herr, seen[u])
		}
		seen[u] = true
	}
}

func TestJWTMode(t *testing.T) {
	a, err := New(Config{Mode: ModeJWT, Secret: secret, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ok := jwt.MapClaims{"sub": "ann", "exp": now.Add(time.Hour).Unix()}
	noneTok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, ok)
	tests := []struct {
		name  string
		token string
		hdr   map[string]string
		user  string // empty: refused 401
	}{
		{"valid HS256", sign(t, jwt.SigningMethodHS256, secret, ok), nil, "ann"},
		{"valid without exp", sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "bob"}), nil, "bob"},
		{"valid in Authorization header", "", map[string]string{"Authorization": "Bearer " + sign(t, jwt.SigningMethodHS256, secret, ok)}, "ann"},
		{"garbage", "not.a.jwt", nil, ""},
		{"wrong key", sign(t, jwt.SigningMethodHS256, []byte("another key"), ok), nil, ""},
		{"alg none", noneTok, nil, ""},
		{"HS512 with the right key", sign(t, jwt.SigningMethodHS512, secret, ok), nil, ""},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, ok), nil, ""},
		{"expired", sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "ann", "exp": now.Add(-time.Second).Unix()}), nil, ""},
		{"not valid yet", sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "ann", "nbf": now.Add(time.Hour).Unix()}), nil, ""},
		{"no sub", sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}), nil, ""},
		{"sub not a user id", sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "ann smith"}), nil, ""},
		{"sub not a string", sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": 42}), nil, ""},
		{"tampered payload", tamper(sign(t, jwt.SigningMethodHS256, secret, ok)), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/ws?user=mallory"
			if tt.token != "" {
				target += "&token=" + tt.token
			}
			user, herr := viaMux(a, request(target, tt.hdr))
			if tt.user != "" {
				if herr != nil || user != tt.user {
					t.Fatalf("got %q %v, want user %q", user, herr, tt.user)
				}
				return
			}
			if herr == nil || herr.Status != 401 || herr.Code != "unauthorized" || herr.Message == "" {
				t.Fatalf("got user %q err %+v, want 401 unauthorized", user, herr)
			}
			if tt.token != "" && strings.Contains(herr.Message, tt.token[len(tt.token)/2:]) {
				t.Errorf("message echoes the token: %q", herr.Message)
			}
		})
	}
}

// tamper swaps the payload for one naming another user, keeping the signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	enc := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"root"}`))
	return parts[0] + "." + enc + "." + parts[2]
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{Mode: ModeJWT}); err == nil {
		t.Error("jwt without a key accepted")
	}
	for _, pem := range []string{"", "not pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"} {
		if _, err := New(Config{Mode: ModeJWT, PublicKeyPEM: []byte(pem + " ")}); err == nil {
			t.Errorf("public key %q accepted", pem)
		}
	}
	if _, err := New(Config{Mode: "basic"}); err == nil {
		t.Error("unknown mode accepted")
	}
	if _, err := ParseMode("jwt"); err != nil {
		t.Error(err)
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct {
		name    string
		allowed string
		host    string
		origin  string
		ok      bool
	}{
		{"no origin", "", "example.com", "", true},
		{"same host", "", "chat.example.com:8080", "http://chat.example.com:8080", true},
		{"same host, case", "", "Chat.Example.com", "https://chat.example.COM", true},
		{"same host, default port in Host", "", "example.com:443", "https://example.com", true},
		{"same host, default port in Origin", "", "example.com", "https://example.com:443", true},
		{"other port", "", "example.com:8080", "http://example.com:9090", false},
		{"other host", "", "example.com", "https://evil.com", false},
		{"suffix trick", "", "example.com", "https://example.com.evil.com", false},
		{"null origin", "", "example.com", "null", false},
		{"null origin allowed explicitly", "null", "example.com", "null", true},
		{"listed exactly", "https://app.example.org", "api.example.com", "https://app.example.org", true},
		{"listed, other scheme", "https://app.example.org", "api.example.com", "http://app.example.org", false},
		{"wildcard subdomain", "https://*.example.org", "api.example.com", "https://a.example.org", true},
		{"wildcard deep subdomain", "https://*.example.org", "api.example.com", "https://a.b.example.org", true},
		{"wildcard needs a subdomain", "https://*.example.org", "api.example.com", "https://example.org", false},
		{"wildcard suffix trick", "https://*.example.org", "api.example.com", "https://example.org.evil.com", false},
		{"wildcard any port", "http://localhost:*", "api.example.com", "http://localhost:3000", true},
		{"host-only pattern", "*.example.org", "api.example.com", "http://x.example.org", true},
		{"list, second matches", "https://a.test, https://b.test", "api.example.com", "https://b.test", true},
		{"star allows all", "*", "api.example.com", "https://anything.test", true},
		{"not in list", "https://a.test,https://b.test", "api.example.com", "https://c.test", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(Config{AllowedOrigins: SplitOrigins(tt.allowed)})
			if err != nil {
				t.Fatal(err)
			}
			hdr := map[string]string{}
			if tt.origin != "" {
				hdr["Origin"] = tt.origin
			}
			r := request("/ws?user=ann", hdr)
			r.Host = tt.host
			id, err := a.Identify(r)
			user := id.User
			herr, _ := err.(*Error)
			if tt.ok {
				if herr != nil || user != "ann" {
					t.Fatalf("refused: %v", herr)
				}
				return
			}
			if herr == nil || herr.Status != 403 || herr.Code != "forbidden" {
				t.Fatalf("got %q %v, want 403", user, herr)
			}
		})
	}
}

// A foreign Origin is refused before the token is even looked at.
func TestOriginBeforeToken(t *testing.T) {
	a, _ := New(Config{Mode: ModeJWT, Secret: secret})
	r := request("/ws", map[string]string{"Origin": "https://evil.com"})
	if _, err := a.Identify(r); err == nil || err.(*Error).Status != 403 {
		t.Fatalf("got %v, want 403", err)
	}
}
