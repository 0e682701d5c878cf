package main

import (
	"strings"
	"testing"
	"time"
)

// fakeServer meets the SLO up to limit deliveries/s; steps at the rates in invalidAt are
// invalid (a busy client) the first times they run.
type fakeServer struct {
	limit     float64
	invalidAt map[float64]int
	rates     []float64
}

func (f *fakeServer) step(label string, rate float64) stepResult {
	f.rates = append(f.rates, rate)
	st := stepResult{Label: label, Offered: rate, Delivered: rate, Valid: true, Samples: 100}
	if f.invalidAt[rate] > 0 {
		f.invalidAt[rate]--
		st.Valid, st.Invalid = false, "loadgen used 95% of its CPUs (limit 70%)"
		return st
	}
	st.SLOPass = rate <= f.limit
	if !st.SLOPass {
		st.Miss = "p99 80 ms > 50 ms"
	}
	return st
}

func searchWith(f *fakeServer, retries int) *result {
	g := &gen{cfg: config{startRate: 100, stepFactor: 2, resolution: 1.1, maxSteps: 20, retries: retries}}
	g.stepFn = f.step
	res := &result{Valid: true}
	g.search(res, 1)
	return res
}

func TestSearchFindsRateWithinResolution(t *testing.T) {
	f := &fakeServer{limit: 1000}
	res := searchWith(f, 3)
	if !res.Valid || res.SLORate == nil {
		t.Fatalf("valid %v slo %v (%v)", res.Valid, res.SLORate, res.Invalid)
	}
	if r := *res.SLORate; r > 1000 || r < 1000/1.1 {
		t.Fatalf("slo_rate %.0f, want within 10%% below 1000 (steps %v)", r, f.rates)
	}
	if res.SLOLowerBound {
		t.Fatal("a search that saw a miss is not a lower bound")
	}
}

// Invalid steps are no misses: two (or three) in a row at one rate must not end the
// search or lower the rate found.
func TestSearchRetriesInvalidSteps(t *testing.T) {
	f := &fakeServer{limit: 1000, invalidAt: map[float64]int{400: 3, 800: 2}}
	res := searchWith(f, 3)
	if !res.Valid || res.SLORate == nil || *res.SLORate < 1000/1.1 {
		t.Fatalf("valid %v slo %v reasons %v steps %v", res.Valid, res.SLORate, res.Invalid, f.rates)
	}
	if res.InvalidSteps != 5 {
		t.Fatalf("invalid steps %d, want 5", res.InvalidSteps)
	}
}

// A rate that stays invalid past --retries ends the search and the result is invalid.
func TestSearchGivesUpWhenClientBound(t *testing.T) {
	f := &fakeServer{limit: 1000, invalidAt: map[float64]int{800: 100}}
	res := searchWith(f, 3)
	if res.Valid || len(res.Invalid) != 1 || !strings.Contains(res.Invalid[0], "invalid steps in a row") {
		t.Fatalf("valid %v reasons %v", res.Valid, res.Invalid)
	}
	if n := len(f.rates); n != 3+4 { // 100 200 400, then 800 four times
		t.Fatalf("ran %d steps %v, want 7", n, f.rates)
	}
}

// A single miss is re-run before it counts.
func TestSearchRerunsFirstMiss(t *testing.T) {
	flaky := true
	f := &fakeServer{limit: 1000}
	g := &gen{cfg: config{startRate: 100, stepFactor: 2, resolution: 1.1, maxSteps: 20, retries: 3}}
	g.stepFn = func(label string, rate float64) stepResult {
		st := f.step(label, rate)
		if rate == 400 && flaky {
			flaky = false
			st.SLOPass, st.Miss = false, "p99 60 ms > 50 ms"
		}
		return st
	}
	res := &result{Valid: true}
	g.search(res, 1)
	if res.SLORate == nil || *res.SLORate < 1000/1.1 {
		t.Fatalf("slo %v after one noisy miss (steps %v)", res.SLORate, f.rates)
	}
}

func TestSLOVerdict(t *testing.T) {
	g := &gen{cfg: config{sloP99: 50}}
	ok := stepResult{Offered: 100000, P99: 12, Samples: 500}
	if pass, why := g.slo(ok, 99000, 100000); !pass {
		t.Fatalf("a good step missed: %s", why)
	}
	for name, tc := range map[string]struct {
		st             stepResult
		received, sent uint64
		want           string
	}{
		"p99":     {stepResult{Offered: 1e5, P99: 60, Samples: 9}, 1e5, 1e5, "p99 60.0 ms > 50 ms"},
		"shed":    {stepResult{Offered: 1e5, P99: 5, Samples: 9, Saturated: true}, 1e5, 1e5, "shed load"},
		"backlog": {stepResult{Offered: 1e5, P99: 5, Samples: 9, BacklogGrowth: 5000}, 1e5, 1e5, "backlog grew by 5000"},
		"lost":    {stepResult{Offered: 1e5, P99: 5, Samples: 9}, 90000, 100000, "received 90% of what was sent"},
	} {
		if pass, why := g.slo(tc.st, tc.received, tc.sent); pass || !strings.Contains(why, tc.want) {
			t.Errorf("%s: pass %v why %q, want a miss saying %q", name, pass, why, tc.want)
		}
	}
}

// While traffic runs, the bulk readers count up to one --bulk-interval late: that much
// missing from received, or added to the backlog, is lag, not a miss; more is.
func TestSLOToleratesOneBulkInterval(t *testing.T) {
	g := &gen{cfg: config{sloP99: 50, readInterval: time.Millisecond, bulkInterval: 25 * time.Millisecond}}
	g.bulk.Store(true)
	st := stepResult{Offered: 1e5, Sent: 1e5, P99: 12, Samples: 500}
	// 2 s window: 200,000 sent; 5 % plus 26 ms of 100,000/s may be missing
	if pass, why := g.slo(st, 200000-10000-2500, 200000); !pass {
		t.Fatalf("a bulk interval of lag missed: %s", why)
	}
	if pass, _ := g.slo(st, 200000-10000-2700, 200000); pass {
		t.Fatal("more than 5 % plus one round of the readers missing passed")
	}
	st.BacklogGrowth = 1e5*(0.02+0.026) + 900
	if pass, why := g.slo(st, 200000, 200000); !pass {
		t.Fatalf("a backlog grown by one bulk interval missed: %s", why)
	}
	g.bulk.Store(false) // set-up, before traffic: the readers are all fast
	if pass, _ := g.slo(st, 200000, 200000); pass {
		t.Fatal("the bulk interval's tolerance applied while the bulk readers were fast")
	}
}

func TestJudgeMarksBusyWindowsInvalid(t *testing.T) {
	g := &gen{cfg: config{maxClientCPU: 0.7, maxOtherCPU: 0.1}}
	if ok, why := g.judge(cpuShares{client: 0.5, others: 0.05}, 4000, 131072); !ok {
		t.Fatalf("a quiet window was invalid: %s", why)
	}
	if ok, why := g.judge(cpuShares{client: 0.75, others: 0.05}, 4000, 131072); ok || !strings.Contains(why, "loadgen used 75%") {
		t.Fatalf("client at 75%%: ok %v %q", ok, why)
	}
	if ok, why := g.judge(cpuShares{client: 0.2, others: 0.4}, 4000, 131072); ok || !strings.Contains(why, "other processes used 40%") {
		t.Fatalf("others at 40%%: ok %v %q", ok, why)
	}
	// a socket half full at a bulk read: the server may have met a full one
	if ok, why := g.judge(cpuShares{client: 0.2, others: 0.05}, 65536, 131072); ok || !strings.Contains(why, "held 65536 bytes") {
		t.Fatalf("socket half full: ok %v %q", ok, why)
	}
}

func TestBusySecondsLeavesOutIdleAndInterrupts(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	stat := []byte("cpu  100 20 30 5000 7 11 13 50 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
	if got := busySeconds(stat); got != 2.0 { // (100+20+30+50) ticks at 100 Hz
		t.Fatalf("busy %.2f s, want 2.00", got)
	}
	if got := busySeconds([]byte("garbage")); got != 0 {
		t.Fatalf("busy of garbage %.2f", got)
	}
}

// A server slower than the first rate is searched below it.
func TestSearchStepsDownBelowStartRate(t *testing.T) {
	f := &fakeServer{limit: 30}
	res := searchWith(f, 3)
	if res.SLORate == nil || *res.SLORate > 30 || *res.SLORate < 30/1.1 {
		t.Fatalf("slo %v, want within 10%% below 30 (steps %v)", res.SLORate, f.rates)
	}
	f = &fakeServer{limit: 1} // below a sixteenth of the start: none found, and it stops
	res = searchWith(f, 3)
	if res.SLORate != nil || len(f.rates) > 12 {
		t.Fatalf("slo %v after %d steps %v", res.SLORate, len(f.rates), f.rates)
	}
}
