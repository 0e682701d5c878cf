// Package transporttest owns the integration suite every Switchboard transport must
// pass: a real listener on 127.0.0.1:0, a client library other than ours
// (coder/websocket) and hand-made raw frames for the rules of PROTOCOL.md §5; and, for
// the Server-Sent Events transport (§12), RunSSE: the cases that apply to an event
// stream, with a plain HTTP client (Stream). The fan-out and idle-memory benchmarks
// beside them measure every transport the same way.
//
// It must never reach into a transport's internals: it sees what a client sees (frames,
// close codes, HTTP answers) plus the node's exported counters.
//
//	func TestTransport(t *testing.T) {
//		transporttest.Run(t, func(t *testing.T, n *node.Node) (http.Handler, func()) {
//			tr, err := epoll.New(n)
//			…
//			return tr, func() { tr.Close() }
//		})
//	}
package transporttest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/wsframe/wsframetest"
	"github.com/switchboard-ws/switchboard/core"
)

// Factory builds the transport under test for node n: its WebSocket handler and a
// function that closes it (called after n.Shutdown).
type Factory func(t *testing.T, n *node.Node) (http.Handler, func())

// Server is one node and transport behind a real listener.
type Server struct {
	t    *testing.T
	Node *node.Node
	Addr string // host:port
	http *http.Server
	stop func()
	shut bool
}

// timeout only keeps a broken test from hanging; no assertion depends on it.
const timeout = 15 * time.Second

// Start serves a new node with opts through the transport on 127.0.0.1:0, at /ws and
// /ws/{user}. Cleanup shuts everything down.
func Start(t *testing.T, newTransport Factory, opts node.Options) *Server {
	t.Helper()
	return startAt(t, newTransport, opts, "/ws", "/ws/{user}")
}

// startAt serves the transport at every one of paths.
func startAt(t *testing.T, newTransport Factory, opts node.Options, paths ...string) *Server {
	t.Helper()
	n := node.New(opts)
	h, closeTransport := newTransport(t, n)
	mux := http.NewServeMux()
	for _, p := range paths {
		mux.Handle(p, h)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, Node: n, Addr: ln.Addr().String(), http: &http.Server{Handler: mux}, stop: closeTransport}
	node.ConfigureServer(s.http)
	go s.http.Serve(ln)
	t.Cleanup(s.Close)
	return s
}

// Shutdown shuts the node down (every connection closed 1001).
func (s *Server) Shutdown() {
	if s.shut {
		return
	}
	s.shut = true
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.Node.Shutdown(ctx); err != nil {
		s.t.Errorf("node shutdown: %v", err)
	}
}

// Close shuts down the node, the transport and the listener.
func (s *Server) Close() {
	s.Shutdown()
	s.stop()
	s.http.Close()
}

// URL is the WebSocket URL of path (with its query).
func (s *Server) URL(path string) string { return "ws://" + s.Addr + path }

// Dial connects with coder/websocket, optionally naming subprotocols.
func (s *Server) Dial(path string, subprotocols ...string) *websocket.Conn {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, s.URL(path), &websocket.DialOptions{Subprotocols: subprotocols})
	if err != nil {
		s.t.Fatalf("dial %s: %v", path, err)
	}
	c.SetReadLimit(1 << 24)
	s.t.Cleanup(func() { c.CloseNow() })
	return c
}

// Read reads one message as a JSON object.
func Read(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, p, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("got a %v frame on switchboard.json", typ)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatalf("not JSON: %q", p)
	}
	return m
}

// ReadType reads messages until one of type typ, failing on anything else but the
// presence noise listed in skip.
func ReadType(t *testing.T, c *websocket.Conn, typ string, skip ...string) map[string]any {
	t.Helper()
	for {
		m := Read(t, c)
		if m["type"] == typ {
			return m
		}
		if !contains(skip, m["type"]) {
			t.Fatalf("want %s, got %v", typ, m)
		}
	}
}

func contains(list []string, v any) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// Send writes one JSON text message.
func Send(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// ExpectClose reads until the server closes c and checks the code (and reason, when
// not empty).
func ExpectClose(t *testing.T, c *websocket.Conn, code websocket.StatusCode, reason string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		if ce.Code != code || reason != "" && ce.Reason != reason {
			t.Fatalf("closed %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
		}
		return
	}
}

// Admin runs an admin request on the server's node.
func (s *Server) Admin(req core.AdminRequest) core.AdminReply {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := s.Node.Admin(ctx, req)
	if err != nil {
		s.t.Fatalf("admin: %v", err)
	}
	return r
}

// WaitFor polls cond until it holds (the timeout only keeps a broken test from hanging).
func WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Raw is a hand-driven WebSocket client: it writes any bytes, reads raw frames.
type Raw struct {
	t    *testing.T
	Conn net.Conn
	br   *bufio.Reader
}

// handshake is a minimal, valid client handshake.
func handshake(path string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", path)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// Request sends raw request bytes on a new connection and returns the server's answer
// (its body read into Body).
func (s *Server) Request(raw string) *Answer {
	s.t.Helper()
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		s.t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(timeout))
	if _, err := nc.Write([]byte(raw)); err != nil {
		s.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		s.t.Fatalf("answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &Answer{Response: resp, Body: string(body)}
}

// Answer is an HTTP answer with its body.
type Answer struct {
	*http.Response
	Body string
}

// Handshake is a valid client handshake for path with extra header lines.
func Handshake(path string, extra ...string) string { return handshake(path, extra...) }

// DialRaw connects, sends the handshake of path followed (in the same write) by after,
// and checks the 101 answer. dialer may set socket options (nil: default).
func (s *Server) DialRaw(path string, after []byte, dialer *net.Dialer, headers ...string) *Raw {
	s.t.Helper()
	if dialer == nil {
		dialer = &net.Dialer{}
	}
	nc, err := dialer.Dial("tcp", s.Addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { nc.Close() })
	r := &Raw{t: s.t, Conn: nc, br: bufio.NewReader(nc)}
	nc.SetDeadline(time.Now().Add(timeout))
	if _, err := nc.Write(append([]byte(handshake(path, headers...)), after...)); err != nil {
		s.t.Fatal(err)
	}
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		s.t.Fatalf("handshake answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		s.t.Fatalf("handshake answered %s", resp.Status)
	}
	return r
}

// Write sends raw bytes.
func (r *Raw) Write(b []byte) {
	r.t.Helper()
	if _, err := r.Conn.Write(b); err != nil {
		r.t.Fatalf("raw write: %v", err)
	}
}

// Frame is a frame the server sent.
type Frame struct {
	Op      byte
	Payload []byte
}

// ReadFrame reads one server frame (which must be unmasked and final).
func (r *Raw) ReadFrame() (Frame, error) {
	r.Conn.SetReadDeadline(time.Now().Add(timeout))
	var h [2]byte
	if _, err := ioReadFull(r.br, h[:]); err != nil {
		return Frame{}, err
	}
	if h[1]&0x80 != 0 {
		return Frame{}, errors.New("server frame is masked")
	}
	if h[0]&0x80 == 0 {
		return Frame{}, errors.New("server frame is fragmented")
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := ioReadFull(r.br, ext[:]); err != nil {
			return Frame{}, err
		}
		n = int(ext[0])<<8 | int(ext[1])
	case 127:
		var ext [8]byte
		if _, err := ioReadFull(r.br, ext[:]); err != nil {
			return Frame{}, err
		}
		n = 0
		for _, b := range ext {
			n = n<<8 | int(b)
		}
	}
	p := make([]byte, n)
	if _, err := ioReadFull(r.br, p); err != nil {
		return Frame{}, err
	}
	return Frame{Op: h[0] & 0x0f, Payload: p}, nil
}

// ExpectClose reads frames until a close frame and checks its code and reason (when
// reason is not "-"), then expects the server to end the TCP connection.
func (r *Raw) ExpectClose(code uint16, reason string) {
	r.t.Helper()
	for {
		f, err := r.ReadFrame()
		if err != nil {
			r.t.Fatalf("no close frame: %v", err)
		}
		if f.Op != 0x8 {
			continue
		}
		if len(f.Payload) < 2 {
			r.t.Fatalf("close frame without a code, want %d", code)
		}
		got := uint16(f.Payload[0])<<8 | uint16(f.Payload[1])
		if got != code || reason != "-" && string(f.Payload[2:]) != reason {
			r.t.Fatalf("closed %d %q, want %d %q", got, f.Payload[2:], code, reason)
		}
		// The server ends the connection after its close frame.
		r.Conn.Write(ClientFrame(true, 0x8, f.Payload[:2]))
		if _, err := r.ReadFrame(); err == nil {
			r.t.Fatal("a frame after the close frame")
		}
		return
	}
}

// ReadJSON reads a text frame holding a JSON object.
func (r *Raw) ReadJSON() map[string]any {
	r.t.Helper()
	f, err := r.ReadFrame()
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	if f.Op != 0x1 {
		r.t.Fatalf("want a text frame, got opcode %d %q", f.Op, f.Payload)
	}
	var m map[string]any
	if err := json.Unmarshal(f.Payload, &m); err != nil {
		r.t.Fatalf("not JSON: %q", f.Payload)
	}
	return m
}

// ClientFrame builds a masked client frame.
func ClientFrame(fin bool, op byte, payload []byte) []byte {
	return wsframetest.Client(fin, ws.OpCode(op), payload)
}

func ioReadFull(br *bufio.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := br.Read(p[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
