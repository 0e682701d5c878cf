// Command loadgen drives WebSocket room-chat servers (Switchboard and the peers in
// bench/peers) and measures delivered messages per second, delivery latency, loss, order,
// connect rate, and the server's CPU, write syscalls, memory and goroutines from /proc and
// its metrics endpoint. It prints one JSON result on stdout and a progress bar on stderr.
//
// It owns only the client side: it never starts or stops servers (bench/run does). It
// must cost far less than the server it measures (epoll readers, big reads, no JSON
// decoding, sampled latency; it reports its own CPU per delivery), and it never reports
// a window it cannot vouch for: a step where it used over --max-client-cpu of its CPUs,
// or other processes over --max-other-cpu of the machine, is marked invalid.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// bulkIntervalDefault is --bulk-interval. Measured (bench/README.md, Method): against
// raw-epoll at 2,000 connections and 300,000 deliveries/s, 25 ms cost 1.1–1.5 µs of
// loadgen CPU per delivery, 50 ms 0.56–0.79, 100 ms 0.46–0.56 (each read also sends the
// server an ACK, so fewer reads is what counts), while a socket held a few KiB at a read
// of its 128 KiB and more of receive buffer.
const bulkIntervalDefault = 100 * time.Millisecond

const (
	protoSwitchboard = "switchboard"
	protoCentrifuge  = "centrifuge"
)

type config struct {
	system, base, hostport, path, proto, scenario, gcURL string
	pid, conns, roomSize, msgBytes, srcIPs               int
	connectConc, maxSteps, usersPerRoom                  int
	readers, minLatencySample, retries                   int
	rate, startRate, stepFactor, slowFrac                float64
	churnRate, costRate, sloP99, resolution              float64
	maxClientCPU, maxOtherCPU, latencySample             float64
	duration, warmup, hold, readInterval, bulkInterval   time.Duration
	checkpoints                                          []int
	lat50, quiet                                         bool
}

func main() {
	var cfg config
	var rawURL, checkpoints string
	flag.StringVar(&cfg.system, "system", "", "label for the result")
	flag.StringVar(&rawURL, "url", "ws://127.0.0.1:8080/ws", "WebSocket URL of the server (http(s) base is derived from it)")
	flag.StringVar(&cfg.proto, "proto", protoSwitchboard, "switchboard (also the peers) or centrifuge")
	flag.IntVar(&cfg.pid, "pid", 0, "server PID for /proc statistics")
	flag.StringVar(&cfg.scenario, "scenario", "fanout", "idle|fanout|private|slow|storm|churn")
	flag.IntVar(&cfg.conns, "conns", 1000, "connections (one process; keep under 19,900)")
	flag.IntVar(&cfg.roomSize, "room-size", 100, "connections per room (0: all in one room)")
	flag.IntVar(&cfg.usersPerRoom, "users-per-room", 1, "distinct user ids per room in fanout (few users keep user_joined presence traffic out of the setup)")
	flag.IntVar(&cfg.msgBytes, "msg-bytes", 100, "content bytes per message")
	flag.Float64Var(&cfg.rate, "rate", 0, "offered deliveries per second (0: search for the SLO rate)")
	flag.Float64Var(&cfg.startRate, "start-rate", 20000, "first step of the SLO search, deliveries/s")
	flag.Float64Var(&cfg.stepFactor, "step-factor", 1.6, "rate multiplier between steps until the first miss")
	flag.Float64Var(&cfg.resolution, "resolution", 1.1, "after the first miss, bisect until the failing rate is within this factor of the passing one")
	flag.IntVar(&cfg.maxSteps, "max-steps", 14, "maximum valid steps of the SLO search")
	flag.IntVar(&cfg.retries, "retries", 3, "SLO search: an invalid step (client or machine busy) is re-run at the same rate this many times; it never counts as a miss (a --rate run is one step)")
	flag.Float64Var(&cfg.sloP99, "slo-p99-ms", 50, "SLO: p99 delivery latency over the whole step")
	flag.Float64Var(&cfg.costRate, "cost-rate", 0, "fanout/private: after the search, one step at this fixed rate for core_sec_per_million and writes_per_delivery (0: none)")
	flag.IntVar(&cfg.readers, "readers", 0, "bulk reader goroutines, each with its own epoll set, beside the one latency reader (0: GOMAXPROCS)")
	flag.Float64Var(&cfg.latencySample, "latency-sample", 0.05, "share of the clients, spread over the rooms, read every --read-interval by the latency reader: the only source of latency samples (every one of their deliveries is one)")
	flag.IntVar(&cfg.minLatencySample, "min-latency-sample", 50, "at least this many clients in the latency sample (all of them when there are fewer)")
	flag.DurationVar(&cfg.readInterval, "read-interval", time.Millisecond, "the latency reader wakes at most this often (batches wake-ups; adds up to this to measured latency)")
	flag.DurationVar(&cfg.bulkInterval, "bulk-interval", bulkIntervalDefault, "while traffic runs, the bulk readers (every client outside the latency sample) wake at most this often: one read brings all a connection got meanwhile")
	flag.Float64Var(&cfg.maxClientCPU, "max-client-cpu", 0.70, "a step where loadgen used more of its CPUs than this is invalid")
	flag.Float64Var(&cfg.maxOtherCPU, "max-other-cpu", 0.10, "a step where other processes used more of the machine than this is invalid")
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "length of one measured step")
	flag.DurationVar(&cfg.warmup, "warmup", 0, "unmeasured lead-in of each step (0: a quarter of --duration, at least 300ms)")
	flag.IntVar(&cfg.srcIPs, "src-ips", 16, "spread source addresses over 127.0.0.2..2+n-1 (0: default)")
	flag.IntVar(&cfg.connectConc, "connect-concurrency", 64, "parallel dials while setting up")
	flag.StringVar(&checkpoints, "checkpoints", "1000,5000,10000,19900", "idle: connection counts to measure at")
	flag.Float64Var(&cfg.slowFrac, "slow-frac", 0.01, "slow: fraction of clients that stop reading")
	flag.Float64Var(&cfg.churnRate, "churn-rate", 200, "churn: connects (and disconnects) per second")
	flag.BoolVar(&cfg.lat50, "lat50", true, "fanout/private: after the search, measure p99 at half the SLO rate")
	flag.BoolVar(&cfg.quiet, "quiet", false, "no progress bar")
	flag.DurationVar(&cfg.hold, "hold", 0, "keep the connections open this long after measuring (to profile the server)")
	flag.StringVar(&cfg.gcURL, "gc-url", "", "URL that makes the server collect garbage (default: its /debug/pprof/heap?gc=1, then /metrics?gc=1)")
	cpuProfile := flag.String("cpuprofile", "", "write loadgen's own CPU profile here (to see where its cost per delivery goes)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}

	u, err := url.Parse(rawURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: bad --url:", err)
		os.Exit(2)
	}
	cfg.hostport = u.Host
	cfg.path = u.Path
	cfg.base = "http://" + u.Host
	for _, s := range strings.Split(checkpoints, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n > 0 {
			cfg.checkpoints = append(cfg.checkpoints, n)
		}
	}
	if cfg.roomSize <= 0 || cfg.roomSize > cfg.conns {
		cfg.roomSize = cfg.conns
	}
	if cfg.readers <= 0 {
		cfg.readers = runtime.GOMAXPROCS(0)
	}
	g := &gen{cfg: cfg}
	if err := g.startReaders(cfg.readers); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	res := g.run()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.Encode(res)
}

// roomState is one publishing target: a room (fanout) or a peer user (private).
type roomState struct {
	pub    *client
	name   string
	pre    []byte // frame JSON up to the content
	suf    []byte // frame JSON after the content
	active atomic.Int64
	seq    uint64
}

type gen struct {
	cfg             config
	readers         []*reader // the latency readers, then the bulk readers
	latencyReaders  []*reader
	bulkReaders     []*reader
	bulk            atomic.Bool                                 // traffic runs: bulk readers wake every --bulk-interval
	testTally       tally                                       // counts of clients without a reader (tests)
	stepFn          func(label string, rate float64) stepResult // tests: stands in for step
	clients         []*client
	rooms           []*roomState
	member          sync.Map // *client -> *roomState it counts toward
	unexpectedClose atomic.Int64
	serverCloses    atomic.Int64
	slowCloses      atomic.Int64
	expected        atomic.Uint64
	writtenOff      atomic.Int64 // deliveries still owed after a step's drain: lost, not backlog
	stopping        atomic.Bool  // the readers return
}

// unmeasure stops counting c's deliveries (stalled, churned out or closed).
func (g *gen) unmeasure(c *client) {
	if c.measured.CompareAndSwap(true, false) {
		if r, ok := g.member.Load(c); ok {
			r.(*roomState).active.Add(-1)
		}
	}
}

type stepResult struct {
	Label               string  `json:"label"`
	Offered             float64 `json:"offered_per_sec"`
	Sent                float64 `json:"sent_per_sec"`
	Delivered           float64 `json:"delivered_per_sec"`
	P50                 float64 `json:"p50_ms"`
	P99                 float64 `json:"p99_ms"`
	P999                float64 `json:"p999_ms"`
	Max                 float64 `json:"max_ms"`
	Samples             uint64  `json:"latency_samples"`
	BacklogGrowth       float64 `json:"backlog_growth"` // deliveries owed at the end minus at the start
	ServerCPUSec        float64 `json:"server_cpu_sec"`
	CoreSecPerMillion   float64 `json:"core_sec_per_million"`
	SyscallsPerDelivery float64 `json:"writes_per_delivery"` // the server's write syscalls (write, writev, sendmsg…)
	ClientCPU           float64 `json:"client_cpu_frac"`     // of the CPUs loadgen may run on
	ClientUSPerDelivery float64 `json:"client_us_per_delivery"`
	DeliveriesPerRead   float64 `json:"deliveries_per_read"`
	BulkMaxQueued       uint64  `json:"bulk_max_queued_bytes"` // the most one bulk-read socket held at a read
	RcvBuf              int     `json:"rcvbuf_bytes"`          // SO_RCVBUF of a bulk-read socket at the end of the window
	OtherCPU            float64 `json:"other_cpu_frac"`        // other processes, of the whole machine
	SchedLagP99         float64 `json:"publisher_lag_p99_ms"`  // how late the load generator sent (included in the latencies)
	RSS                 uint64  `json:"server_rss_bytes"`
	Saturated           bool    `json:"saturated"` // messages were shed: the server owed over a quarter second
	SLOPass             bool    `json:"slo_pass"`
	Miss                string  `json:"slo_miss,omitempty"`
	Valid               bool    `json:"valid"`
	Invalid             string  `json:"invalid_reason,omitempty"`
}

type idleRow struct {
	Conns                 int     `json:"conns"`
	RSSPerConn            float64 `json:"rss_per_conn_bytes"`
	HeapStackPerConn      float64 `json:"heap_stack_per_conn_bytes"`
	Goroutines            int64   `json:"goroutines"`
	RSSPerConnAfterMsg    float64 `json:"rss_per_conn_after_msg_bytes"`
	HeapStackPerConnAfter float64 `json:"heap_stack_per_conn_after_msg_bytes"`
	GoroutinesAfterMsg    int64   `json:"goroutines_after_msg"`
	GC                    bool    `json:"gc_forced"`
}

type result struct {
	System           string       `json:"system"`
	Scenario         string       `json:"scenario"`
	Conns            int          `json:"conns"`
	RoomSize         int          `json:"room_size"`
	MsgBytes         int          `json:"msg_bytes"`
	ConnectSec       float64      `json:"connect_sec"`
	ConnectRate      float64      `json:"connect_per_sec"`
	ConnectErrors    int64        `json:"connect_errors"`
	FirstError       string       `json:"first_error,omitempty"`
	Steps            []stepResult `json:"steps,omitempty"`
	SLO              *stepResult  `json:"slo_step,omitempty"`  // the fastest step that met the SLO
	Half             *stepResult  `json:"half_load,omitempty"` // at half the SLO rate (slow: the run before the stall)
	Cost             *stepResult  `json:"cost_step,omitempty"` // at --cost-rate
	Stalled          *stepResult  `json:"stalled,omitempty"`
	SLORate          *float64     `json:"slo_rate,omitempty"`
	SLOLowerBound    bool         `json:"slo_rate_lower_bound,omitempty"` // the search ended before any miss
	P99HalfSLO       *float64     `json:"p99_ms_at_half_slo,omitempty"`
	CoreSecPerM      *float64     `json:"core_sec_per_million,omitempty"`
	WritesPerDeliv   *float64     `json:"writes_per_delivery,omitempty"`
	CostRate         float64      `json:"cost_rate,omitempty"`
	ClientUSPerDeliv *float64     `json:"client_us_per_delivery,omitempty"` // at the SLO step
	InvalidSteps     int          `json:"invalid_steps"`
	ClientCPU        float64      `json:"client_cpu_frac,omitempty"` // storm
	OtherCPU         float64      `json:"other_cpu_frac,omitempty"`  // storm
	Idle             []idleRow    `json:"idle,omitempty"`
	Expected         uint64       `json:"expected"`
	Received         uint64       `json:"received"`
	Lost             int64        `json:"lost"`
	Reordered        uint64       `json:"reordered"`
	UnexpectedCloses int64        `json:"unexpected_closes"`
	SlowCloses       int64        `json:"slow_consumer_closes"`
	ServerCloses     int64        `json:"server_close_frames"`
	ChurnConnects    int64        `json:"churn_connects,omitempty"`
	ChurnErrors      int64        `json:"churn_errors,omitempty"`
	RSSBytes         uint64       `json:"server_rss_bytes"`
	Goroutines       int64        `json:"goroutines"`
	HeapStack        int64        `json:"heap_stack_bytes"`
	Valid            bool         `json:"valid"`
	Invalid          []string     `json:"invalid_reasons,omitempty"`
	Notes            []string     `json:"notes,omitempty"`
}

// invalidate marks the result as not a result, saying why.
func (r *result) invalidate(why string) {
	r.Valid = false
	r.Invalid = append(r.Invalid, why)
}

func (g *gen) run() *result {
	res := &result{System: g.cfg.system, Scenario: g.cfg.scenario, Conns: g.cfg.conns,
		RoomSize: g.cfg.roomSize, MsgBytes: g.cfg.msgBytes, Valid: true}
	switch g.cfg.scenario {
	case "idle":
		g.runIdle(res)
	case "storm":
		g.runStorm(res)
	case "fanout", "private", "slow", "churn":
		g.runTraffic(res)
	default:
		fmt.Fprintln(os.Stderr, "loadgen: unknown scenario", g.cfg.scenario)
		os.Exit(2)
	}
	rt := g.serverRuntime()
	res.Goroutines = rt.goroutines
	res.HeapStack = rt.heapStack
	res.RSSBytes = readProc(g.cfg.pid).rss
	time.Sleep(g.cfg.hold)
	for _, c := range g.clients {
		if c != nil {
			c.close()
		}
	}
	res.SlowCloses = g.slowCloses.Load()
	res.ServerCloses = g.serverCloses.Load()
	return res
}
