package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Frame texts per protocol. Switchboard's is PROTOCOL.md §3; the peers speak the same.
func (g *gen) joinFrame(room string) (frame, tok []byte) {
	if g.cfg.proto == protoCentrifuge {
		return appendFrame(nil, 1, []byte(`{"id":2,"subscribe":{"channel":"`+room+`"}}`)), []byte(`"id":2`)
	}
	return appendFrame(nil, 1, []byte(`{"type":"join","room":"`+room+`","id":"j"}`)), []byte(`"type":"ack"`)
}

// pubParts returns the JSON around the content for a message to a room or a user.
func (g *gen) pubParts(room string, private bool) (pre, suf []byte) {
	switch {
	case g.cfg.proto == protoCentrifuge:
		return []byte(`{"id":3,"publish":{"channel":"` + room + `","data":{"content":"`), []byte(`"}}}`)
	case private:
		return []byte(`{"type":"private","to":"` + room + `","content":"`), []byte(`"}`)
	default:
		return []byte(`{"type":"chat","room":"` + room + `","content":"`), []byte(`"}`)
	}
}

// connect dials one client, hands it to its reader and, for centrifuge, sends its
// connect command.
func (g *gen) connect(ctx context.Context, i int, user string) (*client, error) {
	c, err := g.dial(ctx, i, user)
	if err != nil {
		return nil, err
	}
	if g.cfg.proto == protoCentrifuge {
		c.expect([]byte(`"id":1`))
	}
	if err := g.add(c); err != nil {
		c.close()
		return nil, err
	}
	if g.cfg.proto == protoCentrifuge {
		if err := c.write(appendFrame(nil, 1, []byte(`{"id":1,"connect":{}}`))); err != nil {
			c.close()
			return nil, err
		}
		if err := c.wait(30 * time.Second); err != nil {
			c.close()
			return nil, fmt.Errorf("centrifuge connect: %w", err)
		}
	}
	return c, nil
}

func (g *gen) join(c *client, room string) error {
	f, tok := g.joinFrame(room)
	c.expect(tok)
	if err := c.write(f); err != nil {
		return err
	}
	return c.wait(30 * time.Second)
}

// connectRange opens clients lo..hi-1 with setup(i) returning user and room to join
// ("" for none), using conc parallel workers, and records them in g.clients.
func (g *gen) connectRange(label string, lo, hi, conc int, setup func(i int) (user, room string)) (time.Duration, int64, string) {
	if len(g.clients) < hi {
		g.clients = append(g.clients, make([]*client, hi-len(g.clients))...)
	}
	pb := startProgress(g.cfg.quiet, label, hi-lo)
	var next atomic.Int64
	next.Store(int64(lo))
	var fails failures
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= hi {
					return
				}
				user, room := setup(i)
				c, err := g.connect(context.Background(), i, user)
				if err == nil && room != "" {
					if err = g.join(c, room); err != nil {
						c.close()
					}
				}
				if err != nil {
					fails.add(err)
				} else {
					g.clients[i] = c
				}
				pb.done.Add(1)
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	pb.stop()
	return d, fails.n.Load(), fails.firstText()
}

// failures counts the connections that failed, from any goroutine, and keeps the first
// error's text for the report.
type failures struct {
	n     atomic.Int64
	first atomic.Pointer[string]
}

func (f *failures) add(err error) {
	f.n.Add(1)
	s := err.Error()
	f.first.CompareAndSwap(nil, &s)
}

func (f *failures) firstText() string {
	if p := f.first.Load(); p != nil {
		return *p
	}
	return ""
}

// runTraffic sets up fanout rooms or private pairs and publishes open-loop.
func (g *gen) runTraffic(res *result) {
	cfg := g.cfg
	private := cfg.scenario == "private"
	n := cfg.conns
	if private {
		n &^= 1
		res.RoomSize = 2
	}
	size := cfg.roomSize
	nrooms := (n + size - 1) / size
	roomName := func(r int) string { return "r" + strconv.Itoa(r) }
	setup := func(i int) (string, string) {
		if private {
			return "u" + strconv.Itoa(i), "p" + strconv.Itoa(i)
		}
		r := i / size
		return "u" + strconv.Itoa(r) + "-" + strconv.Itoa(i%max(1, cfg.usersPerRoom)), roomName(r)
	}
	if cfg.proto == protoCentrifuge && private {
		// a user's private channel is "p<index>": the partner publishes into it
		setup = func(i int) (string, string) { return "u" + strconv.Itoa(i), "p" + strconv.Itoa(i) }
	}
	d, errs, fe := g.connectRange("connect", 0, n, cfg.connectConc, setup)
	res.ConnectSec, res.ConnectErrors, res.FirstError = d.Seconds(), errs, fe
	res.ConnectRate = float64(n) / d.Seconds()
	if errs > 0 {
		res.invalidate(fmt.Sprintf("%d connections failed: %s", errs, fe))
	}
	// Publishing targets.
	if private {
		for i := 0; i < n; i++ {
			p := i ^ 1
			to := "u" + strconv.Itoa(p)
			if cfg.proto == protoCentrifuge {
				to = "p" + strconv.Itoa(p)
			}
			r := &roomState{pub: g.clients[i], name: to}
			r.pre, r.suf = g.pubParts(to, true)
			g.rooms = append(g.rooms, r)
		}
		for i := 0; i < n; i++ {
			if c := g.clients[i]; c != nil {
				c.measured.Store(true)
				g.member.Store(c, g.rooms[i^1])
				g.rooms[i^1].active.Add(1)
			}
		}
	} else {
		for r := 0; r < nrooms; r++ {
			rs := &roomState{pub: g.clients[r*size], name: roomName(r)}
			rs.pre, rs.suf = g.pubParts(rs.name, false)
			g.rooms = append(g.rooms, rs)
		}
		for i := 0; i < n; i++ {
			if c := g.clients[i]; c != nil {
				c.measured.Store(true)
				g.member.Store(c, g.rooms[i/size])
				g.rooms[i/size].active.Add(1)
			}
		}
	}
	perPublish := float64(n) / float64(len(g.rooms))
	if private {
		perPublish = 1
	}
	g.drainFrames(100*time.Millisecond, 2*time.Second) // let join presence traffic settle
	g.bulk.Store(true)                                 // from now on the bulk readers read every --bulk-interval

	var churn *churner
	if cfg.scenario == "churn" {
		churn = g.startChurn(n, nrooms, roomName)
	}
	fixed := cfg.rate
	if fixed <= 0 {
		g.search(res, perPublish)
		if res.SLO != nil && cfg.lat50 && (cfg.scenario == "fanout" || cfg.scenario == "private") {
			if h := g.validStep(res, "half SLO rate", res.SLO.Delivered/2, perPublish); h != nil {
				res.Half = h
				res.P99HalfSLO = &h.P99
			}
		}
		if cfg.costRate > 0 {
			res.CostRate = cfg.costRate
			if c := g.validStep(res, "cost rate", cfg.costRate, perPublish); c != nil {
				res.Cost = c
				res.CoreSecPerM, res.WritesPerDeliv = &c.CoreSecPerMillion, &c.SyscallsPerDelivery
				if !c.SLOPass {
					res.Notes = append(res.Notes, fmt.Sprintf("missed the SLO at the cost rate %.0f/s: %s", cfg.costRate, c.Miss))
				}
			}
		}
	} else if cfg.scenario != "slow" {
		// One step at a fixed rate, as asked (no re-runs: the caller chose the moment).
		st := g.step("fixed", fixed, perPublish, cfg.duration)
		res.Steps = append(res.Steps, st)
		res.Cost, res.CostRate = &st, fixed
		res.CoreSecPerM, res.WritesPerDeliv = &st.CoreSecPerMillion, &st.SyscallsPerDelivery
		if !st.Valid {
			res.invalidate("fixed step: " + st.Invalid)
		}
	}
	if cfg.scenario == "slow" {
		base := g.step("no stall", fixed, perPublish, cfg.duration)
		res.Half = &base
		stalled := 0
		want := int(float64(n)*cfg.slowFrac + 0.5)
		for i := 0; i < n && stalled < want; i++ {
			c := g.clients[n-1-i]
			if c == nil || c == g.rooms[len(g.rooms)-1].pub {
				continue
			}
			isPub := false
			if r, ok := g.member.Load(c); ok && r.(*roomState).pub == c {
				isPub = true
			}
			if isPub {
				continue
			}
			g.unmeasure(c)
			c.stalled.Store(true)
			stalled++
		}
		st := g.step("1% stalled", fixed, perPublish, cfg.duration)
		// then a longer stall, to see whether server memory stays bounded
		st2 := g.step("stalled more", fixed, perPublish, cfg.duration)
		res.Stalled = &st
		res.Steps = append(res.Steps, base, st, st2)
		res.Notes = append(res.Notes, fmt.Sprintf("%d clients stalled; server RSS %d → %d → %d bytes", stalled, base.RSS, st.RSS, st2.RSS))
		for _, s := range []stepResult{base, st, st2} {
			if !s.Valid {
				res.invalidate(s.Label + ": " + s.Invalid)
			}
		}
	}
	if churn != nil {
		churn.stop()
		res.ChurnConnects, res.ChurnErrors = churn.ok.Load(), churn.errs.Load()
	}
	g.drain(5 * time.Second)
	g.sweep()
	sn := g.snap()
	res.Expected = g.expected.Load()
	res.Received = sn.received
	res.Lost = int64(res.Expected) - int64(sn.received)
	res.Reordered = sn.reordered
	res.UnexpectedCloses = g.unexpectedClose.Load()
	if res.Lost > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d deliveries never arrived", res.Lost))
	}
	if res.Reordered > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d deliveries out of order", res.Reordered))
	}
}

// drain waits until every expected delivery arrived or nothing arrives for a while
// (half a second, and at least a few rounds of the bulk readers).
func (g *gen) drain(most time.Duration) {
	deadline := time.Now().Add(most)
	last := g.snapReceived()
	still := time.Now()
	quiet := max(500*time.Millisecond, 4*g.lagTolerance())
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		r := g.snapReceived()
		if r >= g.expected.Load() {
			return
		}
		if r != last {
			last, still = r, time.Now()
		} else if time.Since(still) > quiet {
			return
		}
	}
}

func (g *gen) snapReceived() uint64 {
	var n uint64
	for _, t := range g.tallies() {
		n += t.received.Load()
	}
	return n
}

func (g *gen) allDeliveries() uint64 {
	var n uint64
	for _, t := range g.tallies() {
		n += t.received.Load() + t.unmeasured.Load()
	}
	return n
}

// search finds the SLO rate: the highest delivered rate of a valid step that met the SLO
// (p99 ≤ --slo-p99-ms over the whole step, nothing shed, the backlog not growing). It
// steps up by --step-factor until a miss (a first miss is re-run once: one can be noise
// on a shared box) — or down, to a sixteenth of --start-rate, while nothing passed — then
// bisects between the best pass and the lowest miss. An invalid
// step is no miss: it is re-run at the same rate up to --retries times, and if it stays
// invalid the search stops and the result is invalid (the client or the machine, not
// the server, set the limit).
func (g *gen) search(res *result, perPublish float64) {
	cfg := g.cfg
	rate := cfg.startRate
	var best *stepResult
	lo, hi := 0.0, 0.0 // highest passing and lowest missing offered rates
	missedOnce := 0.0
	invalidRun := 0
	for valid := 0; valid < cfg.maxSteps; {
		st := g.runStep(fmt.Sprintf("step %d", len(res.Steps)+1), rate, perPublish, cfg.duration)
		res.Steps = append(res.Steps, st)
		if !st.Valid {
			res.InvalidSteps++
			if invalidRun++; invalidRun > cfg.retries {
				res.invalidate(fmt.Sprintf("search stopped at %.0f/s: %d invalid steps in a row (%s)", rate, invalidRun, st.Invalid))
				break
			}
			continue
		}
		invalidRun = 0
		valid++
		if st.SLOPass {
			if best == nil || st.Delivered > best.Delivered {
				b := st
				best = &b
			}
			lo = max(lo, rate)
		} else {
			if missedOnce != rate {
				missedOnce = rate
				continue
			}
			if hi == 0 || rate < hi {
				hi = rate
			}
		}
		switch {
		case hi == 0:
			rate *= cfg.stepFactor
		case lo == 0 && rate/cfg.stepFactor >= cfg.startRate/16:
			rate /= cfg.stepFactor // even the first rate missed: look below it
		case lo == 0 || hi/lo <= cfg.resolution:
			valid = cfg.maxSteps // done
		default:
			rate = math.Sqrt(lo * hi)
		}
	}
	res.SLO = best
	if best != nil {
		res.SLORate = &best.Delivered
		res.ClientUSPerDeliv = &best.ClientUSPerDelivery
		res.SLOLowerBound = hi == 0
	} else if res.Valid {
		res.Notes = append(res.Notes, fmt.Sprintf("no step met the SLO (first rate %.0f/s)", cfg.startRate))
	}
}

// validStep runs one step at rate, re-running it while it is invalid (up to --retries
// times); nil, and the result invalid, when it never was valid.
func (g *gen) validStep(res *result, label string, rate, perPublish float64) *stepResult {
	for try := 0; try <= g.cfg.retries; try++ {
		st := g.runStep(label, rate, perPublish, g.cfg.duration)
		res.Steps = append(res.Steps, st)
		if st.Valid {
			return &st
		}
		res.InvalidSteps++
		if try == g.cfg.retries {
			res.invalidate(fmt.Sprintf("%s (%.0f/s): invalid %d times (%s)", label, rate, try+1, st.Invalid))
		}
	}
	return nil
}

// runStep is step, or a stand-in in tests of the search.
func (g *gen) runStep(label string, rate, perPublish float64, dur time.Duration) stepResult {
	if g.stepFn != nil {
		return g.stepFn(label, rate)
	}
	return g.step(label, rate, perPublish, dur)
}

// step publishes at rate deliveries/s for a warm-up plus dur, and measures the window.
func (g *gen) step(label string, rate, perPublish float64, dur time.Duration) stepResult {
	warm := g.cfg.warmup
	if warm <= 0 {
		warm = max(dur/4, 300*time.Millisecond)
	}
	pubRate := rate / perPublish
	burst := int(pubRate/8000) + 1 // a few writes per millisecond at most from the client
	pb := startProgress(g.cfg.quiet, label, int(dur/time.Millisecond))
	pb.setExtra(fmt.Sprintf("offered %.0f/s", rate))

	start := time.Now()
	var endAt atomic.Int64 // the publisher stops here
	endAt.Store(start.Add(warm + dur).UnixNano())
	var sentDeliv atomic.Uint64
	var shed atomic.Int64 // messages not sent because the server owed too many deliveries
	// Open loop up to a bound: past saturation the queue in the server would grow for the
	// whole step and take seconds to drain, so messages due while more than a quarter
	// second of deliveries is owed (beyond what the readers have yet to read) are shed
	// (and the step misses the SLO).
	maxBacklog := uint64(rate*(0.25+g.lagTolerance().Seconds())) + 1000
	stopped := make(chan struct{})
	lag := &histogram{}
	go func() {
		defer close(stopped)
		type batch struct {
			r   *roomState
			buf []byte
		}
		batches := map[*roomState]*batch{}
		var touched []*batch
		var k int64
		body := make([]byte, 0, g.cfg.msgBytes+64)
		for {
			now := time.Now()
			if now.UnixNano() >= endAt.Load() {
				return
			}
			// message k is due at start + k/pubRate (and stamped with that time)
			due := int64(now.Sub(start).Seconds()*pubRate) + 1
			if owed := int64(g.expected.Load()) - int64(g.snapReceived()) - g.writtenOff.Load(); owed > int64(maxBacklog) {
				shed.Add(due - k)
				k = due
			}
			if k < due {
				// how late the first message of this round goes out
				lag.record(now.Sub(start.Add(time.Duration(float64(k) / pubRate * 1e9))).Nanoseconds())
			}
			for ; k < due; k++ {
				r := g.rooms[(k/int64(burst))%int64(len(g.rooms))]
				if r.pub == nil || r.pub.closed.Load() {
					continue
				}
				b := batches[r]
				if b == nil {
					b = &batch{r: r}
					batches[r] = b
				}
				if len(b.buf) == 0 {
					touched = append(touched, b)
				}
				r.seq++
				sched := start.UnixNano() + int64(float64(k)/pubRate*1e9)
				body = append(body[:0], r.pre...)
				body = appendContent(body, sched, r.seq, g.cfg.msgBytes)
				body = append(body, r.suf...)
				b.buf = appendFrame(b.buf, 1, body)
				a := r.active.Load()
				g.expected.Add(uint64(a))
				sentDeliv.Add(uint64(a))
			}
			for _, b := range touched {
				b.r.pub.write(b.buf)
				b.buf = b.buf[:0]
			}
			touched = touched[:0]
			// Sleep until the next message is due (at least 100 µs, so fast rates batch a
			// little). How late rounds start is the load generator's own lateness: the step
			// reports it beside the latencies it inflates.
			next := start.Add(time.Duration(float64(k) / pubRate * 1e9))
			time.Sleep(min(max(time.Until(next), 100*time.Microsecond), 5*time.Millisecond))
		}
	}()
	for time.Since(start) < warm {
		time.Sleep(20 * time.Millisecond)
	}
	// The window's edges are the moments just before each sweep: the sweep then counts
	// what the sockets held at that moment, and what was sent and owed is taken there too.
	ts0, d0, e0 := time.Now(), sentDeliv.Load(), g.expected.Load()
	g.sweep()
	p0 := readProc(g.cfg.pid)
	w := startWindow(g.cfg.pid)
	s0 := g.snap()
	a0 := g.allDeliveries()
	b0 := int64(e0) - int64(s0.received)
	sh0 := shed.Load()
	g.resetBulkQueue()
	t0 := time.Now()
	for time.Now().UnixNano() < endAt.Load() {
		// not past endAt: the publisher stops there, and a window running on would count
		// time without traffic
		time.Sleep(min(50*time.Millisecond, time.Until(time.Unix(0, endAt.Load()))))
		pb.done.Store(int64(time.Since(t0) / time.Millisecond))
	}
	ts1, d1, e1 := time.Now(), sentDeliv.Load(), g.expected.Load()
	g.sweep()
	p1 := readProc(g.cfg.pid)
	cpu := w.end(g.cfg.pid)
	s1 := g.snap()
	a1 := g.allDeliveries()
	b1 := int64(e1) - int64(s1.received)
	maxQueued, rcvbuf := g.bulkQueue()
	el := ts1.Sub(ts0).Seconds()
	saturated := shed.Load() > sh0
	<-stopped
	pb.stop()
	qs, mx := quantiles(s0, s1, 0.5, 0.99, 0.999)
	st := stepResult{Label: label, Offered: rate, Sent: float64(d1-d0) / el, Delivered: float64(a1-a0) / el,
		P50: qs[0], P99: qs[1], P999: qs[2], Max: mx, RSS: p1.rss, BacklogGrowth: float64(b1 - b0)}
	for i := range s1.counts {
		st.Samples += s1.counts[i] - s0.counts[i]
	}
	st.ServerCPUSec = float64(p1.cpuTicks-p0.cpuTicks) / clockTick
	if a1 > a0 {
		st.CoreSecPerMillion = st.ServerCPUSec / float64(a1-a0) * 1e6
		st.SyscallsPerDelivery = float64(p1.syscw-p0.syscw) / float64(a1-a0)
		st.ClientUSPerDelivery = cpu.selfSec / float64(a1-a0) * 1e6
	}
	if s1.reads > s0.reads {
		st.DeliveriesPerRead = float64(a1-a0) / float64(s1.reads-s0.reads)
	}
	st.ClientCPU, st.OtherCPU = cpu.client, cpu.others
	lagQ, _ := quantiles(snapshot{counts: make([]uint64, len(lag.b))}, lagSnap(lag), 0.99)
	st.SchedLagP99 = lagQ[0]
	st.Saturated = saturated
	st.BulkMaxQueued, st.RcvBuf = maxQueued, rcvbuf
	st.Valid, st.Invalid = g.judge(cpu, maxQueued, rcvbuf)
	st.SLOPass, st.Miss = g.slo(st, s1.received-s0.received, d1-d0)
	g.drain(15 * time.Second)
	// What is still owed after the drain is lost (the result's lost says so); it must
	// not count as backlog in the next step, or that step would shed everything.
	g.writtenOff.Store(max(0, int64(g.expected.Load())-int64(g.snapReceived())))
	return st
}

// judge says whether a window measured the server: loadgen under --max-client-cpu of its
// CPUs, other processes under --max-other-cpu of the machine, and no bulk-read socket
// ever holding half its receive buffer (the kernel's window is about half of SO_RCVBUF:
// fuller, the server may have met a full socket, which reading at once would have
// spared it).
func (g *gen) judge(c cpuShares, maxQueued uint64, rcvbuf int) (bool, string) {
	var why []string
	if rcvbuf > 0 && maxQueued*2 >= uint64(rcvbuf) {
		why = append(why, fmt.Sprintf("a bulk-read socket held %d bytes, half its receive buffer (%d): lower --bulk-interval", maxQueued, rcvbuf))
	}
	if c.client > g.cfg.maxClientCPU {
		why = append(why, fmt.Sprintf("loadgen used %.0f%% of its CPUs (limit %.0f%%)", c.client*100, g.cfg.maxClientCPU*100))
	}
	if c.others > g.cfg.maxOtherCPU {
		why = append(why, fmt.Sprintf("other processes used %.0f%% of the machine (limit %.0f%%)", c.others*100, g.cfg.maxOtherCPU*100))
	}
	return len(why) == 0, strings.Join(why, "; ")
}

// slo says whether a step met the SLO, and if not, why: p99 within the bound, nothing
// shed, the measured clients got what was sent to them in the window (≥ 95 %, less what
// one round of the readers may not have read yet), and the deliveries owed did not grow
// by more than 20 ms of the rate plus that round (plus a little slack). A bulk reader
// reads a connection once per --bulk-interval, so at any moment up to that much of the
// rate is delivered but not yet counted: lag, not a miss.
func (g *gen) slo(st stepResult, received, sent uint64) (bool, string) {
	var why []string
	lag := g.lagTolerance().Seconds()
	if st.Saturated {
		why = append(why, "shed load (over a quarter second owed)")
	}
	if st.Samples == 0 {
		why = append(why, "no latency samples")
	} else if st.P99 > g.cfg.sloP99 {
		why = append(why, fmt.Sprintf("p99 %.1f ms > %.0f ms", st.P99, g.cfg.sloP99))
	}
	if sent > 0 && float64(received) < 0.95*float64(sent)-st.Sent*lag {
		why = append(why, fmt.Sprintf("received %.0f%% of what was sent", 100*float64(received)/float64(sent)))
	}
	if st.BacklogGrowth > st.Offered*(0.02+lag)+1000 {
		why = append(why, fmt.Sprintf("backlog grew by %.0f deliveries", st.BacklogGrowth))
	}
	return len(why) == 0, strings.Join(why, "; ")
}

// lagTolerance is how far behind the server the readers' counts may be at any moment:
// one round of the latency reader, plus one of the bulk readers while traffic runs.
func (g *gen) lagTolerance() time.Duration {
	if g.bulk.Load() {
		return g.cfg.readInterval + g.cfg.bulkInterval
	}
	return g.cfg.readInterval
}

// churner connects and disconnects extra clients at a steady rate during traffic.
type churner struct {
	ok, errs atomic.Int64
	quit     chan struct{}
	wg       sync.WaitGroup
}

func (g *gen) startChurn(base, nrooms int, roomName func(int) string) *churner {
	ch := &churner{quit: make(chan struct{})}
	every := time.Duration(float64(time.Second) / g.cfg.churnRate)
	ch.wg.Add(1)
	go func() {
		defer ch.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		k := 0
		for {
			select {
			case <-ch.quit:
				return
			case <-t.C:
			}
			k++
			i := base + k
			ch.wg.Add(1)
			go func() {
				defer ch.wg.Done()
				room := roomName(rand.IntN(nrooms))
				c, err := g.connect(context.Background(), i, "churn"+strconv.Itoa(i))
				if err == nil {
					if err = g.join(c, room); err != nil {
						c.close()
					}
				}
				if err != nil {
					ch.errs.Add(1)
					return
				}
				ch.ok.Add(1)
				select {
				case <-time.After(time.Second):
				case <-ch.quit:
				}
				c.close()
			}()
		}
	}()
	return ch
}

func (ch *churner) stop() {
	close(ch.quit)
	ch.wg.Wait()
}

// runIdle measures the server's memory per idle connection at each checkpoint, after a
// GC, and again after every connection sent and received one message.
func (g *gen) runIdle(res *result) {
	cps := []int{}
	for _, c := range g.cfg.checkpoints {
		if c <= g.cfg.conns {
			cps = append(cps, c)
		}
	}
	if len(cps) == 0 || cps[len(cps)-1] != g.cfg.conns {
		cps = append(cps, g.cfg.conns)
	}
	res.RoomSize = 0 // no rooms: see setup
	gcOK := g.serverGC()
	time.Sleep(300 * time.Millisecond)
	base := readProc(g.cfg.pid)
	baseRT := g.serverRuntime()
	if !gcOK {
		// heap after a forced GC is the measure; without one it is not comparable
		res.invalidate("server exposes no GC trigger (--gc-url): memory measured without a forced GC")
	}
	lo := 0
	var total time.Duration
	// One user per connection, no rooms (a room and its history per connection would be
	// counted as connection overhead); centrifuge subscribes each to its own channel,
	// where its one message will go.
	setup := func(i int) (string, string) {
		if g.cfg.proto == protoCentrifuge {
			return "u" + strconv.Itoa(i), "p" + strconv.Itoa(i)
		}
		return "u" + strconv.Itoa(i), ""
	}
	for _, cp := range cps {
		d, errs, fe := g.connectRange(fmt.Sprintf("idle %d", cp), lo, cp, g.cfg.connectConc, setup)
		total += d
		res.ConnectErrors += errs
		if fe != "" && res.FirstError == "" {
			res.FirstError = fe
		}
		lo = cp
		row := idleRow{Conns: cp, GC: gcOK}
		measure := func() (float64, float64, int64) {
			// Two collections: the first moves sync.Pool contents to the victim cache,
			// the second frees them — pooled buffers are not connection state.
			g.serverGC()
			g.serverGC()
			time.Sleep(250 * time.Millisecond)
			p := readProc(g.cfg.pid)
			rt := g.serverRuntime()
			hs := -1.0
			if rt.heapStack >= 0 && baseRT.heapStack >= 0 {
				hs = float64(rt.heapStack-baseRT.heapStack) / float64(cp)
			}
			return (float64(p.rss) - float64(base.rss)) / float64(cp), hs, rt.goroutines
		}
		row.RSSPerConn, row.HeapStackPerConn, row.Goroutines = measure()
		g.oneMessageEach(cp)
		row.RSSPerConnAfterMsg, row.HeapStackPerConnAfter, row.GoroutinesAfterMsg = measure()
		res.Idle = append(res.Idle, row)
	}
	res.ConnectSec = total.Seconds()
	res.ConnectRate = float64(g.cfg.conns) / total.Seconds()
	if res.ConnectErrors > 0 {
		res.invalidate(fmt.Sprintf("%d connections failed: %s", res.ConnectErrors, res.FirstError))
	}
}

// oneMessageEach makes each of the first n clients send one private message to its own
// user and waits until every one arrived.
func (g *gen) oneMessageEach(n int) {
	before := g.snapReceived()
	want := uint64(0)
	pb := startProgress(g.cfg.quiet, "1 msg each", n)
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c := g.clients[i]
				if c == nil {
					continue
				}
				c.measured.Store(true)
				// a private message to its own user: one frame in and one out per connection
				to := "u" + strconv.Itoa(i)
				if g.cfg.proto == protoCentrifuge {
					to = "p" + strconv.Itoa(i)
				}
				pre, suf := g.pubParts(to, true)
				body := append(append([]byte(nil), pre...), appendContent(nil, time.Now().UnixNano(), 1, g.cfg.msgBytes)...)
				body = append(body, suf...)
				buf = appendFrame(buf[:0], 1, body)
				c.write(buf)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if g.clients[i] != nil {
			want++
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		got := g.snapReceived() - before
		pb.done.Store(int64(got))
		if got >= want {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	pb.stop()
}

// runStorm opens every connection at once and times until the last handshake completes.
func (g *gen) runStorm(res *result) {
	n := g.cfg.conns
	g.clients = make([]*client, n)
	pb := startProgress(g.cfg.quiet, "storm", n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	var fails failures
	var lastDone atomic.Int64
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			c, err := g.connect(context.Background(), i, "u"+strconv.Itoa(i))
			if err != nil {
				fails.add(err)
			} else {
				g.clients[i] = c
				now := time.Now().UnixNano()
				for {
					l := lastDone.Load()
					if now <= l || lastDone.CompareAndSwap(l, now) {
						break
					}
				}
			}
			pb.done.Add(1)
		}()
	}
	time.Sleep(100 * time.Millisecond) // let every goroutine reach the gate
	w := startWindow(g.cfg.pid)
	start := time.Now()
	close(gate)
	wg.Wait()
	cpu := w.end(g.cfg.pid)
	pb.stop()
	// The storm is timed, so a crowded machine spoils it; loadgen's own share is reported
	// (19,900 handshakes are client work too) but a storm has no delivery to be light on.
	res.ClientCPU, res.OtherCPU = cpu.client, cpu.others
	if cpu.others > g.cfg.maxOtherCPU {
		res.invalidate(fmt.Sprintf("other processes used %.0f%% of the machine (limit %.0f%%)", cpu.others*100, g.cfg.maxOtherCPU*100))
	}
	d := time.Duration(lastDone.Load() - start.UnixNano())
	res.ConnectSec = d.Seconds()
	res.ConnectErrors, res.FirstError = fails.n.Load(), fails.firstText()
	res.ConnectRate = float64(int64(n)-res.ConnectErrors) / d.Seconds()
	if res.ConnectErrors > 0 {
		res.invalidate(fmt.Sprintf("%d connections failed: %s", res.ConnectErrors, res.FirstError))
	}
	time.Sleep(200 * time.Millisecond) // the server settles before its RSS is read
}

// drainFrames waits until the clients' sockets have been quiet for quiet (at most max):
// the presence frames of a big join must not land in the first measured step.
func (g *gen) drainFrames(quiet, max time.Duration) {
	deadline := time.Now().Add(max)
	last := g.bytesRead()
	for time.Now().Before(deadline) {
		time.Sleep(quiet)
		n := g.bytesRead()
		if n == last {
			return
		}
		last = n
	}
}

func (g *gen) bytesRead() uint64 {
	var n uint64
	for _, t := range g.tallies() {
		n += t.bytes.Load()
	}
	return n
}

func lagSnap(h *histogram) snapshot {
	s := snapshot{counts: make([]uint64, len(h.b))}
	for i := range h.b {
		s.counts[i] = h.b[i].Load()
	}
	return s
}
