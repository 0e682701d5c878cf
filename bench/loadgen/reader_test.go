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
// (one byte to 20 KiB), each its own write, so frames straddle reads; written (if not
// nil) gets a value each time a connection's stream has been written. With half (not
// nil), it writes the first half of the stream, then waits for half to be closed.
func streamServer(t *testing.T, stream []byte, half <-chan struct{}, written chan<- struct{}) *httptest.Server {
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
		b := stream
		if half != nil {
			if _, err := nc.Write(b[:len(b)/2]); err != nil {
				return
			}
			b = b[len(b)/2:]
			<-half
		}
		for len(b) > 0 {
			n := min(len(b), 1+rng.IntN(20<<10))
			if _, err := nc.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
			if rng.IntN(8) == 0 {
				time.Sleep(time.Millisecond) // let the reader catch up mid-frame
			}
		}
		if written != nil {
			written <- struct{}{}
		}
		bufio.NewReader(nc).ReadByte() // hold the connection until the client closes
	}))
}

// The whole receive path — handshake, the socket handed to a reader's epoll set, reads
// into the shared buffer, tails kept across reads, a frame bigger than half the buffer,
// batched frames — counts every delivery exactly once and closes cleanly, on the latency
// reader and on a bulk reader in its slow rhythm alike; latencies come from the latency
// sample only, one for each of its deliveries.
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
	srv := streamServer(t, stream, nil, nil)
	defer srv.Close()

	// Three clients in one room, a latency sample of every second one: clients 0 and 2
	// are read by the latency reader, client 1 by one of the two bulk readers.
	const conns = 3
	g := &gen{cfg: config{proto: protoSwitchboard, hostport: strings.TrimPrefix(srv.URL, "http://"), path: "/ws",
		conns: conns, roomSize: conns, latencySample: 0.5, readInterval: time.Millisecond, bulkInterval: 20 * time.Millisecond}}
	g.bulk.Store(true)
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
	g.clients = cs
	if !cs[0].rd.latency || cs[1].rd.latency || !cs[2].rd.latency {
		t.Fatalf("latency reader for clients 0, 1, 2: %v %v %v, want true false true", cs[0].rd.latency, cs[1].rd.latency, cs[2].rd.latency)
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
	if samples != 2*want {
		t.Fatalf("%d latency samples, want %d: every delivery to the two sampled clients, none to the other", samples, 2*want)
	}
	if b := cs[1].rd.t.received.Load(); b != want {
		t.Fatalf("the bulk reader counted %d deliveries, want %d", b, want)
	}
	if q, rcvbuf := g.bulkQueue(); q == 0 || rcvbuf == 0 {
		t.Fatalf("bulk queue %d bytes, rcvbuf %d: want both measured", q, rcvbuf)
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

// A bulk reader in the middle of a long --bulk-interval has not counted what arrived
// since its last round; sweep wakes it and returns only once all of it is counted.
func TestSweepCountsWhatBulkReadersHaveNotRead(t *testing.T) {
	var stream []byte
	const msgs = 200 // about 40 KB: all of it fits the receive window, none waits in the server's socket
	for i := 1; i <= msgs; i++ {
		stream = append(stream, serverFrame(chat(i, 100))...)
	}
	half, written := make(chan struct{}), make(chan struct{}, 1)
	srv := streamServer(t, stream, half, written)
	defer srv.Close()
	g := &gen{cfg: config{proto: protoSwitchboard, hostport: strings.TrimPrefix(srv.URL, "http://"), path: "/ws",
		conns: 1, roomSize: 1, readInterval: time.Millisecond, bulkInterval: time.Hour}}
	g.bulk.Store(true)
	if err := g.startReaders(1); err != nil {
		t.Fatal(err)
	}
	defer g.stopReaders()
	c, err := g.dial(t.Context(), 0, "u")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	c.measured.Store(true)
	if err := g.add(c); err != nil {
		t.Fatal(err)
	}
	// its first round reads the first half, then it sleeps (for an hour)
	deadline := time.Now().Add(10 * time.Second)
	for g.snapReceived() < msgs/2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(half)
	<-written
	time.Sleep(20 * time.Millisecond) // the last bytes reach the socket
	if got := g.snapReceived(); got != msgs/2 {
		t.Fatalf("the bulk reader counted %d before the sweep, want the first %d", got, msgs/2)
	}
	g.sweep()
	if got := g.snapReceived(); got != msgs {
		t.Fatalf("after the sweep %d counted, want %d", got, msgs)
	}
}
