package sse

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"

	"github.com/switchboard-ws/switchboard/core"
)

// A session names one stream: the node holding it, its connection id and a random
// nonce (so that a connection id a restarted node hands out again is not the old
// stream), signed with the key of the nodes that verify it.
//
//	base64url(node id, 0x00, conn id (8 bytes), nonce (8 bytes)) "." base64url(HMAC-SHA256[:16])
type session struct {
	node  string
	conn  core.ConnID
	nonce uint64
}

const macBytes = 16

var errMalformed = errors.New("sse: malformed session")

var b64 = base64.RawURLEncoding

// sign returns the session string for s under key.
func (s session) sign(key []byte) string {
	body := s.body()
	return b64.EncodeToString(body) + "." + b64.EncodeToString(mac(key, body))
}

func (s session) body() []byte {
	b := make([]byte, 0, len(s.node)+17)
	b = append(b, s.node...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(s.conn))
	return binary.BigEndian.AppendUint64(b, s.nonce)
}

func mac(key, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(body)
	return h.Sum(nil)[:macBytes]
}

// parseSession reads a session string without verifying it (which node to ask).
func parseSession(str string) (session, []byte, []byte, error) {
	bodyPart, macPart, ok := strings.Cut(str, ".")
	if !ok {
		return session{}, nil, nil, errMalformed
	}
	body, err1 := b64.DecodeString(bodyPart)
	sum, err2 := b64.DecodeString(macPart)
	if err1 != nil || err2 != nil || len(sum) != macBytes || len(body) < 17 {
		return session{}, nil, nil, errMalformed
	}
	i := len(body) - 17
	if body[i] != 0 {
		return session{}, nil, nil, errMalformed
	}
	return session{
		node:  string(body[:i]),
		conn:  core.ConnID(binary.BigEndian.Uint64(body[i+1:])),
		nonce: binary.BigEndian.Uint64(body[i+9:]),
	}, body, sum, nil
}

// verify reports whether sum is key's signature of body.
func verify(key, body, sum []byte) bool { return hmac.Equal(mac(key, body), sum) }

// randomKey is a per-process session key.
func randomKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func randomNonce() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}
