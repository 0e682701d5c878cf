package main

import (
	"math/bits"
	"sync/atomic"
)

// histogram is a log-linear latency histogram in microseconds: 16 linear sub-buckets per
// power of two (≤ 6.25 % error). Each reader has its own, so the atomics never contend;
// they are there so the main goroutine can snapshot it while the reader writes.
type histogram struct {
	b [64 * 16]atomic.Uint64
}

func bucketOf(ns int64) int {
	us := uint64(0)
	if ns > 0 {
		us = uint64(ns / 1000)
	}
	if us < 16 {
		return int(us)
	}
	e := bits.Len64(us) - 5 // us >> e lies in [16, 32)
	return (e+1)*16 + int(us>>e) - 16
}

// bucketValue is the upper bound of bucket i in microseconds.
func bucketValue(i int) float64 {
	if i < 16 {
		return float64(i + 1)
	}
	e := i/16 - 1
	m := i%16 + 16
	return float64(uint64(m+1) << e)
}

func (h *histogram) record(ns int64) {
	i := bucketOf(ns)
	if i >= len(h.b) {
		i = len(h.b) - 1
	}
	h.b[i].Add(1)
}

// counts is what a reader counted since it last flushed: plain fields, touched by one
// goroutine only, so a delivery costs no atomic operation. flush publishes them into the
// reader's tally once per connection serviced.
type counts struct {
	received   uint64 // deliveries to measured clients
	reordered  uint64
	unmeasured uint64 // deliveries to clients not (or no longer) measured
	bytes      uint64
	reads      uint64
	queued     uint64 // bytes one connection's socket held when it was serviced (the largest)
}

// tally is what one reader counted, published for the main goroutine to snapshot while
// the reader goes on: counts of every delivery, and the latencies of the deliveries to its
// clients when it is a latency reader (only those record any).
type tally struct {
	received   atomic.Uint64
	reordered  atomic.Uint64
	unmeasured atomic.Uint64
	bytes      atomic.Uint64
	reads      atomic.Uint64
	maxQueued  atomic.Uint64 // the most bytes one socket held at a read, since the last reset
	hist       histogram
	_          [64]byte
}

// flush adds c to t (one atomic add per counter, not per delivery) and clears c.
func (t *tally) flush(c *counts) {
	if c.received > 0 {
		t.received.Add(c.received)
	}
	if c.reordered > 0 {
		t.reordered.Add(c.reordered)
	}
	if c.unmeasured > 0 {
		t.unmeasured.Add(c.unmeasured)
	}
	if c.bytes > 0 {
		t.bytes.Add(c.bytes)
	}
	if c.reads > 0 {
		t.reads.Add(c.reads)
	}
	if c.queued > t.maxQueued.Load() {
		t.maxQueued.Store(c.queued) // only this reader stores, and the main goroutine resets
	}
	*c = counts{}
}

// snapshot is a plain copy of counts for diffing two moments.
type snapshot struct {
	counts     []uint64
	received   uint64
	reordered  uint64
	unmeasured uint64
	reads      uint64
	bytes      uint64
}

func (g *gen) snap() snapshot {
	s := snapshot{counts: make([]uint64, 64*16)}
	for _, t := range g.tallies() {
		s.received += t.received.Load()
		s.reordered += t.reordered.Load()
		s.unmeasured += t.unmeasured.Load()
		s.reads += t.reads.Load()
		s.bytes += t.bytes.Load()
		for j := range s.counts {
			s.counts[j] += t.hist.b[j].Load()
		}
	}
	return s
}

// quantiles of the samples recorded between a and b, in milliseconds.
func quantiles(a, b snapshot, qs ...float64) (out []float64, maxMs float64) {
	var total uint64
	d := make([]uint64, len(b.counts))
	for i := range d {
		d[i] = b.counts[i] - a.counts[i]
		total += d[i]
		if d[i] > 0 {
			maxMs = bucketValue(i) / 1000
		}
	}
	out = make([]float64, len(qs))
	if total == 0 {
		return out, 0
	}
	for k, q := range qs {
		target := uint64(q*float64(total) + 0.5)
		if target < 1 {
			target = 1
		}
		var acc uint64
		for i, c := range d {
			acc += c
			if acc >= target {
				out[k] = bucketValue(i) / 1000
				break
			}
		}
	}
	return out, maxMs
}
