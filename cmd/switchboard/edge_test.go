package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-ws/switchboard/adapters/transporttest"
)

// Tests of the edge (PROTOCOL.md §11) against the program, the drain against a real
// process (this test binary re-executed as the server: see TestMain).

// process is the program running in a child process.
type process struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
	err    error // Wait's, once exited is closed
	stderr *syncBuffer
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	return startProcessEnv(t, nil, args...)
}

// startProcessEnv starts the program with env added to this process's environment.
func startProcessEnv(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(append(os.Environ(), childEnv+"=1"), env...)
	p := &process{t: t, cmd: cmd, exited: make(chan struct{}), stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
		for sc.Scan() {
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	select {
	case line := <-first:
		m := listeningRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("first line %q; stderr:\n%s", line, p.stderr.String())
		}
		p.url = m[1]
	case <-time.After(wait):
		t.Fatal("the server process never said where it listens")
	}
	return p
}

func (p *process) get(path string) (int, string, http.Header) {
	p.t.Helper()
	resp, err := http.Get(p.url + path)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String(), resp.Header
}

// waitExit waits for the process to end and returns its exit code.
func (p *process) waitExit(within time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		p.t.Fatalf("the server process did not exit; stderr:\n%s", p.stderr.String())
		return -1
	}
}

// dialAll opens n WebSocket connections that read until they are closed; each reports
// its close and when it came on the returned channel.
func dialAll(t *testing.T, url string, n int) <-chan closed {
	t.Helper()
	out := make(chan closed, n)
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/ws?user=u"+strconv.Itoa(i), nil)
		cancel()
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		t.Cleanup(func() { c.CloseNow() })
		// Its connected frame: the server has attached it (the 101 may come first).
		ctx, cancel = context.WithTimeout(context.Background(), wait)
		_, _, err = c.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("dial %d: no connected frame: %v", i, err)
		}
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					out <- closed{err: err, at: time.Now()}
					return
				}
			}
		}()
	}
	return out
}

type closed struct {
	err error
	at  time.Time
}

// expectDrained collects n closes, checks each is 1001 "Server shutting down", and
// returns the time from the first to the last.
func expectDrained(t *testing.T, closes <-chan closed, n int) time.Duration {
	t.Helper()
	var first, last time.Time
	for i := range n {
		var c closed
		select {
		case c = <-closes:
		case <-time.After(2 * wait):
			t.Fatalf("only %d of %d connections closed", i, n)
		}
		checkClose(t, "client", c.err, websocket.StatusGoingAway, "Server shutting down")
		if first.IsZero() || c.at.Before(first) {
			first = c.at
		}
		if c.at.After(last) {
			last = c.at
		}
	}
	return last.Sub(first)
}

// TestDrainOnSIGTERM: SIGTERM to a real server process flips /healthz to 503 draining,
// refuses new handshakes with 503 and Retry-After, closes its connections 1001 at
// --drain-rate, and exits 0 when the last is gone.
func TestDrainOnSIGTERM(t *testing.T) {
	for _, transport := range transports() {
		t.Run(transport, func(t *testing.T) {
			const conns, rate = 30, 20
			p := startProcess(t, "--transport", transport, "--drain-rate", strconv.Itoa(rate), "--max-per-user", "100")
			closes := dialAll(t, p.url, conns)
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(wait)
			for {
				code, body, _ := p.get("/healthz")
				if code == http.StatusServiceUnavailable && body == "draining" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("/healthz still %d %q", code, body)
				}
				time.Sleep(5 * time.Millisecond)
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(p.url, "http")+"/ws?user=late", nil)
			cancel()
			if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("handshake while draining: err %v resp %v", err, resp)
			}
			spread := expectDrained(t, closes, conns)
			if spread < time.Second {
				t.Fatalf("%d connections closed within %v at --drain-rate %d", conns, spread, rate)
			}
			if code := p.waitExit(wait); code != 0 {
				t.Fatalf("exit %d after the drain; stderr:\n%s", code, p.stderr.String())
			}
			t.Logf("%d connections drained in %v at %d/s", conns, spread.Round(time.Millisecond), rate)
		})
	}
}

// TestDrainByAPI: POST /api/drain answers 202 with the connections open, drains them and
// the process exits 0.
func TestDrainByAPI(t *testing.T) {
	p := startProcess(t, "--drain-rate", "1000")
	closes := dialAll(t, p.url, 5)
	req, _ := http.NewRequest("POST", p.url+"/api/drain", nil)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || strings.TrimSpace(b.String()) != `{"draining":true,"connections":5}` {
		t.Fatalf("POST /api/drain: %d %s", resp.StatusCode, b.String())
	}
	expectDrained(t, closes, 5)
	if code := p.waitExit(wait); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.stderr.String())
	}
}

// TestAdminBrowserRules: what a web page the operator happens to open can do to the
// admin API without a token: nothing (PROTOCOL.md §11). The dashboard's own calls work.
func TestAdminBrowserRules(t *testing.T) {
	in := start(t)
	ann, _ := in.connect("/ws?user=ann")
	for _, tc := range []struct {
		name string
		hdr  []string
		host string
		want int
	}{
		{"text/plain (a form or fetch without preflight)", []string{"Content-Type", "text/plain"}, "", 415},
		{"a foreign Origin", []string{"Origin", "http://evil.example"}, "", 403},
		{"a rebound Host", nil, "evil.example:" + strings.Split(in.url, ":")[2], 403},
	} {
		req, _ := http.NewRequest("POST", in.url+"/api/broadcast", strings.NewReader(`{"content":"pwned"}`))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i < len(tc.hdr); i += 2 {
			req.Header.Set(tc.hdr[i], tc.hdr[i+1])
		}
		if tc.host != "" {
			req.Host = tc.host
		}
		resp, err := in.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	// The dashboard, from its own origin, with JSON: served; and the refused ones did
	// nothing (ann's next frame is this broadcast).
	in.expectJSON("POST", "/api/broadcast", `{"content":"ok"}`, 200, `{"delivered":1}`, "Origin", in.url, "Content-Type", "application/json; charset=utf-8")
	if m := ann.expect("broadcast"); m["content"] != "ok" {
		t.Fatalf("ann got %v", m)
	}
}

// TestEdgeFlags: --message-timeout and --max-conns-per-ip reach the server, and its
// HTTP server refuses oversized handshake headers.
func TestEdgeFlags(t *testing.T) {
	in := start(t, "--message-timeout", "300ms", "--max-conns-per-ip", "2")
	addr := strings.TrimPrefix(in.url, "http://")
	raw := func(req string) (net.Conn, *bufio.Reader, *http.Response) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(wait))
		c.Write([]byte(req))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c, br, resp
	}
	if _, _, resp := raw(transporttest.Handshake("/ws?user=u", "X-Filler: "+strings.Repeat("a", 17<<10))); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("17 KiB of headers: %s", resp.Status)
	}
	c, br, resp := raw(transporttest.Handshake("/ws?user=u"))
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	c.Write([]byte{0x81, 0x85, 1, 2, 3}) // a text frame's header, never completed
	var got []byte
	for {
		b, err := br.ReadByte()
		if err != nil {
			break
		}
		got = append(got, b)
	}
	if !strings.Contains(string(got), "\x88\x11\x03\xf0Message timeout") {
		t.Fatalf("no 1008 Message timeout close frame in %q", got)
	}
	// --max-conns-per-ip 2: two held, the third refused. (The timed-out one holds its
	// place until the server saw it go.)
	c.Close()
	deadline := time.Now().Add(wait)
	for { // until both places are free again: a and b held at once
		a, _, err := in.dial("/ws?user=a", nil)
		if err == nil {
			b, _, errB := in.dial("/ws?user=b", nil)
			if errB == nil {
				t.Cleanup(func() { a.c.CloseNow(); b.c.CloseNow() })
				break
			}
			a.c.CloseNow()
			err = errB
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed connection's place never came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, resp2, err := in.dial("/ws?user=c", nil)
	if err == nil || resp2 == nil || resp2.StatusCode != http.StatusServiceUnavailable || resp2.Header.Get("Retry-After") == "" {
		t.Fatalf("third connection from one address: err %v resp %v", err, resp2)
	}
}

// TestStalledFramesHeapFromMetrics: 2,000 connections of a real server process, each in
// a frame announcing 65,000 bytes of which 100 came, grow the heap it reports on
// /metrics (go_memstats_heap_inuse_bytes) by less than 5 MB over the same connections
// idle. The child runs with GOGC=5 so that the reading is live memory, not garbage.
func TestStalledFramesHeapFromMetrics(t *testing.T) {
	const conns, limit = 2000, 5 << 20
	for _, transport := range transports() {
		t.Run(transport, func(t *testing.T) {
			p := startProcessEnv(t, []string{"GOGC=5"}, "--transport", transport, "--max-conns", "2100",
				"--max-per-user", "2100", "--message-timeout", "1h", "--idle-timeout", "1h", "--ping-interval", "1h")
			addr := strings.TrimPrefix(p.url, "http://")
			held := make([]net.Conn, 0, conns)
			for range conns {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				c.SetDeadline(time.Now().Add(wait))
				c.Write([]byte(transporttest.Handshake("/ws?user=stall")))
				resp, err := http.ReadResponse(bufio.NewReaderSize(c, 512), nil)
				if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
					t.Fatalf("handshake: %v %v", err, resp)
				}
				held = append(held, c)
			}
			heap := func() float64 {
				time.Sleep(time.Second) // the handshakes' garbage collected
				_, body, _ := p.get("/metrics")
				for _, line := range strings.Split(body, "\n") {
					if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
						f, err := strconv.ParseFloat(v, 64)
						if err != nil {
							t.Fatal(err)
						}
						return f
					}
				}
				t.Fatal("no go_memstats_heap_inuse_bytes in /metrics")
				return 0
			}
			idle := heap()
			stall := transporttest.StallFrame(65000, 100)
			for _, c := range held {
				if _, err := c.Write(stall); err != nil {
					t.Fatal(err)
				}
			}
			stalled := heap()
			grown := stalled - idle
			t.Logf("%s: heap in use %.0f -> %.0f B: %.0f B per stalled connection", transport, idle, stalled, grown/conns)
			if grown > limit {
				t.Fatalf("the heap grew %.0f bytes for %d stalled connections (limit %d)", grown, conns, limit)
			}
		})
	}
}
