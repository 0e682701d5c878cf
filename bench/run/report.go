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

// stat is one measure over the valid repeats of a job.
type stat struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// row is one line of latest.json: one system × job over every repeat. Each measure is
// taken over the valid repeats only; a row is valid when at least --min-valid were.
type row struct {
	System   string `json:"system"`
	Scenario string `json:"scenario"`
	Mode     string `json:"mode"`
	Conns    int    `json:"conns"`
	RoomSize int    `json:"room_size"`
	MsgBytes int    `json:"msg_bytes"`
	// The measures (null where the scenario has none).
	SLORate           *stat `json:"slo_rate"`             // deliveries/s sustained at p99 ≤ 50 ms, no backlog growth
	CoreSecPerMillion *stat `json:"core_sec_per_million"` // server CPU seconds per million deliveries, at cost_rate
	WritesPerDelivery *stat `json:"writes_per_delivery"`  // server write syscalls per delivery, at cost_rate
	P99HalfSLO        *stat `json:"p99_ms_at_half_slo"`
	RSSPerConn        *stat `json:"rss_per_conn_bytes"`  // idle, after one message each and a forced GC
	HeapPerConn       *stat `json:"heap_per_conn_bytes"` // idle: Go heap in use + stacks, same moment
	// Context.
	CostRate            float64  `json:"cost_rate,omitempty"`
	CostMissedSLO       bool     `json:"cost_step_missed_slo,omitempty"` // in some valid repeat: the cost rate was not one it sustains
	SLOLowerBound       bool     `json:"slo_rate_lower_bound,omitempty"`
	ClientUSPerDelivery *stat    `json:"client_us_per_delivery,omitempty"` // loadgen CPU per delivery at the SLO step
	ClientCPUAtSLO      *stat    `json:"client_cpu_frac_at_slo,omitempty"`
	P99                 *stat    `json:"p99_ms,omitempty"` // slow (stalled) and churn: at the fixed rate
	P99Baseline         *stat    `json:"p99_without_stall_ms,omitempty"`
	ConnectSec          *stat    `json:"connect_sec,omitempty"` // storm
	RSSBeforeMsg        *stat    `json:"rss_per_conn_before_msg_bytes,omitempty"`
	Goroutines          *stat    `json:"goroutines,omitempty"`
	Lost                *stat    `json:"lost,omitempty"`
	Reordered           *stat    `json:"reordered,omitempty"`
	Repeats             int      `json:"repeats"`
	ValidRepeats        int      `json:"valid_repeats"`
	Valid               bool     `json:"valid"`
	Invalid             []string `json:"invalid_reasons,omitempty"`
}

// sample is one repeat's numbers for one row.
type sample struct {
	row
	vals       map[string]float64
	valid      bool
	invalid    []string
	lower      bool
	costMissed bool
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

func strs(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// samples turns one loadgen output into samples (idle gives one per checkpoint).
func samples(r rawResult) []sample {
	m := r.Result
	base := sample{row: row{System: r.System, Scenario: r.Job, Mode: r.Mode}, vals: map[string]float64{}, valid: true}
	if e, ok := m["error"].(string); ok {
		base.valid, base.invalid = false, []string{e}
		return []sample{base}
	}
	geti := func(k string) int {
		if f := num(m, k); f != nil {
			return int(*f)
		}
		return 0
	}
	base.Conns, base.RoomSize, base.MsgBytes = geti("conns"), geti("room_size"), geti("msg_bytes")
	if v, ok := m["valid"].(bool); ok {
		base.valid = v
	}
	base.invalid = strs(m["invalid_reasons"])
	put := func(s *sample, k string, v *float64) {
		if v != nil {
			s.vals[k] = *v
		}
	}
	put(&base, "lost", num(m, "lost"))
	put(&base, "reordered", num(m, "reordered"))
	put(&base, "goroutines", num(m, "goroutines"))
	switch r.Job {
	case "idle":
		list, _ := m["idle"].([]any)
		var out []sample
		for _, it := range list {
			im, _ := it.(map[string]any)
			x := base
			x.vals = map[string]float64{}
			x.Conns = int(*num(im, "conns"))
			put(&x, "rss_per_conn_bytes", num(im, "rss_per_conn_after_msg_bytes"))
			put(&x, "rss_before_msg", num(im, "rss_per_conn_bytes"))
			if h := num(im, "heap_stack_per_conn_after_msg_bytes"); h != nil && *h >= 0 {
				x.vals["heap_per_conn_bytes"] = *h
			}
			put(&x, "goroutines", num(im, "goroutines_after_msg"))
			out = append(out, x)
		}
		return out
	case "storm":
		put(&base, "connect_sec", num(m, "connect_sec"))
	case "slow":
		put(&base, "p99_ms", num(m, "stalled", "p99_ms"))
		put(&base, "p99_baseline", num(m, "half_load", "p99_ms"))
		put(&base, "core_sec_per_million", num(m, "stalled", "core_sec_per_million"))
		put(&base, "writes_per_delivery", num(m, "stalled", "writes_per_delivery"))
	case "churn":
		put(&base, "p99_ms", num(m, "cost_step", "p99_ms"))
		put(&base, "core_sec_per_million", num(m, "core_sec_per_million"))
		put(&base, "writes_per_delivery", num(m, "writes_per_delivery"))
	default: // fanout, private
		put(&base, "slo_rate", num(m, "slo_rate"))
		put(&base, "p99_ms_at_half_slo", num(m, "p99_ms_at_half_slo"))
		put(&base, "core_sec_per_million", num(m, "core_sec_per_million"))
		put(&base, "writes_per_delivery", num(m, "writes_per_delivery"))
		put(&base, "client_us", num(m, "client_us_per_delivery"))
		put(&base, "client_cpu", num(m, "slo_step", "client_cpu_frac"))
		if f := num(m, "cost_rate"); f != nil {
			base.CostRate = *f
		}
		base.lower, _ = m["slo_rate_lower_bound"].(bool)
		cost, _ := m["cost_step"].(map[string]any)
		if pass, ok := cost["slo_pass"].(bool); ok && !pass {
			base.costMissed = true
		}
	}
	return []sample{base}
}

func key(r row) string {
	return fmt.Sprintf("%s|%s|%s|%d|%d|%d", r.System, r.Scenario, r.Mode, r.Conns, r.RoomSize, r.MsgBytes)
}

func statOf(xs []float64) *stat {
	if len(xs) == 0 {
		return nil
	}
	v := append([]float64(nil), xs...)
	sort.Float64s(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return &stat{Min: v[0], Median: med, Max: v[len(v)-1], N: len(v)}
}

// aggregate groups the samples of every repeat into rows: min/median/max of each measure
// over the valid repeats, and the reasons the others were invalid.
func aggregate(raws []rawResult, minValid int) []row {
	groups := map[string][]sample{}
	var order []string
	for _, r := range raws {
		for _, s := range samples(r) {
			k := key(s.row)
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], s)
		}
	}
	var out []row
	for _, k := range order {
		g := groups[k]
		m := g[0].row
		m.Repeats = len(g)
		vals := map[string][]float64{}
		seen := map[string]bool{}
		for _, s := range g {
			if !s.valid {
				for _, why := range s.invalid {
					if !seen[why] {
						seen[why] = true
						m.Invalid = append(m.Invalid, why)
					}
				}
				continue
			}
			m.ValidRepeats++
			m.SLOLowerBound = m.SLOLowerBound || s.lower
			m.CostMissedSLO = m.CostMissedSLO || s.costMissed
			for name, v := range s.vals {
				vals[name] = append(vals[name], v)
			}
		}
		m.SLORate, m.P99HalfSLO = statOf(vals["slo_rate"]), statOf(vals["p99_ms_at_half_slo"])
		m.CoreSecPerMillion, m.WritesPerDelivery = statOf(vals["core_sec_per_million"]), statOf(vals["writes_per_delivery"])
		m.RSSPerConn, m.HeapPerConn = statOf(vals["rss_per_conn_bytes"]), statOf(vals["heap_per_conn_bytes"])
		m.ClientUSPerDelivery, m.ClientCPUAtSLO = statOf(vals["client_us"]), statOf(vals["client_cpu"])
		m.P99, m.P99Baseline = statOf(vals["p99_ms"]), statOf(vals["p99_baseline"])
		m.ConnectSec, m.RSSBeforeMsg = statOf(vals["connect_sec"]), statOf(vals["rss_before_msg"])
		m.Goroutines, m.Lost, m.Reordered = statOf(vals["goroutines"]), statOf(vals["lost"]), statOf(vals["reordered"])
		m.Valid = m.ValidRepeats >= minValid
		if !m.Valid {
			m.Invalid = append(m.Invalid, fmt.Sprintf("%d valid repeats of %d (a result needs %d)", m.ValidRepeats, m.Repeats, minValid))
		}
		out = append(out, m)
	}
	return out
}

// fmtStat prints median and, when they differ, the range: "1.23 (1.20–1.31)".
func fmtStat(s *stat, prec int, scale float64, suffix string) string {
	if s == nil {
		return "–"
	}
	f := func(v float64) string { return fmt.Sprintf("%.*f%s", prec, v/scale, suffix) }
	if s.Min == s.Max {
		return f(s.Median)
	}
	return f(s.Median) + " (" + f(s.Min) + "–" + f(s.Max) + ")"
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

// table prints the valid rows; the invalid ones are counted under it, never shown as
// results.
func table(rows []row) string {
	var b strings.Builder
	b.WriteString("| system | scenario | conns | room | bytes | slo_rate /s | p99 ms at half | core-s/M | writes/deliv | RSS B/conn | heap B/conn | other |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	invalid := 0
	for _, r := range rows {
		if !r.Valid {
			invalid++
			continue
		}
		var other []string
		if r.SLOLowerBound {
			other = append(other, "slo_rate is a lower bound (no step missed)")
		}
		if r.CostRate > 0 && r.CoreSecPerMillion != nil {
			other = append(other, fmt.Sprintf("cost at %.0fk/s", r.CostRate/1000))
			if r.CostMissedSLO {
				other = append(other, "**missed the SLO at the cost rate**")
			}
		}
		if r.ClientUSPerDelivery != nil {
			other = append(other, "loadgen "+fmtStat(r.ClientUSPerDelivery, 2, 1, " µs")+"/delivery")
		}
		if r.P99 != nil {
			other = append(other, "p99 "+fmtStat(r.P99, 1, 1, " ms"))
		}
		if r.P99Baseline != nil {
			other = append(other, "p99 without stall "+fmtStat(r.P99Baseline, 1, 1, " ms"))
		}
		if r.ConnectSec != nil {
			other = append(other, "all connected in "+fmtStat(r.ConnectSec, 2, 1, " s"))
		}
		if r.Goroutines != nil {
			other = append(other, fmt.Sprintf("%.0f goroutines", r.Goroutines.Median))
		}
		if r.Lost != nil && r.Lost.Max > 0 {
			other = append(other, "lost "+fmtStat(r.Lost, 0, 1, ""))
		}
		if r.Reordered != nil && r.Reordered.Max > 0 {
			other = append(other, "reordered "+fmtStat(r.Reordered, 0, 1, ""))
		}
		room := fmt.Sprint(r.RoomSize)
		if r.Scenario == "storm" {
			room = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n",
			r.System, r.Scenario, r.Conns, room, r.MsgBytes, fmtStat(r.SLORate, 0, 1000, "k"), fmtStat(r.P99HalfSLO, 1, 1, ""),
			fmtStat(r.CoreSecPerMillion, 2, 1, ""), fmtStat(r.WritesPerDelivery, 3, 1, ""), fmtStat(r.RSSPerConn, 0, 1, ""),
			fmtStat(r.HeapPerConn, 0, 1, ""), strings.Join(other, "; "))
	}
	if invalid > 0 {
		fmt.Fprintf(&b, "\n%d more rows were invalid (not enough valid repeats: loadgen over its CPU limit, other processes busy, lost deliveries or errors); `latest.json` says why for each.\n", invalid)
	}
	return b.String()
}

// writeReadme replaces one section (between its markers) of the README, keeping the
// rest. With no valid row it says the run was not valid instead of printing a table.
func writeReadme(path, section, outDir string, rows []row, cmd string, took time.Duration) {
	beginMark := "<!-- " + section + ":begin (written by bench/run) -->"
	endMark := "<!-- " + section + ":end -->"
	rel := strings.TrimPrefix(outDir, "./")
	when := fmt.Sprintf("took %.0f s, %s UTC", took.Seconds(), time.Now().UTC().Format("2006-01-02 15:04"))
	if took == 0 {
		when = "tables re-made from its raw.json with `bin/run --from`"
	}
	valid := 0
	for _, r := range rows {
		if r.Valid {
			valid++
		}
	}
	var body string
	if valid == 0 {
		body = fmt.Sprintf("Run `%s` (%s) produced no valid row (see `%s/latest.json` for why); the last valid run is pending.\n", cmd, when, rel)
	} else {
		body = fmt.Sprintf("Run `%s` (%s). Machine: %s.\nEach cell: median over the valid repeats (min–max). JSON: `%s/latest.json`.\n\n%s\n![slo_rate by room size](%s/fanout_by_room.png)\n![p99 vs offered load](%s/latency_vs_load.png)\n",
			cmd, when, machine(), rel, table(rows), rel, rel)
	}
	sec := beginMark + "\n\n" + body + "\n" + endMark + "\n"
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
