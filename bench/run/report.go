package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"
)

// row is one line of latest.json: the median over repeats of one system × job.
type row struct {
	System              string   `json:"system"`
	Scenario            string   `json:"scenario"`
	Mode                string   `json:"mode"`
	Conns               int      `json:"conns"`
	RoomSize            int      `json:"room_size"`
	MsgBytes            int      `json:"msg_bytes"`
	DeliveredPerSec     *float64 `json:"delivered_per_sec"`
	CoreSecPerMillion   *float64 `json:"core_sec_per_million"`
	SyscallsPerDelivery *float64 `json:"syscalls_per_delivery"`
	P50                 *float64 `json:"p50_ms"`
	P99                 *float64 `json:"p99_ms"`
	RSSPerConn          *float64 `json:"rss_per_conn_bytes"`
	Goroutines          *float64 `json:"goroutines"`
	// Beyond the required columns:
	HeapStackPerConn  *float64 `json:"heap_stack_per_conn_bytes,omitempty"`
	RSSPerConnBefore  *float64 `json:"rss_per_conn_before_msg_bytes,omitempty"`
	P99Saturation     *float64 `json:"p99_at_saturation_ms,omitempty"`
	P99Baseline       *float64 `json:"p99_without_stall_ms,omitempty"`
	ConnectSec        *float64 `json:"connect_sec,omitempty"`
	ConnectPerSec     *float64 `json:"connect_per_sec,omitempty"`
	ClientCPU         *float64 `json:"client_cpu_frac,omitempty"`
	PublisherLagP99   *float64 `json:"publisher_lag_p99_ms,omitempty"`
	Lost              *float64 `json:"lost,omitempty"`
	Reordered         *float64 `json:"reordered,omitempty"`
	SlowConsumerClose *float64 `json:"slow_consumer_closes,omitempty"`
	Valid             bool     `json:"valid"`
	Repeats           int      `json:"repeats"`
	Errors            []string `json:"errors,omitempty"`
}

func num(m map[string]any, path ...string) *float64 {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	f, ok := cur.(float64)
	if !ok {
		return nil
	}
	return &f
}

func ptr(f float64) *float64 { return &f }

func div(a *float64, b float64) *float64 {
	if a == nil || b == 0 {
		return nil
	}
	return ptr(*a / b)
}

// samples turns one loadgen output into rows (idle gives one per checkpoint).
func samples(r rawResult) []row {
	m := r.Result
	base := row{System: r.System, Scenario: r.Job, Mode: r.Mode, Valid: true}
	if e, ok := m["error"].(string); ok {
		base.Valid = false
		base.Errors = []string{e}
		return []row{base}
	}
	geti := func(k string) int {
		if f := num(m, k); f != nil {
			return int(*f)
		}
		return 0
	}
	base.Conns, base.RoomSize, base.MsgBytes = geti("conns"), geti("room_size"), geti("msg_bytes")
	if v, ok := m["valid"].(bool); ok {
		base.Valid = v
	}
	base.Goroutines = num(m, "goroutines")
	base.RSSPerConn = div(num(m, "server_rss_bytes"), float64(base.Conns))
	base.Lost = num(m, "lost")
	base.Reordered = num(m, "reordered")
	base.SlowConsumerClose = num(m, "slow_consumer_closes")
	switch r.Job {
	case "idle":
		list, _ := m["idle"].([]any)
		var out []row
		for _, it := range list {
			im, _ := it.(map[string]any)
			x := base
			x.Conns = int(*num(im, "conns"))
			x.RSSPerConn = num(im, "rss_per_conn_after_msg_bytes")
			x.RSSPerConnBefore = num(im, "rss_per_conn_bytes")
			x.HeapStackPerConn = num(im, "heap_stack_per_conn_after_msg_bytes")
			if x.HeapStackPerConn != nil && *x.HeapStackPerConn < 0 {
				x.HeapStackPerConn = nil
			}
			x.Goroutines = num(im, "goroutines_after_msg")
			x.Lost, x.Reordered = nil, nil
			out = append(out, x)
		}
		return out
	case "storm":
		base.ConnectSec = num(m, "connect_sec")
		base.ConnectPerSec = num(m, "connect_per_sec")
		base.Lost, base.Reordered = nil, nil
		return []row{base}
	case "slow":
		base.DeliveredPerSec = num(m, "stalled", "delivered_per_sec")
		base.CoreSecPerMillion = num(m, "stalled", "core_sec_per_million")
		base.SyscallsPerDelivery = num(m, "stalled", "syscalls_per_delivery")
		base.P50 = num(m, "stalled", "p50_ms")
		base.P99 = num(m, "stalled", "p99_ms")
		base.P99Baseline = num(m, "half_load", "p99_ms")
		base.PublisherLagP99 = num(m, "stalled", "publisher_lag_p99_ms")
		base.ClientCPU = num(m, "stalled", "client_cpu_frac")
		return []row{base}
	default: // fanout, private, churn
		base.DeliveredPerSec = num(m, "saturation", "delivered_per_sec")
		base.CoreSecPerMillion = num(m, "saturation", "core_sec_per_million")
		base.SyscallsPerDelivery = num(m, "saturation", "syscalls_per_delivery")
		base.ClientCPU = num(m, "saturation", "client_cpu_frac")
		base.P99Saturation = num(m, "saturation", "p99_ms")
		if num(m, "half_load", "p99_ms") != nil {
			base.P50 = num(m, "half_load", "p50_ms")
			base.P99 = num(m, "half_load", "p99_ms")
			base.PublisherLagP99 = num(m, "half_load", "publisher_lag_p99_ms")
		} else {
			base.P50 = num(m, "saturation", "p50_ms")
			base.P99 = num(m, "saturation", "p99_ms")
			base.PublisherLagP99 = num(m, "saturation", "publisher_lag_p99_ms")
		}
		base.ConnectPerSec = num(m, "connect_per_sec")
		return []row{base}
	}
}

func key(r row) string {
	return fmt.Sprintf("%s|%s|%s|%d|%d|%d", r.System, r.Scenario, r.Mode, r.Conns, r.RoomSize, r.MsgBytes)
}

func median(xs []*float64) *float64 {
	var v []float64
	for _, x := range xs {
		if x != nil {
			v = append(v, *x)
		}
	}
	if len(v) == 0 {
		return nil
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return ptr(v[len(v)/2])
	}
	return ptr((v[len(v)/2-1] + v[len(v)/2]) / 2)
}

// medians groups the samples of every repeat and takes each field's median.
func medians(raws []rawResult) []row {
	groups := map[string][]row{}
	var order []string
	for _, r := range raws {
		for _, s := range samples(r) {
			k := key(s)
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], s)
		}
	}
	var out []row
	for _, k := range order {
		g := groups[k]
		m := g[0]
		m.Repeats = len(g)
		m.Valid = true
		m.Errors = nil
		fields := []func(*row) **float64{
			func(r *row) **float64 { return &r.DeliveredPerSec }, func(r *row) **float64 { return &r.CoreSecPerMillion },
			func(r *row) **float64 { return &r.SyscallsPerDelivery }, func(r *row) **float64 { return &r.P50 },
			func(r *row) **float64 { return &r.P99 }, func(r *row) **float64 { return &r.RSSPerConn },
			func(r *row) **float64 { return &r.Goroutines }, func(r *row) **float64 { return &r.HeapStackPerConn },
			func(r *row) **float64 { return &r.RSSPerConnBefore }, func(r *row) **float64 { return &r.P99Saturation },
			func(r *row) **float64 { return &r.P99Baseline }, func(r *row) **float64 { return &r.ConnectSec },
			func(r *row) **float64 { return &r.ConnectPerSec }, func(r *row) **float64 { return &r.ClientCPU },
			func(r *row) **float64 { return &r.Lost }, func(r *row) **float64 { return &r.Reordered },
			func(r *row) **float64 { return &r.SlowConsumerClose },
			func(r *row) **float64 { return &r.PublisherLagP99 },
		}
		for _, f := range fields {
			var xs []*float64
			for i := range g {
				xs = append(xs, *f(&g[i]))
			}
			*f(&m) = median(xs)
		}
		for _, s := range g {
			if !s.Valid {
				m.Valid = false
			}
			m.Errors = append(m.Errors, s.Errors...)
		}
		out = append(out, m)
	}
	return out
}

func fmtp(f *float64, prec int) string {
	if f == nil {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, *f)
}

func fmtk(f *float64) string {
	if f == nil {
		return "–"
	}
	if *f >= 10000 {
		return fmt.Sprintf("%.0fk", *f/1000)
	}
	return fmt.Sprintf("%.0f", *f)
}

func machine() string {
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	kern, _ := exec.Command("uname", "-r").Output()
	nproc, _ := exec.Command("nproc").Output()
	return fmt.Sprintf("%s CPUs (`nproc`), %s, Linux %s, %s", strings.TrimSpace(string(nproc)), cpu,
		strings.TrimSpace(string(kern)), runtime.Version())
}

func table(rows []row) string {
	var b strings.Builder
	b.WriteString("| system | scenario | mode | conns | room | bytes | delivered/s | core-s/M | writes/deliv | p50 ms | p99 ms | RSS B/conn | heap+stack B/conn | goroutines | other |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		other := []string{}
		if r.ConnectSec != nil && r.Scenario == "storm" {
			other = append(other, fmt.Sprintf("all connected in %.2f s", *r.ConnectSec))
		}
		if r.P99Baseline != nil {
			other = append(other, fmt.Sprintf("p99 without stall %.1f ms", *r.P99Baseline))
		}
		if r.P99Saturation != nil {
			other = append(other, fmt.Sprintf("p99 at saturation %.0f ms", *r.P99Saturation))
		}
		if r.RSSPerConnBefore != nil {
			other = append(other, fmt.Sprintf("RSS before msg %.0f", *r.RSSPerConnBefore))
		}
		if r.Lost != nil && *r.Lost != 0 {
			other = append(other, fmt.Sprintf("lost %.0f", *r.Lost))
		}
		if r.Reordered != nil && *r.Reordered != 0 {
			other = append(other, fmt.Sprintf("reordered %.0f", *r.Reordered))
		}
		if r.PublisherLagP99 != nil && *r.PublisherLagP99 >= 0.5 {
			other = append(other, fmt.Sprintf("loadgen's own send lag p99 %.1f ms", *r.PublisherLagP99))
		}
		if r.ClientCPU != nil {
			other = append(other, fmt.Sprintf("loadgen CPU %.0f%%", *r.ClientCPU*100))
		}
		if r.DeliveredPerSec != nil && r.CoreSecPerMillion != nil && r.Mode == "efficiency" {
			// the server's own core: near 100 % means it, not loadgen, set the pace
			other = append(other, fmt.Sprintf("server core busy %.0f%%", *r.DeliveredPerSec**r.CoreSecPerMillion/1e4))
		}
		if !r.Valid {
			other = append(other, "**INVALID**")
		}
		for _, e := range r.Errors {
			if len(e) > 60 {
				e = e[:60]
			}
			other = append(other, "error: "+e)
		}
		room := fmt.Sprint(r.RoomSize)
		if r.Scenario != "idle" && r.Scenario != "storm" && r.RoomSize == r.Conns && r.Conns > 0 {
			room = "all"
		}
		if r.Scenario == "storm" {
			room = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.System, r.Scenario, r.Mode, r.Conns, room, r.MsgBytes, fmtk(r.DeliveredPerSec), fmtp(r.CoreSecPerMillion, 2),
			fmtp(r.SyscallsPerDelivery, 3), fmtp(r.P50, 2), fmtp(r.P99, 2), fmtp(r.RSSPerConn, 0),
			fmtp(r.HeapStackPerConn, 0), fmtp(r.Goroutines, 0), strings.Join(other, "; "))
	}
	return b.String()
}

// writeReadme replaces one section (between its markers) of the README, keeping the rest.
func writeReadme(path, section, outDir string, rows []row, cmd string, took time.Duration) {
	beginMark := "<!-- " + section + ":begin (written by bench/run) -->"
	endMark := "<!-- " + section + ":end -->"
	rel := strings.TrimPrefix(outDir, "./")
	when := fmt.Sprintf("took %.0f s, %s UTC", took.Seconds(), time.Now().UTC().Format("2006-01-02 15:04"))
	if took == 0 {
		when = "tables re-made from its raw.json with `bin/run --from`"
	}
	sec := fmt.Sprintf("%s\n\nRun `%s` (%s). Machine: %s.\nMedians over repeats; efficiency mode pins the server to core 0 with GOMAXPROCS=1 and the load generator to core 1; wholebox pins nothing.\n`p50`/`p99` are at 50 %% of the system's own saturation for fanout/private, at the fixed rate for slow/churn. JSON: `%s/latest.json`.\n\n%s\n![delivered by room size](%s/fanout_by_room.png)\n![latency vs offered load](%s/latency_vs_load.png)\n\n%s\n",
		beginMark, cmd, when, machine(), rel, table(rows), rel, rel, endMark)
	old, _ := os.ReadFile(path)
	s := string(old)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i >= 0 && j > i {
		s = s[:i] + sec + strings.TrimPrefix(s[j+len(endMark):], "\n")
	} else {
		if s == "" {
			s = "# Switchboard benchmarks\n\n"
		}
		s += "\n## " + section + "\n\n" + sec
	}
	os.WriteFile(path, []byte(s), 0o644)
}
