package nethttp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
)

// FuzzHandshake sends whole requests — any bytes — to a real server (node, this
// transport, an http.Server configured by node.ConfigureServer) and checks what comes
// back and what is left (PROTOCOL.md §2, §11): the answer is HTTP or nothing, never a 500;
// a 101 only for a request that parses, with at most 16 KiB of headers, a
// Sec-WebSocket-Key that is the base64 of 16 bytes and the matching Accept, followed by
// the connected frame (or a close, when the bytes after the handshake broke a rule); and
// once the client is gone, the node holds no connection and no partial-message buffer.
func FuzzHandshake(f *testing.F) {
	valid := "GET /ws?user=ann HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	for _, seed := range []string{
		valid + "\r\n",
		valid + "Sec-WebSocket-Protocol: switchboard.msgpack\r\n\r\n",
		valid + "Origin: http://evil.example\r\n\r\n",
		valid + "Origin: http://127.0.0.1\r\n\r\n" + "\x81\x80\x01\x02\x03\x04",
		strings.Replace(valid, "dGhlIHNhbXBsZSBub25jZQ==", "AAAAAAAAAAAAAAAAAAAAAA", 1) + "\r\n",
		strings.Replace(valid, "dGhlIHNhbXBsZSBub25jZQ==", "!!!!!!!!!!!!!!!!!!!!!!==", 1) + "\r\n",
		strings.Replace(valid, "user=ann", "user=bad%20name", 1) + "\r\n",
		valid + "X-Filler: " + strings.Repeat("a", 17<<10) + "\r\n\r\n",
		valid + "\r\n" + "\x88\x82\x00\x00\x00\x00\x13\x88", // then a close 5000
		"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"GET /ws HTTP/1.0\r\n\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
	} {
		f.Add([]byte(seed))
	}
	n := node.New(node.Options{Core: core.Config{MaxConns: 1000, MaxPerUser: 1000}, HandshakeTimeout: time.Second})
	mux := http.NewServeMux()
	mux.Handle("/ws", New(n))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	node.ConfigureServer(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go srv.Serve(ln)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
		srv.Shutdown(ctx) // waits for the connections net/http is still closing
	})
	f.Fuzz(func(t *testing.T, req []byte) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(req)
		if _, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(req))); err != nil {
			c.(*net.TCPConn).CloseWrite() // no whole request: what came is all there is
		}
		func() {
			defer c.Close()
			checkAnswer(t, req, bufio.NewReader(c))
		}()
		deadline := time.Now().Add(5 * time.Second)
		for st := n.Stats(); st.Live != 0 || st.PartialBytes != 0; st = n.Stats() {
			if time.Now().After(deadline) {
				t.Fatalf("after the client left: %+v", st)
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// checkAnswer holds the server's answer to req, read from br, to the rules of
// FuzzHandshake.
func checkAnswer(t *testing.T, req []byte, br *bufio.Reader) {
	t.Helper()
	if _, err := br.Peek(1); err == io.EOF {
		return // the server closed without a word: the request never completed
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("answer is not HTTP: %v (request %q)", err, req)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		io.Copy(io.Discard, resp.Body)
	}
	// net/http's own refusals (400, 431, 505 for a version it does not speak) are fine;
	// an internal error never is, and a 503 says when to come back.
	if resp.StatusCode == http.StatusInternalServerError || resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%s for %q", resp.Status, req)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return
	}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(req)))
	if err != nil {
		t.Fatalf("upgraded a request that does not parse (%v): %q", err, req)
	}
	if headerEnd(req) > node.MaxHandshakeHeaderBytes {
		t.Fatalf("upgraded with %d bytes of headers", headerEnd(req))
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 16 {
		t.Fatalf("upgraded with Sec-WebSocket-Key %q", key)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("Accept %q for key %q", got, key)
	}
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		t.Fatalf("no frame after the 101: %v", err)
	}
	if op := hdr[0] & 0x0f; op != 0x1 && op != 0x2 && op != 0x8 {
		t.Fatalf("first frame has opcode %d, want connected (text or binary) or a close", op)
	}
}

// headerEnd is the length of req up to the blank line that ends its headers.
func headerEnd(req []byte) int {
	if i := bytes.Index(req, []byte("\r\n\r\n")); i >= 0 {
		return i + 4
	}
	return len(req)
}
