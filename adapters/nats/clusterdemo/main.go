// Command clusterdemo runs a Switchboard cluster on this machine and measures it: one
// NATS server (natsd), N switchboard processes joined with --nats, and one bench loadgen
// per node holding its share of the connections in rooms that span every node, so every
// room chat crosses nodes. It prints delivered messages per second and latency, the file
// descriptors each process held, the same load against a single node for comparison,
// and how long a node killed with SIGKILL took to vanish from the others' presence.
//
// It only drives and measures: it never changes what it runs (binaries come from --bin).
//
//	make cluster-demo   # builds bin/switchboard, bin/natsd, bench/bin/loadgen, then runs this
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

type config struct {
	bin, loadgen string
	nodes        int
	connsPerNode int
	roomSize     int
	rate         float64
	duration     time.Duration
	single       bool
	kill         bool
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "bin", "directory holding switchboard and natsd")
	flag.StringVar(&c.loadgen, "loadgen", "bench/bin/loadgen", "the bench load generator")
	flag.IntVar(&c.nodes, "nodes", 5, "switchboard processes")
	flag.IntVar(&c.connsPerNode, "conns", 18000, "connections per node (each process stays under 20,000 descriptors)")
	flag.IntVar(&c.roomSize, "room-size", 100, "connections per room on each node (a room spans every node)")
	flag.Float64Var(&c.rate, "rate", 5000, "offered deliveries per second per loadgen, counted on its own node")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "measured window")
	flag.BoolVar(&c.single, "single", true, "also run the same per-node load against one node without NATS")
	flag.BoolVar(&c.kill, "kill", true, "finally kill -9 one node and time its departure from presence")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "clusterdemo:", err)
		os.Exit(1)
	}
}

// proc is a child process whose first "listening on" line gave its address.
type proc struct {
	cmd  *exec.Cmd
	addr string
}

var children struct {
	sync.Mutex
	all []*exec.Cmd
}

func start(name string, args []string, marker string) (*proc, error) {
	cmd := exec.Command(name, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	children.Lock()
	children.all = append(children.all, cmd)
	children.Unlock()
	lines := bufio.NewScanner(out)
	found := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if i := strings.Index(lines.Text(), marker); i >= 0 {
				f := strings.Fields(lines.Text()[i+len(marker):])
				if len(f) > 0 {
					select {
					case found <- f[0]:
					default:
					}
				}
			}
		}
	}()
	select {
	case addr := <-found:
		return &proc{cmd: cmd, addr: addr}, nil
	case <-time.After(20 * time.Second):
		return nil, fmt.Errorf("%s did not say %q", name, marker)
	}
}

func stopAll() {
	children.Lock()
	defer children.Unlock()
	for i := len(children.all) - 1; i >= 0; i-- {
		cmd := children.all[i]
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
			}
		}
	}
	children.all = nil
}

func fds(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents)
}

// loadResult is the part of loadgen's JSON this demo reads.
type loadResult struct {
	Conns         int   `json:"conns"`
	ConnectErrors int64 `json:"connect_errors"`
	Steps         []struct {
		Offered   float64 `json:"offered_per_sec"`
		Delivered float64 `json:"delivered_per_sec"`
		P50       float64 `json:"p50_ms"`
		P99       float64 `json:"p99_ms"`
		Max       float64 `json:"max_ms"`
	} `json:"steps"`
	UnexpectedCloses int64    `json:"unexpected_closes"`
	Notes            []string `json:"notes"`
}

func runLoad(c config, url string, pid int, label string) (*loadResult, error) {
	args := []string{"--url", url, "--scenario", "fanout", "--conns", strconv.Itoa(c.connsPerNode),
		"--room-size", strconv.Itoa(c.roomSize), "--users-per-room", "1", "--rate", fmt.Sprint(c.rate),
		"--duration", c.duration.String(), "--warmup", "3s", "--pid", strconv.Itoa(pid), "--system", label,
		"--quiet", "--lat50=false"}
	out, err := exec.Command(c.loadgen, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("loadgen %s: %w", label, err)
	}
	var r loadResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("loadgen %s: %w", label, err)
	}
	if len(r.Steps) == 0 {
		return nil, fmt.Errorf("loadgen %s measured nothing", label)
	}
	return &r, nil
}

func stats(addr string) (total int, err error) {
	resp, err := http.Get("http://" + addr + "/api/stats")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var s struct {
		Total int `json:"total_connections"`
	}
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s.Total, err
}

func run(c config) error {
	defer stopAll()
	store, err := os.MkdirTemp("", "clusterdemo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(store)
	natsd, err := start(filepath.Join(c.bin, "natsd"), []string{"--addr", "127.0.0.1:0", "--store", store}, "nats listening on ")
	if err != nil {
		return err
	}
	fmt.Printf("NATS %s; %d nodes × %d connections, rooms of %d per node (%d cluster-wide), %.0f deliveries/s offered per node\n",
		natsd.addr, c.nodes, c.connsPerNode, c.roomSize, c.roomSize*c.nodes, c.rate)
	var nodes []*proc
	for i := range c.nodes {
		p, err := start(filepath.Join(c.bin, "switchboard"), []string{"--addr", "127.0.0.1:0", "--nats", natsd.addr,
			"--node-id", fmt.Sprint("n", i), "--max-conns", "19900", "--max-per-user", "1000000", "--transport", "epoll"},
			"listening on http://")
		if err != nil {
			return err
		}
		nodes = append(nodes, p)
	}

	// fds: sampled while the load runs
	var maxFDs sync.Map
	stop := make(chan struct{})
	go func() {
		for {
			for _, p := range nodes {
				n := fds(p.cmd.Process.Pid)
				if old, ok := maxFDs.Load(p.cmd.Process.Pid); !ok || n > old.(int) {
					maxFDs.Store(p.cmd.Process.Pid, n)
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	results := make([]*loadResult, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	var peak struct {
		sync.Mutex
		total int
	}
	for i, p := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runLoad(c, "ws://"+p.addr+"/ws", p.cmd.Process.Pid, fmt.Sprint("n", i))
		}()
	}
	go func() { // the cluster-wide connection count, as any node's admin API sees it
		for {
			if t, err := stats(nodes[0].addr); err == nil {
				peak.Lock()
				peak.total = max(peak.total, t)
				peak.Unlock()
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
		}
	}()
	wg.Wait()
	close(stop)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	fmt.Println("\nnode  conns  fds(max)  delivered/s  p50 ms  p99 ms  max ms")
	var delivered, worstP99 float64
	for i, r := range results {
		s := r.Steps[len(r.Steps)-1]
		m, _ := maxFDs.Load(nodes[i].cmd.Process.Pid)
		fmt.Printf("n%-4d %-6d %-9v %-12.0f %-7.1f %-7.1f %.1f\n", i, r.Conns-int(r.ConnectErrors), m, s.Delivered, s.P50, s.P99, s.Max)
		delivered += s.Delivered
		worstP99 = max(worstP99, s.P99)
	}
	peak.Lock()
	fmt.Printf("cluster: %d connections seen by n0's /api/stats (peak), %.0f deliveries/s, worst p99 %.1f ms\n", peak.total, delivered, worstP99)
	peak.Unlock()
	fmt.Println("(a loadgen counts every chat its connections receive, from all nodes' publishers;\n its latency is from the scheduled send time, stamped in the message, to receipt)")

	if c.kill && len(nodes) > 1 {
		victim := nodes[len(nodes)-1]
		// 100 connections parked on the victim while it dies
		var held []*websocket.Conn
		for i := range 100 {
			ws, _, err := websocket.Dial(context.Background(), fmt.Sprintf("ws://%s/ws?user=held-%d", victim.addr, i), nil)
			if err != nil {
				return err
			}
			held = append(held, ws)
		}
		// the load's connections are gone once n0 counts exactly the parked ones
		deadline := time.Now().Add(60 * time.Second)
		for {
			t, _ := stats(nodes[0].addr)
			if t == len(held) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("n0 counts %d connections, want the %d parked ones", t, len(held))
			}
			time.Sleep(100 * time.Millisecond)
		}
		began := time.Now()
		victim.cmd.Process.Kill()
		victim.cmd.Wait()
		for {
			t, err := stats(nodes[0].addr)
			if err == nil && t == 0 {
				break
			}
			if time.Since(began) > 60*time.Second {
				fmt.Println("kill -9: the dead node's connections are still counted after 60 s")
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		fmt.Printf("kill -9 of n%d: its connections left n0's presence after %.1f s\n", len(nodes)-1, time.Since(began).Seconds())
		for _, ws := range held {
			ws.CloseNow()
		}
	}
	stopAll()

	if c.single {
		p, err := start(filepath.Join(c.bin, "switchboard"), []string{"--addr", "127.0.0.1:0", "--max-conns", "19900",
			"--max-per-user", "1000000", "--transport", "epoll"}, "listening on http://")
		if err != nil {
			return err
		}
		r, err := runLoad(c, "ws://"+p.addr+"/ws", p.cmd.Process.Pid, "single")
		if err != nil {
			return err
		}
		s := r.Steps[len(r.Steps)-1]
		fmt.Printf("\nsingle node, same per-node load: %d connections, %.0f deliveries/s, p50 %.1f ms, p99 %.1f ms\n",
			r.Conns-int(r.ConnectErrors), s.Delivered, s.P50, s.P99)
	}
	return nil
}
