//go:build linux

package epoll

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/wsframe"
	"github.com/switchboard-ws/switchboard/core"
)

// BenchmarkIdlePrivate: what the server keeps per idle connection after it was used once.
// N connections (IDLE_CONNS, default 2,000: each is 2 fds of this process) each send one
// private message to their own user and read it; then heap+stack in use after two GCs,
// per connection. The clients are bare blocking sockets outside Go's poller, so the only
// client memory is the fd slice allocated before the first reading.
//
//	go test -run '^$' -bench IdlePrivate -benchtime 1x ./adapters/epoll
//	IDLE_HEAPPROFILE=/tmp/idle.prof go test -run '^$' -bench IdlePrivate -benchtime 1x ./adapters/epoll
//	go tool pprof -sample_index=inuse_space -top /tmp/idle.prof
//
// IDLE_HEAPPROFILE writes the heap profile (every allocation sampled) while the
// connections are held: -memprofile would see them only after they closed.
func BenchmarkIdlePrivate(b *testing.B) {
	conns := 2000
	if s := os.Getenv("IDLE_CONNS"); s != "" {
		conns, _ = strconv.Atoi(s)
	}
	for range b.N {
		inUse, live := idlePrivate(b, conns)
		b.ReportMetric(inUse, "heap-B/conn")
		b.ReportMetric(live, "live-B/conn")
	}
}

// idlePrivate returns the growth per connection of HeapInuse+StackInuse (what the
// target is about: whole spans and stacks) and of HeapAlloc (live objects only, finer).
func idlePrivate(b *testing.B, conns int) (inUse, live float64) {
	profile := os.Getenv("IDLE_HEAPPROFILE")
	if profile != "" {
		runtime.MemProfileRate = 1
	}
	n := node.New(node.Options{PingInterval: -1, IdleTimeout: -1, Core: core.Config{MaxConns: conns + 10}})
	tr, err := New(n)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: tr}
	go srv.Serve(ln)
	addr := ln.Addr().(*net.TCPAddr)
	fds := make([]int, 0, conns)
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
		srv.Close()
		n.Shutdown(b.Context())
		tr.Close()
	}()
	stats := func() runtime.MemStats {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms
	}
	// One connection first, so that pools, the http server's goroutine and the hub's
	// first-use growth are not charged to the measured ones.
	fds = append(fds, idleClient(b, addr, "warm"))
	before := stats()
	for i := range conns {
		fds = append(fds, idleClient(b, addr, "idle"+strconv.Itoa(i)))
	}
	time.Sleep(100 * time.Millisecond) // the HTTP goroutines of the last handshakes end
	after := stats()
	inUse = float64(after.HeapInuse+after.StackInuse-before.HeapInuse-before.StackInuse) / float64(conns)
	live = float64(after.HeapAlloc-before.HeapAlloc) / float64(conns)
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	}
	return inUse, live
}

// idleClient opens a WebSocket with a blocking socket, reads the connected frame, sends
// one private message to its own user and reads it back.
func idleClient(b *testing.B, addr *net.TCPAddr, user string) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	sa := &unix.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	if err := unix.Connect(fd, sa); err != nil {
		b.Fatal(err)
	}
	req := "GET /ws?user=" + user + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	writeAll(b, fd, []byte(req))
	var buf [4096]byte
	have := 0
	read := func() {
		k, err := unix.Read(fd, buf[have:])
		if err != nil || k <= 0 {
			b.Fatalf("%s: read: %v", user, err)
		}
		have += k
	}
	for !bytes.Contains(buf[:have], []byte("\r\n\r\n")) {
		read()
	}
	if !bytes.HasPrefix(buf[:have], []byte("HTTP/1.1 101")) {
		b.Fatalf("%s: handshake: %q", user, buf[:have])
	}
	rest := buf[bytes.Index(buf[:have], []byte("\r\n\r\n"))+4 : have]
	have = copy(buf[:], rest)
	frame := func() []byte { // one unfragmented server frame under 126 bytes
		for have < 2 || have < 2+int(buf[1]) {
			read()
		}
		if buf[1] >= 126 {
			b.Fatalf("%s: frame of %d", user, buf[1])
		}
		f := append([]byte(nil), buf[2:2+int(buf[1])]...)
		have = copy(buf[:], buf[2+int(buf[1]):have])
		return f
	}
	if f := frame(); !bytes.Contains(f, []byte(`"connected"`)) {
		b.Fatalf("%s: first frame %q", user, f)
	}
	msg := []byte(`{"type":"private","to":"` + user + `","content":"hi"}`)
	writeAll(b, fd, append([]byte{0x81, 0x80 | byte(len(msg)), 0, 0, 0, 0}, msg...)) // zero mask
	if f := frame(); !bytes.Contains(f, []byte(`"private"`)) {
		b.Fatalf("%s: private echo %q", user, f)
	}
	return fd
}

func writeAll(b *testing.B, fd int, p []byte) {
	for len(p) > 0 {
		k, err := unix.Write(fd, p)
		if err != nil {
			b.Fatal(err)
		}
		p = p[k:]
	}
}

// TestIdleStructsFitSizeClasses: what every connection keeps on the heap stays in the
// allocator's size classes BenchmarkIdlePrivate was measured with (a field added in the
// wrong place can cost a whole class: 16 to 32 bytes per connection).
func TestIdleStructsFitSizeClasses(t *testing.T) {
	for _, s := range []struct {
		what      string
		size, max uintptr
	}{
		// 208: the 192 measured, plus the lock-free run queue's link (next); the four
		// atomic flags as one word would bring it back to 192.
		{"epoll conn", unsafe.Sizeof(conn{}), 208},
		{"wsframe.Reader", unsafe.Sizeof(wsframe.Reader{}), 112},
		{"node.Conn", unsafe.Sizeof(node.Conn{}), 160},
	} {
		if s.size > s.max {
			t.Errorf("%s is %d bytes, over %d", s.what, s.size, s.max)
		}
	}
}
