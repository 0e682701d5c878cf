package transporttest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
)

// sseChatCounter counts the chat events in an event stream, however it is split,
// without allocating (the pattern's first byte occurs nowhere else in it, so a mismatch
// restarts the match).
type sseChatCounter struct {
	matched int
	chats   atomic.Int64
}

var sseChatPattern = []byte(`data: {"type":"chat"`)

func (c *sseChatCounter) feed(p []byte) {
	for _, b := range p {
		switch {
		case b == sseChatPattern[c.matched]:
			c.matched++
			if c.matched == len(sseChatPattern) {
				c.chats.Add(1)
				c.matched = 0
			}
		case b == sseChatPattern[0]:
			c.matched = 1
		default:
			c.matched = 0
		}
	}
}

// sseSession opens GET /sse?user=user by hand and returns the socket, its reader and
// the session of its connected event. It asks in HTTP/1.0, so that the stream comes
// unchunked (ended by the close) and its bytes are the events alone.
func sseSession(tb testing.TB, addr, user string) (net.Conn, *bufio.Reader, string) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	nc.Write([]byte("GET /sse?user=" + user + " HTTP/1.0\r\nHost: x\r\n\r\n"))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /sse: %v", err)
	}
	// Read up to the session from the raw bytes: br keeps everything after it unread.
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			tb.Fatalf("stream: %v", err)
		}
		if _, rest, ok := strings.Cut(line, `"session":"`); ok {
			session, _, _ := strings.Cut(rest, `"`)
			return nc, br, session
		}
	}
}

// BenchFanoutSSE is BenchFanout with event streams as the members: a WebSocket sender
// (served by newWS) chats into a room of 10, 100 and 1000 SSE streams (served by
// newSSE), each joined by a POST. ns/delivery is comparable with BenchFanout's.
func BenchFanoutSSE(b *testing.B, newSSE, newWS func(testing.TB, *node.Node) (http.Handler, func())) {
	for _, members := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(members), func(b *testing.B) { benchFanoutSSE(b, newSSE, newWS, members) })
	}
}

func benchFanoutSSE(b *testing.B, newSSE, newWS func(testing.TB, *node.Node) (http.Handler, func()), members int) {
	n := node.New(node.Options{SendQueueBytes: 64 << 20, PingInterval: -1, IdleTimeout: -1})
	sseH, closeSSE := newSSE(b, n)
	wsH, closeWS := newWS(b, n)
	mux := http.NewServeMux()
	mux.Handle("/ws", wsH)
	mux.Handle("/sse", sseH)
	mux.Handle("/sse/send", sseH)
	addr, stop := serveBench(b, n, mux, func() { closeSSE(); closeWS() })
	defer stop()

	client := &http.Client{}
	defer client.CloseIdleConnections()
	counters := make([]*atomic.Int64, members)
	var wg sync.WaitGroup
	var conns []net.Conn
	for i := range members {
		nc, br, session := sseSession(b, addr, fmt.Sprintf("m%d", i))
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/sse/send", strings.NewReader(`{"type":"join","room":"bench"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(SessionHeader, session)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatalf("join: %v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		conns = append(conns, nc)
		cc := &sseChatCounter{}
		counters[i] = &cc.chats
		wg.Add(1)
		go readAll(&wg, nc, br, cc.feed)
	}
	measureFanout(b, addr, counters, FanoutRate{})
	closeAll(conns, &wg)
}

// BenchIdle measures what an idle connection costs: conns connections opened by hand
// (GET path?user=…, its answer and first event or frame read, then only the socket
// kept), and the growth of the process's heap and stacks in use after a GC, per
// connection. The client's bare sockets are in that figure too, the same for every
// transport. Run it with -benchtime=1x.
func BenchIdle(b *testing.B, newTransport func(testing.TB, *node.Node) (http.Handler, func()), path string, websocket bool, conns int) {
	n := node.New(node.Options{PingInterval: -1, IdleTimeout: -1})
	h, closeTransport := newTransport(b, n)
	mux := http.NewServeMux()
	mux.Handle(path, h)
	addr, stop := serveBench(b, n, mux, closeTransport)
	defer stop()
	inUse := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse + ms.StackInuse
	}
	before := inUse()
	held := make([]net.Conn, 0, conns)
	for i := range conns {
		user := "idle" + strconv.Itoa(i)
		var nc net.Conn
		if websocket {
			c, br := rawClient(b, addr, user, nil)
			var hdr [2]byte // the connected frame: under 126 bytes, so a 2-byte header
			if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr[1] >= 126 {
				b.Fatalf("connected frame: %v % x", err, hdr)
			}
			if _, err := br.Discard(int(hdr[1])); err != nil {
				b.Fatal(err)
			}
			nc = c
		} else {
			nc, _, _ = sseSession(b, addr, user)
		}
		held = append(held, nc)
	}
	time.Sleep(200 * time.Millisecond) // the last connections' first frames are written
	after := inUse()
	b.ReportMetric(float64(after-before)/float64(conns), "B/conn")
	for _, nc := range held {
		nc.Close()
	}
}
