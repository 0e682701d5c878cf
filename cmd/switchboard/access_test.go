package main

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
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// Integration tests of access control (PROTOCOL.md §8) over real sockets, against the
// whole program as run from the command line.

const testSecret = "access-secret"

func hs256(t *testing.T, key string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// expectNothingThenClose reads the connection's first frame and checks that it is the
// close (code, reason): nothing was sent before it.
func (cl *client) expectNothingThenClose(code websocket.StatusCode, reason string) {
	cl.t.Helper()
	m, err := cl.read()
	if err == nil {
		cl.t.Fatalf("%s: got %v, want nothing before close %d", cl.name, m, code)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
		cl.t.Fatalf("%s: ended with %v, want close %d %q", cl.name, err, code, reason)
	}
}

func (in *instance) dialOK(path string, hdr http.Header) *client {
	in.t.Helper()
	cl, _, err := in.dial(path, hdr)
	if err != nil {
		in.t.Fatalf("dial %s: %v", path, err)
	}
	in.t.Cleanup(func() { cl.c.CloseNow() })
	return cl
}

// With --auth jwt and no token in the handshake, the first message must be auth.
func TestAuthMessage(t *testing.T) {
	for _, transport := range transports() {
		t.Run(transport, func(t *testing.T) {
			in := start(t, "--transport", transport, "--auth", "jwt", "--jwt-secret", testSecret, "--auth-timeout", "400ms")
			good := hs256(t, testSecret, jwt.MapClaims{"sub": "ann", "exp": time.Now().Add(time.Hour).Unix()})

			// A valid auth is answered with connected; messages sent right behind it follow.
			ann := in.dialOK("/ws", nil)
			ann.send(`{"type":"auth","token":"` + good + `"}`)
			ann.send(`{"type":"join","room":"lobby","id":"j1"}`)
			ann.send(`{"type":"chat","room":"lobby","content":"first","id":"c1"}`)
			if m := ann.expect("connected"); m["user_id"] != "ann" {
				t.Fatalf("connected %v", m)
			}
			if m := ann.expect("chat"); m["content"] != "first" || m["sender"] != "ann" {
				t.Fatalf("chat %v", m)
			}
			// auth again on an identified connection: bad_request.
			ann.send(`{"type":"auth","token":"` + good + `","id":"a2"}`)
			if m := ann.expect("error"); m["code"] != "bad_request" || m["id"] != "a2" {
				t.Fatalf("second auth: %v", m)
			}

			// Any other first message, a bad token, or silence: 4001, with nothing before.
			other := in.dialOK("/ws", nil)
			other.send(`{"type":"join","room":"lobby"}`)
			other.expectNothingThenClose(4001, "Unauthorized")

			bad := in.dialOK("/ws", nil)
			bad.send(`{"type":"auth","token":"` + hs256(t, "wrong", jwt.MapClaims{"sub": "eve"}) + `"}`)
			bad.expectNothingThenClose(4001, "Unauthorized")

			expired := in.dialOK("/ws", nil)
			expired.send(`{"type":"auth","token":"` + hs256(t, testSecret, jwt.MapClaims{"sub": "eve", "exp": time.Now().Add(-time.Minute).Unix()}) + `"}`)
			expired.expectNothingThenClose(4001, "Unauthorized")

			garbage := in.dialOK("/ws", nil)
			garbage.send(`not json`)
			garbage.expectNothingThenClose(4001, "Unauthorized")

			silent := in.dialOK("/ws", nil)
			began := time.Now()
			silent.expectNothingThenClose(4001, "Unauthorized")
			if d := time.Since(began); d < 300*time.Millisecond {
				t.Errorf("closed after %v, before --auth-timeout 400ms", d)
			}

			// A bad token in the handshake itself is still HTTP 401 with a JSON body.
			_, resp, err := in.dial("/ws?token=nope", nil)
			if err == nil || resp == nil || resp.StatusCode != 401 {
				t.Fatalf("bad ?token=: %v %v", err, resp)
			}
			var body struct{ Error, Message string }
			json.NewDecoder(resp.Body).Decode(&body)
			if body.Error != "unauthorized" || body.Message == "" {
				t.Fatalf("401 body %+v", body)
			}
		})
	}
}

// Bearer first, then ?token=: the first found decides.
func TestTokenSourcesOverSockets(t *testing.T) {
	in := start(t, "--auth", "jwt", "--jwt-secret", testSecret)
	ann := hs256(t, testSecret, jwt.MapClaims{"sub": "ann"})
	bob := hs256(t, testSecret, jwt.MapClaims{"sub": "bob"})
	cl := in.dialOK("/ws?token="+bob, http.Header{"Authorization": {"Bearer " + ann}})
	if m := cl.expect("connected"); m["user_id"] != "ann" {
		t.Fatalf("Bearer and ?token=: connected as %v", m["user_id"])
	}
	if _, resp, err := in.dial("/ws?token="+ann, http.Header{"Authorization": {"Bearer " + ann + "x"}}); err == nil || resp.StatusCode != 401 {
		t.Fatalf("bad Bearer beside a good ?token=: %v %v", err, resp)
	}
}

func writePEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// --jwt-public-key verifies RS256, ES256 or EdDSA, the algorithm of its key; an HS256
// token (signed with the key file itself, or any secret) is refused.
func TestPublicKeyFlag(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		alg    string
		method jwt.SigningMethod
		key    any
		pub    any
	}{
		{"RS256", jwt.SigningMethodRS256, rsaKey, &rsaKey.PublicKey},
		{"ES256", jwt.SigningMethodES256, ecKey, &ecKey.PublicKey},
		{"EdDSA", jwt.SigningMethodEdDSA, edKey, edPub},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			path := writePEM(t, tc.pub)
			in := start(t, "--auth", "jwt", "--jwt-public-key", path)
			tok, err := jwt.NewWithClaims(tc.method, jwt.MapClaims{"sub": "ann"}).SignedString(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if _, hello := in.connect("/ws?token=" + tok); hello["user_id"] != "ann" {
				t.Fatalf("connected %v", hello)
			}
			// The auth message takes the same keys.
			cl := in.dialOK("/ws", nil)
			cl.send(`{"type":"auth","token":"` + tok + `"}`)
			cl.expect("connected")

			pemBytes, _ := os.ReadFile(path)
			for name, bad := range map[string]string{
				"HS256 with the key file": hs256(t, string(pemBytes), jwt.MapClaims{"sub": "ann"}),
				"HS256 with a secret":     hs256(t, testSecret, jwt.MapClaims{"sub": "ann"}),
			} {
				if _, resp, err := in.dial("/ws?token="+bad, nil); err == nil || resp.StatusCode != 401 {
					t.Errorf("%s: %v %v, want 401", name, err, resp)
				}
			}
		})
	}
}

// --jwks-url verifies by kid against a key set served here.
func TestJWKSFlag(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	}))
	defer jwks.Close()
	in := start(t, "--auth", "jwt", "--jwks-url", jwks.URL)
	sign := func(k *rsa.PrivateKey, kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "ann"})
		tok.Header["kid"] = kid
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cl := in.dialOK("/ws", http.Header{"Authorization": {"Bearer " + sign(key, "k1")}})
	if m := cl.expect("connected"); m["user_id"] != "ann" {
		t.Fatalf("connected %v", m)
	}
	for name, bad := range map[string]string{"unknown kid": sign(key, "k9"), "wrong key": sign(other, "k1")} {
		if _, resp, err := in.dial("/ws?token="+bad, nil); err == nil || resp.StatusCode != 401 {
			t.Errorf("%s: %v %v, want 401", name, err, resp)
		}
	}
}

const accessConfig = `
namespaces:
  "":
    join: public
  team:
    join: grant
    publish: grant
  vault:
    join: none
`

// exp holds for the connection's life: 4002 when it passes, unless refreshed; a
// refresh's grants replace the old, and rooms no longer granted are left.
func TestExpiryAndRefresh(t *testing.T) {
	in := start(t, "--auth", "jwt", "--jwt-secret", testSecret, "--config", writeConfig(t, accessConfig))
	soon := time.Now().Add(2 * time.Second).Unix()
	short := in.dialOK("/ws?token="+hs256(t, testSecret, jwt.MapClaims{"sub": "cat", "exp": soon}), nil)
	short.expect("connected")

	ann := in.dialOK("/ws?token="+hs256(t, testSecret, jwt.MapClaims{"sub": "ann", "exp": soon,
		"rooms": []string{"team:1", "team:2"}, "publish": []string{"team:*"}}), nil)
	ann.expect("connected")
	ann.send(`{"type":"join","room":"team:1","id":"j1"}`)
	ann.expect("user_joined")
	ann.send(`{"type":"join","room":"team:2","id":"j2"}`)
	ann.expect("user_joined")
	ann.send(`{"type":"refresh","token":"garbage","id":"r0"}`)
	if m := ann.expect("error"); m["code"] != "unauthorized" || m["id"] != "r0" {
		t.Fatalf("bad refresh: %v", m)
	}
	ann.send(`{"type":"refresh","id":"r1","token":"` + hs256(t, testSecret, jwt.MapClaims{"sub": "ann",
		"exp": time.Now().Add(time.Hour).Unix(), "rooms": []string{"team:2"}, "publish": []string{"team:2"}}) + `"}`)
	if m := ann.expect("left"); m["room"] != "team:1" || m["reason"] != "grant revoked" {
		t.Fatalf("left %v", m)
	}
	if m := ann.expect("ack"); m["id"] != "r1" {
		t.Fatalf("ack %v", m)
	}
	ann.send(`{"type":"chat","room":"team:1","content":"x","id":"c1"}`)
	if m := ann.expect("error"); m["code"] != "not_member" {
		t.Fatalf("chat in a revoked room: %v", m)
	}

	short.expectClose(4002, "Token expired")
	// ann, refreshed, outlives her first token's exp.
	ann.send(`{"type":"chat","room":"team:2","content":"still here","id":"c2"}`)
	if m := ann.expect("chat"); m["content"] != "still here" {
		t.Fatalf("after the old exp: %v", m)
	}

	// A refresh for another sub closes 4001.
	ann.send(`{"type":"refresh","token":"` + hs256(t, testSecret, jwt.MapClaims{"sub": "mallory"}) + `"}`)
	ann.expectClose(4001, "Unauthorized")
}

// Namespaces from --config, room tokens on join, and server-side membership over the
// admin API.
func TestNamespacesRoomTokensAdmin(t *testing.T) {
	in := start(t, "--auth", "jwt", "--jwt-secret", testSecret, "--config", writeConfig(t, accessConfig))
	ann := in.dialOK("/ws?token="+hs256(t, testSecret, jwt.MapClaims{"sub": "ann"}), nil)
	ann.expect("connected")
	ann.send(`{"type":"join","room":"team:7","id":"j1"}`)
	if m := ann.expect("error"); m["code"] != "forbidden" || m["id"] != "j1" {
		t.Fatalf("join without grant: %v", m)
	}
	ann.send(`{"type":"join","room":"elsewhere:1","id":"j2"}`)
	if m := ann.expect("error"); m["code"] != "forbidden" {
		t.Fatalf("undeclared namespace: %v", m)
	}
	in.expectJSON("GET", "/api/rooms", "", 200, `{"rooms":[],"total":0}`)

	// A room token: the join is verified, the chat behind it waits for it.
	room := func(claims jwt.MapClaims) string { return hs256(t, testSecret, claims) }
	exp := time.Now().Add(time.Hour).Unix()
	ann.send(`{"type":"join","room":"team:7","id":"j3","token":"` + room(jwt.MapClaims{"sub": "ann", "room": "team:7", "exp": exp, "publish": true}) + `"}`)
	ann.send(`{"type":"chat","room":"team:7","content":"in","id":"c1"}`)
	if m := ann.expect("chat"); m["content"] != "in" {
		t.Fatalf("chat after a room token join: %v", m)
	}
	for name, tok := range map[string]string{
		"another user's":  room(jwt.MapClaims{"sub": "bob", "room": "team:8", "exp": exp}),
		"another room's":  room(jwt.MapClaims{"sub": "ann", "room": "team:9", "exp": exp}),
		"one without exp": room(jwt.MapClaims{"sub": "ann", "room": "team:8"}),
	} {
		ann.send(`{"type":"join","room":"team:8","id":"jx","token":"` + tok + `"}`)
		if m := ann.expect("error"); m["code"] != "forbidden" || m["id"] != "jx" {
			t.Fatalf("%s room token: %v", name, m)
		}
	}

	// Server-side membership: join: none is no obstacle to the admin API.
	in.expectJSON("POST", "/api/users/ann/rooms/vault:gold", "", 200, `{"joined":1}`, "Content-Type", "application/json")
	if m := ann.expect("user_joined"); m["room"] != "vault:gold" {
		t.Fatalf("server-side join: %v", m)
	}
	in.expectJSON("POST", "/api/users/nobody/rooms/vault:gold", "", 404, `{"error":"not_found","message":"user is not online"}`, "Content-Type", "application/json")
	in.expectJSON("GET", "/api/rooms/elsewhere:1/members", "", 404, `{"error":"not_found","message":"no namespace declared for this room"}`)
	in.expectJSON("DELETE", "/api/users/ann/rooms/vault:gold", "", 200, `{"left":1}`)
	if m := ann.expect("left"); m["room"] != "vault:gold" || m["reason"] != "removed" {
		t.Fatalf("server-side leave: %v", m)
	}
}
