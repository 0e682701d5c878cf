// Command run is the bench driver: it runs every scenario against every system (both
// Switchboard transports and every peer, each peer in its naive and its best documented
// configuration) in ONE interleaved run, repeats it (≥ 5), and writes
// bench/results/latest.json (min/median/max of each measure over the valid repeats), the
// raw loadgen outputs, the PNG charts and the results section of bench/README.md — a
// table of valid rows only. It owns process orchestration only: the measuring and the
// validity of each window are loadgen's, and it never changes a server's code or flags
// beyond the limits that would otherwise refuse the load (Switchboard's idle runs add
// --debug-addr, its pprof listener, off by default, for the forced GC).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// system is one server under test.
type system struct {
	name        string
	bin         string
	args        []string
	proto       string
	switchboard bool // idle runs add --debug-addr for a forced GC
}

func systems(bin string) []system {
	sw := []string{"--max-conns", "100000", "--max-per-user", "100000", "--rate", "1000000", "--burst", "1000000"}
	gorilla, centrifuge := filepath.Join(bin, "gorilla"), filepath.Join(bin, "centrifuge")
	return []system{
		{name: "switchboard-epoll", bin: filepath.Join(bin, "switchboard"), args: append([]string{"--transport", "epoll"}, sw...), switchboard: true},
		{name: "switchboard-goroutine", bin: filepath.Join(bin, "switchboard"), args: append([]string{"--transport", "goroutine"}, sw...), switchboard: true},
		{name: "gorilla", bin: gorilla, args: []string{"--write-pump", "naive"}},
		{name: "gorilla-chat", bin: gorilla, args: []string{"--write-pump", "chat"}},
		{name: "gorilla-bufio", bin: gorilla, args: []string{"--write-pump", "bufio"}},
		{name: "melody", bin: filepath.Join(bin, "melody")},
		{name: "gws", bin: filepath.Join(bin, "gws")},
		{name: "nbio", bin: filepath.Join(bin, "nbio")},
		{name: "centrifuge", bin: centrifuge, proto: "centrifuge"},
		{name: "centrifuge-batched", bin: centrifuge, proto: "centrifuge", args: []string{"--write-delay", "10ms", "--max-messages-in-frame", "-1"}},
		{name: "raw-epoll", bin: filepath.Join(bin, "rawepoll")},
	}
}

// job is one loadgen invocation, run once per system per repeat.
type job struct {
	scenario string
	conns    int
	roomSize int
	msgBytes int
	mode     string // efficiency (pinned) or wholebox
	args     []string
}

// search is the SLO search of a fanout job: 2 s steps from start, ×1.6 until a miss, then
// bisection to 10 %, then p99 at half the SLO rate and the cost at costRate.
func search(start, costRate float64) []string {
	return []string{"--duration", "2s", "--start-rate", fmt.Sprint(start), "--step-factor", "1.6", "--resolution", "1.1",
		"--max-steps", "18", "--cost-rate", fmt.Sprint(costRate)}
}

// costRate is the fixed rate of core_sec_per_million and writes_per_delivery in the full
// and target plans: low enough that every system meets the SLO there (naive gorilla's
// p99 was 59 ms at 57k/s with the previous load generator, 10k conns, rooms of 1,000);
// a row whose cost step missed the SLO says so (cost_step_missed_slo).
const costRate = 25000

func plan(name string) []job {
	if name == "targets" {
		// The full-size jobs the targets name, for a run of their own.
		return []job{
			{scenario: "fanout", conns: 10000, roomSize: 1000, msgBytes: 100, mode: "efficiency", args: search(20000, costRate)},
			{scenario: "fanout", conns: 10000, roomSize: 100, msgBytes: 100, mode: "efficiency", args: search(20000, costRate)},
			{scenario: "slow", conns: 10000, roomSize: 100, msgBytes: 100, mode: "efficiency", args: []string{"--rate", "50000", "--duration", "2s"}},
			{scenario: "storm", conns: 19900, mode: "efficiency"},
			{scenario: "idle", conns: 19900, msgBytes: 100, mode: "efficiency", args: []string{"--checkpoints", "1000,5000,10000,19900"}},
		}
	}
	if name == "quick" {
		// Small and short: checks that everything runs; its rows are results only when
		// the machine was quiet for five valid repeats.
		step := []string{"--duration", "500ms", "--warmup", "200ms", "--start-rate", "40000", "--step-factor", "2",
			"--resolution", "1.3", "--max-steps", "6", "--cost-rate", "20000"}
		return []job{
			{scenario: "fanout", conns: 2000, roomSize: 1000, msgBytes: 100, mode: "efficiency", args: step},
			{scenario: "idle", conns: 1000, msgBytes: 100, mode: "efficiency", args: []string{"--checkpoints", "1000"}},
			{scenario: "storm", conns: 2000, mode: "efficiency"},
		}
	}
	// Full run: 11 systems × 5 repeats × 11 jobs, several hours on 2 cores.
	var js []job
	for _, rs := range []int{10, 100, 1000, 0} {
		js = append(js, job{scenario: "fanout", conns: 10000, roomSize: rs, msgBytes: 100, mode: "efficiency", args: search(20000, costRate)})
	}
	js = append(js,
		job{scenario: "fanout", conns: 10000, roomSize: 1000, msgBytes: 1024, mode: "efficiency", args: search(20000, costRate)},
		job{scenario: "fanout", conns: 10000, roomSize: 1000, msgBytes: 100, mode: "wholebox", args: search(20000, costRate)},
		job{scenario: "private", conns: 10000, roomSize: 2, msgBytes: 100, mode: "efficiency", args: search(10000, 10000)},
		job{scenario: "slow", conns: 10000, roomSize: 100, msgBytes: 100, mode: "efficiency", args: []string{"--rate", "50000", "--duration", "2s"}},
		job{scenario: "churn", conns: 10000, roomSize: 100, msgBytes: 100, mode: "efficiency", args: []string{"--rate", "50000", "--duration", "3s", "--churn-rate", "200"}},
		job{scenario: "storm", conns: 19900, mode: "efficiency"},
		job{scenario: "idle", conns: 19900, msgBytes: 100, mode: "efficiency", args: []string{"--checkpoints", "1000,5000,10000,19900"}},
	)
	return js
}

func main() {
	quick := flag.Bool("quick", false, "small sizes, short steps (under 3 minutes); same as --plan quick")
	planName := flag.String("plan", "full", "full, quick or targets (the full-size jobs the issue's targets name)")
	repeats := flag.Int("repeats", 5, "repeats of the whole interleaved run")
	minValid := flag.Int("min-valid", 5, "valid repeats a row needs to be a result")
	binDir := flag.String("bin", "bin", "directory with loadgen, switchboard and the peer binaries")
	outDir := flag.String("out", "results", "directory for latest.json, raw.json and the charts")
	readme := flag.String("readme", "README.md", "README whose results section is rewritten")
	only := flag.String("systems", "", "comma-separated subset of systems (default: all)")
	scen := flag.String("scenarios", "", "comma-separated subset of scenarios (default: all)")
	from := flag.String("from", "", "re-make latest.json and charts from this raw.json instead of running")
	section := flag.String("section", "", "with --from: also rewrite this README section (results or targets)")
	cmdNote := flag.String("cmd", "", "with --from and --section: the command that produced raw.json")
	flag.Parse()
	if *from != "" {
		b, err := os.ReadFile(*from)
		var raws []rawResult
		if err == nil {
			err = json.Unmarshal(b, &raws)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "run:", err)
			os.Exit(1)
		}
		rows := aggregate(raws, *minValid)
		writeJSON(filepath.Join(*outDir, "latest.json"), rows)
		charts(*outDir, rows, raws)
		if *section != "" {
			writeReadme(*readme, *section, *outDir, rows, *cmdNote, 0)
		}
		fmt.Fprintln(os.Stderr, "re-made", filepath.Join(*outDir, "latest.json"), "and the charts")
		return
	}

	syss := systems(*binDir)
	if *only != "" {
		syss = keepListed(syss, *only, func(s system) string { return s.name })
	}
	if *quick {
		*planName = "quick"
	}
	jobs := plan(*planName)
	if *scen != "" {
		jobs = keepListed(jobs, *scen, func(j job) string { return j.scenario })
	}
	os.MkdirAll(*outDir, 0o755)
	start := time.Now()
	var raws []rawResult
	total := *repeats * len(jobs) * len(syss)
	done := 0
	for r := 0; r < *repeats; r++ {
		for _, j := range jobs {
			// Interleave: rotate the system order each repeat so no system always runs
			// first (warm caches) or last (a machine busier from the others).
			for k := range syss {
				s := syss[(k+r)%len(syss)]
				done++
				fmt.Fprintf(os.Stderr, "\n[%d/%d %5.0fs] %s %s conns=%d room=%d bytes=%d %s\n", done, total,
					time.Since(start).Seconds(), s.name, j.scenario, j.conns, j.roomSize, j.msgBytes, j.mode)
				out, err := runOne(*binDir, s, j)
				if err != nil {
					fmt.Fprintf(os.Stderr, "  %s: %v\n", s.name, err)
					out = map[string]any{"error": err.Error()}
				}
				raws = append(raws, rawResult{System: s.name, Repeat: r, Mode: j.mode, Job: j.scenario, Result: out})
			}
		}
	}
	rows := aggregate(raws, *minValid)
	writeJSON(filepath.Join(*outDir, "latest.json"), rows)
	writeJSON(filepath.Join(*outDir, "raw.json"), raws)
	charts(*outDir, rows, raws)
	cmdline := "make bench"
	sec := "results"
	switch *planName {
	case "quick":
		cmdline = "make bench-quick"
	case "targets":
		cmdline = "cd bench && ./bin/run --plan targets --out results/targets"
		sec = "targets"
	}
	if *only != "" {
		cmdline += " (systems: " + *only + ")"
	}
	cmdline = strings.Join(append([]string{cmdline}, flagNotes()...), " ")
	writeReadme(*readme, sec, *outDir, rows, cmdline, time.Since(start))
	fmt.Fprintf(os.Stderr, "\ndone in %.0fs: %s\n", time.Since(start).Seconds(), filepath.Join(*outDir, "latest.json"))
}

// flagNotes lists the flags given beyond the plan's, for the README's command line.
func flagNotes() []string {
	var n []string
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "repeats" || f.Name == "min-valid" {
			n = append(n, "--"+f.Name+" "+f.Value.String())
		}
	})
	return n
}

type rawResult struct {
	System string         `json:"system"`
	Repeat int            `json:"repeat"`
	Mode   string         `json:"mode"`
	Job    string         `json:"job"`
	Result map[string]any `json:"result"`
}

func writeJSON(path string, v any) {
	b, _ := json.MarshalIndent(v, "", " ")
	os.WriteFile(path, append(b, '\n'), 0o644)
}

// freeAddr is a loopback address nobody listens on (for Switchboard's --debug-addr).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// debugArgs are the server's arguments and loadgen's extra ones for job j: a Switchboard
// idle run serves pprof on a free loopback port (--debug-addr) and loadgen forces its
// GCs there, as /debug/pprof/heap?gc=1 on the peers' own listener.
func debugArgs(s system, j job) (server, loadgen []string, err error) {
	server = append([]string{"--addr", "127.0.0.1:0"}, s.args...)
	if !s.switchboard || j.scenario != "idle" {
		return server, nil, nil
	}
	dbg, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	return append(server, "--debug-addr", dbg), []string{"--gc-url", "http://" + dbg + "/debug/pprof/heap?gc=1"}, nil
}

// runOne starts the server, runs loadgen against it and stops the server.
func runOne(binDir string, s system, j job) (map[string]any, error) {
	args, extra, err := debugArgs(s, j)
	if err != nil {
		return nil, err
	}
	bin := s.bin
	env := os.Environ()
	var srv *exec.Cmd
	if j.mode == "efficiency" {
		srv = exec.Command("taskset", append([]string{"-c", "0", bin}, args...)...)
		env = append(env, "GOMAXPROCS=1")
	} else {
		srv = exec.Command(bin, args...)
	}
	srv.Env = env
	stdout, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer stop(srv)
	addr, err := waitListening(stdout, 15*time.Second)
	if err != nil {
		return nil, err
	}
	go io.Copy(io.Discard, stdout)
	lg := []string{"--system", s.name, "--url", "ws://" + addr + "/ws", "--pid", strconv.Itoa(srv.Process.Pid),
		"--scenario", j.scenario, "--conns", strconv.Itoa(j.conns), "--room-size", strconv.Itoa(j.roomSize),
		"--msg-bytes", strconv.Itoa(j.msgBytes)}
	if s.proto != "" {
		lg = append(lg, "--proto", s.proto)
	}
	lg = append(append(lg, j.args...), extra...)
	var cl *exec.Cmd
	loadgen := filepath.Join(binDir, "loadgen")
	if j.mode == "efficiency" {
		cl = exec.Command("taskset", append([]string{"-c", "1", loadgen}, lg...)...)
	} else {
		cl = exec.Command(loadgen, lg...)
	}
	var out bytes.Buffer
	cl.Stdout = &out
	cl.Stderr = os.Stderr
	done := make(chan error, 1)
	if err := cl.Start(); err != nil {
		return nil, err
	}
	go func() { done <- cl.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
	case <-time.After(10 * time.Minute):
		cl.Process.Kill()
		return nil, fmt.Errorf("loadgen timed out")
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("loadgen output: %w", err)
	}
	res["mode"] = j.mode
	return res, nil
}

func waitListening(r io.Reader, d time.Duration) (string, error) {
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "listening on http://"); i >= 0 {
				found <- strings.TrimSpace(sc.Text()[i+len("listening on http://"):])
				return
			}
		}
		close(found)
	}()
	select {
	case a, ok := <-found:
		if !ok {
			return "", fmt.Errorf("server exited before listening")
		}
		return a, nil
	case <-time.After(d):
		return "", fmt.Errorf("server did not print its address in %v", d)
	}
}

func stop(c *exec.Cmd) {
	c.Process.Signal(syscall.SIGTERM)
	ch := make(chan struct{})
	go func() { c.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		c.Process.Kill()
		<-ch
	}
}

// keepListed keeps the items whose name is one of the comma-separated names in list.
func keepListed[T any](items []T, list string, name func(T) string) []T {
	keep := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		keep[s] = true
	}
	return slices.DeleteFunc(items, func(it T) bool { return !keep[name(it)] })
}
