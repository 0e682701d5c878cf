package transporttest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
)

// chatCounter counts the chat frames in a server byte stream, however it is split,
// without allocating: a header, then the first bytes of the payload, then a skip.
type chatCounter struct {
	hdr    [10]byte
	hn     int
	prefix [14]byte
	pn     int
	left   int // payload bytes of the current frame still to come
	inBody bool
	chats  atomic.Int64
}

var chatPrefix = [14]byte([]byte(`{"type":"chat"`))

func (c *chatCounter) feed(p []byte) {
	for len(p) > 0 {
		if !c.inBody {
			c.hdr[c.hn] = p[0]
			c.hn++
			p = p[1:]
			if c.hn < 2 {
				continue
			}
			need := 2
			switch c.hdr[1] & 0x7f {
			case 126:
				need = 4
			case 127:
				need = 10
			}
			if c.hn < need {
				continue
			}
			switch need {
			case 2:
				c.left = int(c.hdr[1] & 0x7f)
			case 4:
				c.left = int(c.hdr[2])<<8 | int(c.hdr[3])
			default:
				c.left = 0
				for _, b := range c.hdr[2:10] {
					c.left = c.left<<8 | int(b)
				}
			}
			c.hn, c.pn, c.inBody = 0, 0, true
		}
		k := min(len(p), c.left)
		for _, b := range p[:k] {
			if c.pn < len(c.prefix) {
				c.prefix[c.pn] = b
				c.pn++
			}
		}
		p = p[k:]
		c.left -= k
		if c.left == 0 {
			c.inBody = false
			if c.pn == len(c.prefix) && c.prefix == chatPrefix {
				c.chats.Add(1)
			}
		}
	}
}

// rawClient opens a WebSocket by hand (no client library in the measured process's hot
// path): the handshake, then plain reads into one fixed buffer.
func rawClient(tb testing.TB, addr, user string, first []byte) (net.Conn, *bufio.Reader) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	req := "GET /ws?user=" + user + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	nc.Write(append([]byte(req), first...))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		tb.Fatalf("handshake: %v", err)
	}
	return nc, br
}

// BenchFanout measures a transport's write path end to end over loopback: one chat
// message in, delivered to every member of a room, for 10, 100 and 1000 members. ns/op
// is per message (all recipients), ns/delivery per recipient; allocs/op counts the whole
// process (the raw clients allocate nothing while reading).
func BenchFanout(b *testing.B, newTransport func(testing.TB, *node.Node) (http.Handler, func())) {
	for _, members := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(members), func(b *testing.B) { benchFanout(b, newTransport, members, FanoutRate{}) })
	}
}

func benchFanout(b *testing.B, newTransport func(testing.TB, *node.Node) (http.Handler, func()), members int, rate FanoutRate) {
	n := node.New(node.Options{SendQueueBytes: 64 << 20, PingInterval: -1, IdleTimeout: -1})
	tr, closeTransport := newTransport(b, n)
	addr, stop := serveBench(b, n, tr, closeTransport)
	defer stop()

	join := ClientFrame(true, 0x1, []byte(`{"type":"join","room":"bench"}`))
	counters := make([]*atomic.Int64, members)
	var wg sync.WaitGroup
	var conns []net.Conn
	for i := range members {
		nc, br := rawClient(b, addr, fmt.Sprintf("m%d", i), join)
		conns = append(conns, nc)
		cc := &chatCounter{}
		counters[i] = &cc.chats
		wg.Add(1)
		go readAll(&wg, nc, br, cc.feed)
	}
	measureFanout(b, addr, counters, rate)
	closeAll(conns, &wg)
}

// FanoutRate is how a fan-out benchmark sends: Paced sends each message only once every
// member has the one before (writers that keep up), otherwise as fast as the bounded
// backlog allows (writers behind). Counter, when set, is one of the transport's own
// counts (its write system calls, say), reported per delivery of the timed part as Unit.
type FanoutRate struct {
	Paced   bool
	Unit    string
	Counter func() uint64
}

// BenchFanoutRate is BenchFanout's room of 100 members at both rates, "paced" and
// "flood": with rate.Counter counting writes, it shows how many frames one write carries
// when the writers keep up and when they fall behind.
func BenchFanoutRate(b *testing.B, newTransport func(testing.TB, *node.Node) (http.Handler, func()), rate FanoutRate) {
	for _, paced := range []bool{true, false} {
		name := "flood"
		if paced {
			name = "paced"
		}
		rate.Paced = paced
		b.Run(name, func(b *testing.B) { benchFanout(b, newTransport, 100, rate) })
	}
}

// serveBench serves h for a benchmark on 127.0.0.1:0; stop shuts the node down, then
// the transport (closeTransport) and the server.
func serveBench(b *testing.B, n *node.Node, h http.Handler, closeTransport func()) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		n.Shutdown(ctx)
		closeTransport()
		srv.Close()
	}
}

// closeAll closes the members' sockets and waits for their readers.
func closeAll(conns []net.Conn, wg *sync.WaitGroup) {
	for _, nc := range conns {
		nc.Close()
	}
	wg.Wait()
}

// readAll feeds everything a member's socket receives (what br already holds first) to
// feed until the socket closes.
func readAll(wg *sync.WaitGroup, nc net.Conn, br *bufio.Reader, feed func([]byte)) {
	defer wg.Done()
	buf := make([]byte, 64<<10)
	if k := br.Buffered(); k > 0 {
		p, _ := br.Peek(k)
		feed(p)
		br.Discard(k)
	}
	for {
		k, err := nc.Read(buf)
		feed(buf[:k])
		if err != nil {
			return
		}
	}
}

// measureFanout is the timed part of a fan-out benchmark: a raw WebSocket sender joins
// the room and chats b.N times at rate; counters are the members' chat counts.
// ns/delivery is per member and message.
func measureFanout(b *testing.B, addr string, counters []*atomic.Int64, rate FanoutRate) {
	members := len(counters)
	join := ClientFrame(true, 0x1, []byte(`{"type":"join","room":"bench"}`))
	sender, _ := rawClient(b, addr, "sender", join)
	go func() { // the sender drains what it receives (its own echoes)
		buf := make([]byte, 64<<10)
		for {
			if _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	chat := ClientFrame(true, 0x1, []byte(`{"type":"chat","room":"bench","content":"hello, this is a benchmark message of some sixty bytes"}`))
	base := make([]int64, members)
	waitChats := func(want int64) {
		deadline := time.Now().Add(60 * time.Second)
		for i, c := range counters {
			for c.Load()-base[i] < want {
				if time.Now().After(deadline) {
					b.Fatalf("a member got %d of %d messages", c.Load()-base[i], want)
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	// Warm up until every member's join took effect (joins on different sockets are
	// not ordered with the sender's chat), then note where each member's count stands.
	for ready := false; !ready; {
		sender.Write(chat)
		time.Sleep(2 * time.Millisecond)
		ready = true
		for _, c := range counters {
			ready = ready && c.Load() > 0
		}
	}
	time.Sleep(50 * time.Millisecond)
	for i, c := range counters {
		base[i] = c.Load()
	}

	var counted uint64
	if rate.Counter != nil {
		counted = rate.Counter()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sender.Write(chat)
		switch {
		case rate.Paced:
			waitChats(int64(i + 1))
		case i%256 == 255:
			waitChats(int64(i + 1 - 128)) // keep the backlog bounded
		}
	}
	waitChats(int64(b.N))
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*members), "ns/delivery")
	if rate.Counter != nil {
		b.ReportMetric(float64(rate.Counter()-counted)/float64(b.N*members), rate.Unit)
	}
	sender.Close()
}
