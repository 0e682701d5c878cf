package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// streamServer answers the handshake and then writes stream in chunks of random size
// (one byte to 20 KiB), each its own write, so frames straddle reads.
func streamServer(t *testing.T, stream []byte) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"))
		rng := rand.New(rand.NewPCG(1, 2))
		for b := stream; len(b) > 0; {
			n := min(len(b), 1+rng.IntN(20<<10))
			if _, err := nc.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
			if rng.IntN(8) == 0 {
				time.Sleep(time.Millisecond) // let the reader catch up mid-frame
			}
		}
		bufio.NewReader(nc).ReadByte() // hold the connection until the client closes
	}))
}

// The whole receive path — handshake, the socket handed to a reader's epoll set, reads
// into the shared buffer, tails kept across reads, a frame bigger than half the buffer,
// batched frames — counts every delivery exactly once and closes cleanly.
func TestReadersCountEveryDelivery(t *testing.T) {
	var stream []byte
	want := uint64(0)
	seq := 0
	next := func(pad int) string { seq++; want++; return chat(seq, pad) }
	for i := 0; i < 2000; i++ {
		stream = append(stream, serverFrame(next(100))...)
		if i%100 == 0 { // a batched frame of five, newline-separated
			var b []string
			for k := 0; k < 5; k++ {
				b = append(b, next(50))
			}
			stream = append(stream, serverFrame(strings.Join(b, "\n"))...)
		}
	}
	stream = append(stream, serverFrame(next(200<<10))...) // 200 KiB: more than half a read buffer
	stream = append(stream, serverFrame(next(10))...)
	srv := streamServer(t, stream)
	defer srv.Close()

	const conns = 3
	g := &gen{cfg: config{proto: protoSwitchboard, hostport: strings.TrimPrefix(srv.URL, "http://"), path: "/ws",
		latEvery: 4, readInterval: time.Millisecond}}
	if err := g.startReaders(2); err != nil {
		t.Fatal(err)
	}
	var cs []*client
	for i := 0; i < conns; i++ {
		c, err := g.dial(t.Context(), i, "u")
		if err != nil {
			t.Fatal(err)
		}
		c.measured.Store(true)
		if err := g.add(c); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.snapReceived() < conns*want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sn := g.snap()
	var samples uint64
	for _, n := range sn.counts {
		samples += n
	}
	if sn.received != conns*want || sn.reordered != 0 || g.unexpectedClose.Load() != 0 {
		t.Fatalf("received %d reordered %d unexpected closes %d, want %d 0 0", sn.received, sn.reordered, g.unexpectedClose.Load(), conns*want)
	}
	if samples < sn.received/4-uint64(len(g.readers)) || samples > sn.received/4+uint64(len(g.readers)) {
		t.Fatalf("%d latency samples for %d deliveries, want one in 4", samples, sn.received)
	}
	for _, c := range cs {
		c.close()
	}
	// the readers see the shutdown and close the descriptors themselves
	for _, c := range cs {
		for fdTable[c.fd].Load() == c && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if fdTable[c.fd].Load() == c {
			t.Errorf("client on descriptor %d still registered after close", c.fd)
		}
	}
	g.stopReaders()
}
