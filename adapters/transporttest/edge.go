package transporttest

import (
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
)

// The edge of PROTOCOL.md §11, as a client sees it.

// stalledConns is how many connections testStalledHeap holds (client and server ends
// are both in this process: 2 descriptors each, well under the 20,000 allowed).
const stalledConns = 2000

// stalledHeapLimit is the most the server's heap may grow for all of them together.
const stalledHeapLimit = 5 << 20

// heapInuse is this process's heap in use after a full collection (client and server
// share the process: what the clients hold stays the same between two readings).
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// StallFrame is the start of a masked text frame announcing announce payload bytes
// (at most 65,535): its header and the first sent bytes, for a client that stalls there.
func StallFrame(announce, sent int) []byte {
	h := []byte{0x81, 0x80 | 126, 0, 0, 0x12, 0x34, 0x56, 0x78}
	binary.BigEndian.PutUint16(h[2:4], uint16(announce))
	return append(h, make([]byte, sent)...)
}

// testStalledHeap: connections that each announce a near-maximum frame and send only a
// little of it make the server hold what they sent, not what they announced. The
// server's heap (runtime.MemStats.HeapInuse, read in-process) is compared between the
// same connections idle and stalled.
func testStalledHeap(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{Core: core.Config{MaxConns: stalledConns + 10, MaxPerUser: stalledConns},
		MaxMessageBytes: 65536, PingInterval: time.Hour, IdleTimeout: time.Hour, MessageTimeout: time.Hour})
	conns := make([]net.Conn, 0, stalledConns)
	for range stalledConns {
		conns = append(conns, s.DialRaw("/ws?user=stall", nil, nil).Conn)
	}
	WaitFor(t, "every connection attached", func() bool {
		return s.Admin(core.AdminRequest{Op: core.AdminStats}).Stats.TotalConnections == stalledConns
	})
	idle := heapInuse()
	const sent = 100
	stall := StallFrame(65000, sent)
	for _, c := range conns {
		if _, err := c.Write(stall); err != nil {
			t.Fatal(err)
		}
	}
	WaitFor(t, "the server to hold every stalled frame's bytes", func() bool {
		return s.Node.Stats().PartialBytes >= stalledConns*sent
	})
	stalled := heapInuse()
	grown := int64(stalled) - int64(idle)
	t.Logf("%d stalled 65000-byte frames (%d bytes sent of each): heap %d -> %d, %d B per connection; partial-message buffers %d B",
		stalledConns, sent, idle, stalled, grown/stalledConns, s.Node.Stats().PartialBytes)
	if grown > stalledHeapLimit {
		t.Fatalf("the heap grew %d bytes for %d stalled connections (limit %d)", grown, stalledConns, stalledHeapLimit)
	}
	for _, c := range conns {
		c.Close()
	}
	WaitFor(t, "the stalled buffers to be released", func() bool { return s.Node.Stats().PartialBytes == 0 })
}

func testMessageTimeout(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{MessageTimeout: 300 * time.Millisecond, IdleTimeout: time.Minute})
	r := s.DialRaw("/ws?user=u", nil, nil)
	r.ReadJSON()
	frame := ClientFrame(true, 0x1, []byte(`{"type":"ping","id":"slow"}`))
	start := time.Now()
	r.Write(frame[:10])
	r.ExpectClose(1008, "Message timeout")
	if took := time.Since(start); took < 300*time.Millisecond || took > 3*time.Second {
		t.Fatalf("closed after %v, want soon after the 300ms message timeout", took)
	}
	// A message sent in pieces within the timeout is served.
	r = s.DialRaw("/ws?user=v", nil, nil)
	r.ReadJSON()
	r.Write(frame[:10])
	time.Sleep(100 * time.Millisecond)
	r.Write(frame[10:])
	if m := r.ReadJSON(); m["type"] != "pong" {
		t.Fatalf("answer %v", m)
	}
}

// testTrickleIdle: a frame trickled a byte at a time is no activity for the idle
// timeout, and complete frames are.
func testTrickleIdle(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{IdleTimeout: 400 * time.Millisecond, PingInterval: time.Hour, MessageTimeout: time.Minute})
	r := s.DialRaw("/ws?user=u", nil, nil)
	r.ReadJSON()
	frame := ClientFrame(true, 0x1, []byte(`{"type":"chat","room":"r","content":"`+strings.Repeat("x", 200)+`"}`))
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		r.ExpectClose(1001, "Idle timeout")
	}()
	start := time.Now()
	for i := 0; i < len(frame)-1; i++ {
		select {
		case <-closed:
			if took := time.Since(start); took > 3*time.Second {
				t.Fatalf("idle close after %v", took)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		r.Conn.Write(frame[i : i+1])
	}
	t.Fatal("a trickled frame kept the connection open past the idle timeout")
}

func testHeaderLimit(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	big := "X-Filler: " + strings.Repeat("a", 17<<10)
	if a := s.Request(Handshake("/ws?user=u", big)); a.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("17 KiB of headers answered %s", a.Status)
	}
	// Several headers that add up to more than 16 KiB.
	var many []string
	for i := range 9 {
		many = append(many, "X-Part-"+strconv.Itoa(i)+": "+strings.Repeat("b", 2000))
	}
	if a := s.Request(Handshake("/ws?user=u", many...)); a.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("18 KB of headers in all answered %s", a.Status)
	}
	// Under the limit is upgraded.
	r := s.DialRaw("/ws?user=u", nil, nil, "X-Filler: "+strings.Repeat("c", 15<<10))
	if m := r.ReadJSON(); m["type"] != "connected" {
		t.Fatalf("first frame %v", m)
	}
}

func testBadKey(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	for _, key := range []string{
		"short",
		base64.StdEncoding.EncodeToString(make([]byte, 15)),
		base64.StdEncoding.EncodeToString(make([]byte, 17)),
		"!!!!!!!!!!!!!!!!!!!!!!==",
		"",
	} {
		req := strings.Replace(Handshake("/ws?user=u"), "dGhlIHNhbXBsZSBub25jZQ==", key, 1)
		if a := s.Request(req); a.StatusCode != http.StatusBadRequest {
			t.Fatalf("key %q answered %s", key, a.Status)
		}
	}
	if got := s.Admin(core.AdminRequest{Op: core.AdminStats}).Stats.TotalConnections; got != 0 {
		t.Fatalf("%d connections after refused handshakes", got)
	}
}

// testCloseCodes: a client's close code is echoed only when RFC 6455 §7.4 lets a client
// send it; any other closes 1002.
func testCloseCodes(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	for _, tc := range []struct{ sent, want uint16 }{
		{1000, 1000}, {1003, 1003}, {1007, 1007}, {1011, 1011}, {3000, 3000}, {4999, 4999},
		{999, 1002}, {1004, 1002}, {1005, 1002}, {1006, 1002}, {1012, 1002}, {1015, 1002},
		{2999, 1002}, {5000, 1002}, {65535, 1002},
	} {
		r := s.DialRaw("/ws?user=u", nil, nil)
		r.ReadJSON()
		r.Write(ClientFrame(true, 0x8, binary.BigEndian.AppendUint16(nil, tc.sent)))
		fr, err := r.ReadFrame()
		if err != nil || fr.Op != 0x8 || len(fr.Payload) < 2 {
			t.Fatalf("close %d: %v op=%d %x", tc.sent, err, fr.Op, fr.Payload)
		}
		if got := binary.BigEndian.Uint16(fr.Payload); got != tc.want {
			t.Fatalf("client closed %d: server answered %d, want %d", tc.sent, got, tc.want)
		}
	}
}

// testOriginWithOwnIdentify: an application identifying users its own way still gets
// the Origin rule from the transport.
func testOriginWithOwnIdentify(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{
		Identify:       func(*http.Request) (core.Identity, error) { return core.Identity{User: "ann"}, nil },
		AllowedOrigins: []string{"https://*.example.com"},
	})
	for _, tc := range []struct {
		origin string
		status int
	}{
		{"http://evil.example", http.StatusForbidden},
		{"https://example.com.evil.test", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{"http://127.0.0.1", http.StatusSwitchingProtocols}, // the Host the handshake names
		{"https://app.example.com", http.StatusSwitchingProtocols},
	} {
		a := s.Request(Handshake("/ws", "Origin: "+tc.origin))
		if a.StatusCode != tc.status {
			t.Fatalf("Origin %s answered %s, want %d", tc.origin, a.Status, tc.status)
		}
	}
}

// retryAfter checks a 503 refusal of a handshake and returns its Retry-After seconds.
func retryAfter(t *testing.T, a *Answer, what string) int {
	t.Helper()
	if a.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("%s answered %s, want 503", what, a.Status)
	}
	secs, err := strconv.Atoi(a.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("%s: Retry-After %q", what, a.Header.Get("Retry-After"))
	}
	return secs
}

func testMaxConnsPerIP(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{MaxConnsPerIP: 2})
	a := s.DialRaw("/ws?user=a", nil, nil)
	a.ReadJSON()
	b := s.DialRaw("/ws?user=b", nil, nil)
	b.ReadJSON()
	retryAfter(t, s.Request(Handshake("/ws?user=c")), "a third connection from one address")
	// Refused handshakes and plain requests do not hold a place.
	s.Request("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	a.Conn.Close()
	WaitFor(t, "the closed connection to free its place", func() bool { return s.Node.Stats().Live == 1 })
	c := s.DialRaw("/ws?user=c", nil, nil)
	if m := c.ReadJSON(); m["type"] != "connected" {
		t.Fatalf("first frame %v", m)
	}
}

func testAcceptRate(t *testing.T, f Factory) {
	const rate, tries = 5, 20
	s := Start(t, f, node.Options{AcceptRate: rate})
	// Requests that are not handshakes are not counted.
	for range 20 {
		s.Request("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	}
	admitted := 0
	start := time.Now()
	for range tries {
		a := s.Request(Handshake("/ws?user=u"))
		if a.StatusCode == http.StatusSwitchingProtocols {
			admitted++
		} else {
			retryAfter(t, a, "a handshake over the accept rate")
		}
	}
	elapsed := time.Since(start)
	// From a full bucket (one second's worth): 5 at once, then 5 per second.
	if most := rate + int(elapsed.Seconds()*rate) + 1; admitted < rate || admitted > most || admitted == tries {
		t.Fatalf("%d of %d handshakes admitted in %v at %d per second (want %d to %d, some refused)", admitted, tries, elapsed, rate, rate, most)
	}
	time.Sleep(time.Second)
	if a := s.Request(Handshake("/ws?user=later")); a.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("a second later: %s", a.Status)
	}
}

// testDrain: a drain refuses new handshakes with 503 and closes connections 1001 in
// batches at its rate.
func testDrain(t *testing.T, f Factory) {
	const conns, rate = 30, 20
	s := Start(t, f, node.Options{Core: core.Config{MaxPerUser: conns}})
	raws := make([]*Raw, conns)
	for i := range raws {
		raws[i] = s.DialRaw("/ws?user=d", nil, nil)
		raws[i].ReadJSON()
	}
	start := time.Now()
	if n := s.Node.Drain(rate); n != conns {
		t.Fatalf("Drain reported %d connections, want %d", n, conns)
	}
	retryAfter(t, s.Request(Handshake("/ws?user=late")), "a handshake while draining")
	var mu sync.Mutex
	var closedAt []time.Duration
	var wg sync.WaitGroup
	for _, r := range raws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.ExpectClose(1001, "Server shutting down")
			mu.Lock()
			closedAt = append(closedAt, time.Since(start))
			mu.Unlock()
		}()
	}
	wg.Wait()
	select {
	case <-s.Node.Drained():
	case <-time.After(timeout):
		t.Fatal("Drained never closed")
	}
	first, last := closedAt[0], closedAt[0]
	for _, d := range closedAt {
		first, last = min(first, d), max(last, d)
	}
	// 30 at 20 per second in batches every 100 ms: about 1.5 s from first to last.
	if spread := last - first; spread < time.Second {
		t.Fatalf("30 connections closed within %v: not in batches of 20 per second", spread)
	}
	t.Logf("drain: first close after %v, last after %v", first.Round(time.Millisecond), last.Round(time.Millisecond))
}
