package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var debugAddrRE = regexp.MustCompile(`debug_addr=(\S+)`)

// TestDebugAddr: with --debug-addr the program listens there too and serves pprof, and
// /debug/pprof/heap?gc=1 answers 200 with a heap profile; the public listener serves no
// pprof either way; without the flag the process listens on one socket only.
func TestDebugAddr(t *testing.T) {
	t.Run("on", func(t *testing.T) {
		p := startProcess(t, "--debug-addr", "127.0.0.1:0")
		var addr string
		for deadline := time.Now().Add(wait); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if m := debugAddrRE.FindStringSubmatch(p.stderr.String()); m != nil {
				addr = m[1]
			}
		}
		if addr == "" {
			t.Fatalf("no debug_addr in the log:\n%s", p.stderr.String())
		}
		resp, err := http.Get("http://" + addr + "/debug/pprof/heap?gc=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// a gzipped protobuf profile
		if resp.StatusCode != http.StatusOK || len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
			t.Fatalf("GET /debug/pprof/heap?gc=1: %d, %d bytes %q…", resp.StatusCode, len(body), body[:min(len(body), 40)])
		}
		if code, _, _ := p.get("/debug/pprof/heap?gc=1"); code == http.StatusOK {
			t.Errorf("the public listener serves pprof: %d", code)
		}
		got := listening(t, p.cmd.Process.Pid)
		if want := []string{strings.TrimPrefix(p.url, "http://"), addr}; !sameSet(got, want) {
			t.Errorf("listening on %v, want %v", got, want)
		}
	})
	t.Run("off", func(t *testing.T) {
		p := startProcess(t)
		if code, _, _ := p.get("/debug/pprof/heap?gc=1"); code == http.StatusOK {
			t.Errorf("the public listener serves pprof: %d", code)
		}
		if got, want := listening(t, p.cmd.Process.Pid), []string{strings.TrimPrefix(p.url, "http://")}; !sameSet(got, want) {
			t.Errorf("listening on %v, want only %v", got, want)
		}
		if strings.Contains(p.stderr.String(), "debug_addr") {
			t.Errorf("a debug endpoint was started:\n%s", p.stderr.String())
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// listening lists the IPv4 TCP addresses process pid listens on: the sockets among its
// descriptors that /proc/net/tcp shows in state LISTEN (0A).
func listening(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + fd.Name()); err == nil {
			if ino, ok := strings.CutPrefix(l, "socket:["); ok {
				inodes[strings.TrimSuffix(ino, "]")] = true
			}
		}
	}
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var addrs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fl := strings.Fields(sc.Text())
		if len(fl) < 10 || fl[3] != "0A" || !inodes[fl[9]] {
			continue
		}
		hexIP, hexPort, _ := strings.Cut(fl[1], ":")
		ip, _ := strconv.ParseUint(hexIP, 16, 32) // little-endian on the hosts this runs on
		port, _ := strconv.ParseUint(hexPort, 16, 16)
		addrs = append(addrs, fmt.Sprintf("%d.%d.%d.%d:%d", ip&0xff, ip>>8&0xff, ip>>16&0xff, ip>>24, port))
	}
	return addrs
}
