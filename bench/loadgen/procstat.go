package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// procSample is what the kernel tells about the server process at one moment.
type procSample struct {
	at       time.Time
	cpuTicks uint64 // utime+stime, in clock ticks (100 Hz)
	syscw    uint64
	rss      uint64 // bytes
}

const clockTick = 100.0 // USER_HZ on Linux

func readProc(pid int) procSample {
	s := procSample{at: time.Now()}
	if pid <= 0 {
		return s
	}
	dir := "/proc/" + strconv.Itoa(pid)
	if b, err := os.ReadFile(dir + "/stat"); err == nil {
		// fields after the ")" that closes the command name: state is field 3, utime 14, stime 15
		if i := bytes.LastIndexByte(b, ')'); i > 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 13 {
				u, _ := strconv.ParseUint(f[11], 10, 64)
				st, _ := strconv.ParseUint(f[12], 10, 64)
				s.cpuTicks = u + st
			}
		}
	}
	if b, err := os.ReadFile(dir + "/io"); err == nil {
		s.syscw = field(b, "syscw:")
	}
	if b, err := os.ReadFile(dir + "/status"); err == nil {
		s.rss = field(b, "VmRSS:") * 1024
	}
	return s
}

func field(b []byte, name string) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name) {
			f := strings.Fields(line[len(name):])
			if len(f) > 0 {
				v, _ := strconv.ParseUint(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// selfCPU is this process's CPU seconds so far (getrusage: microsecond resolution).
func selfCPU() float64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return float64(readProc(os.Getpid()).cpuTicks) / clockTick
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// allowedCPUs is how many CPUs this process may run on (taskset pins loadgen to one):
// its CPU share is measured against those, not the whole machine.
func allowedCPUs() float64 {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil && set.Count() > 0 {
		return float64(set.Count())
	}
	return float64(runtime.NumCPU())
}

// machineBusy is the CPU time every process used so far, in seconds, from /proc/stat.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	return busySeconds(b)
}

// busySeconds sums user, nice, system and steal (a hypervisor running someone else on our
// CPU is interference too) of /proc/stat's first line. Not idle or iowait, and not irq or
// softirq: with IRQ time accounting that time is charged to no process, and on loopback
// it is mostly the benchmark's own packets — counting it would call the run crowded.
func busySeconds(stat []byte) float64 {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy uint64
	for _, i := range []int{1, 2, 3, 8} {
		v, _ := strconv.ParseUint(f[i], 10, 64)
		busy += v
	}
	return float64(busy) / clockTick
}

// cpuWindow measures, over one window, this process's CPU, the server's and everyone
// else's, to tell whether the window measured the server or a crowded machine.
type cpuWindow struct {
	at                 time.Time
	self, busy, server float64
}

func startWindow(pid int) cpuWindow {
	return cpuWindow{at: time.Now(), self: selfCPU(), busy: machineBusy(), server: float64(readProc(pid).cpuTicks) / clockTick}
}

// cpuShares are the shares of one window: client of its allowed CPUs, other processes
// of the whole machine.
type cpuShares struct {
	elapsed, selfSec, client, others float64
}

func (w cpuWindow) end(pid int) cpuShares {
	e := startWindow(pid)
	el := e.at.Sub(w.at).Seconds()
	s := cpuShares{elapsed: el, selfSec: e.self - w.self}
	if el <= 0 {
		return s
	}
	s.client = s.selfSec / el / allowedCPUs()
	other := (e.busy - w.busy) - s.selfSec - (e.server - w.server)
	s.others = max(0, other) / el / float64(runtime.NumCPU())
	return s
}

// runtimeStats are the server's Go runtime numbers, from /metrics (Prometheus Go
// collector: switchboard, and the peers' tiny stand-in) or /debug/pprof.
type runtimeStats struct {
	goroutines int64
	heapStack  int64 // heap in use + stack in use, bytes; -1 when unknown
}

func (g *gen) serverRuntime() runtimeStats {
	rs := runtimeStats{goroutines: -1, heapStack: -1}
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(g.cfg.base + "/metrics")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			var heap, stack int64 = -1, -1
			for _, line := range strings.Split(string(b), "\n") {
				f := strings.Fields(line)
				if len(f) != 2 {
					continue
				}
				v, err := strconv.ParseFloat(f[1], 64)
				if err != nil {
					continue
				}
				switch f[0] {
				case "go_goroutines":
					rs.goroutines = int64(v)
				case "go_memstats_heap_inuse_bytes":
					heap = int64(v)
				case "go_memstats_stack_inuse_bytes":
					stack = int64(v)
				}
			}
			if heap >= 0 && stack >= 0 {
				rs.heapStack = heap + stack
			}
		}
	}
	if rs.goroutines < 0 {
		if resp, err := cl.Get(g.cfg.base + "/debug/pprof/goroutine?debug=1"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			const pfx = "goroutine profile: total "
			if i := bytes.Index(b, []byte(pfx)); i >= 0 {
				v, _ := parseUint(b[i+len(pfx):])
				rs.goroutines = int64(v)
			}
		}
	}
	return rs
}

// serverGC asks the server to collect garbage: /debug/pprof/heap?gc=1 runs a GC before
// profiling; the peers also accept /metrics?gc=1. Reports whether either worked.
func (g *gen) serverGC() bool {
	cl := &http.Client{Timeout: 10 * time.Second}
	ok := false
	urls := []string{g.cfg.base + "/debug/pprof/heap?gc=1", g.cfg.base + "/metrics?gc=1"}
	if g.cfg.gcURL != "" {
		urls = []string{g.cfg.gcURL}
	}
	for _, u := range urls {
		resp, err := cl.Get(u)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && (strings.Contains(u, "/debug/pprof/") || resp.Header.Get("X-GC") == "done") {
			ok = true
			break
		}
	}
	return ok
}
