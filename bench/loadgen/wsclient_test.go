package main

import (
	"bytes"
	"strconv"
	"testing"
	"time"
)

// serverFrame is an unmasked text frame, as a server sends it.
func serverFrame(p string) []byte {
	n := len(p)
	var b []byte
	switch {
	case n < 126:
		b = []byte{0x81, byte(n)}
	case n < 65536:
		b = []byte{0x81, 126, byte(n >> 8), byte(n)}
	default:
		b = []byte{0x81, 127, 0, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return append(b, p...)
}

func chat(seq int, pad int) string {
	c := string(appendContent(nil, time.Now().UnixNano(), uint64(seq), pad))
	return `{"type":"chat","room":"r0","sender":"u","content":"` + c + `","offset":` + strconv.Itoa(seq) + `,"timestamp":"2026-11-27T19:00:00.123Z"}`
}

// The deliveries counted must not depend on how the bytes were split across reads.
func TestConsumeSplitInvariance(t *testing.T) {
	var stream []byte
	const msgs = 40
	for i := 1; i <= msgs; i++ {
		stream = append(stream, serverFrame(chat(i, 100+i*50))...) // crosses the 126 and 16-bit lengths
	}
	stream = append(stream, serverFrame(`{"type":"user_joined","room":"r0"}`)...)
	for _, chunk := range []int{1, 2, 3, 7, 64, 125, 4096, len(stream)} {
		g := &gen{cfg: config{proto: protoSwitchboard}}
		c := &client{id: 1, g: g, t: &g.testTally, waitCh: make(chan struct{}, 1)}
		c.measured.Store(true)
		var pending []byte
		for off := 0; off < len(stream); off += chunk {
			end := min(off+chunk, len(stream))
			buf := append(pending, stream[off:end]...)
			rest := consumeInto(g, c, buf, time.Now().UnixNano())
			pending = append([]byte(nil), rest...)
		}
		sn := g.snap()
		if sn.received != msgs || sn.reordered != 0 || len(pending) != 0 {
			t.Errorf("chunk %d: received %d reordered %d leftover %d, want %d 0 0", chunk, sn.received, sn.reordered, len(pending), msgs)
		}
	}
}

func TestConsumeCountsReorder(t *testing.T) {
	g := &gen{cfg: config{proto: protoSwitchboard}}
	c := &client{id: 0, g: g, t: &g.testTally, waitCh: make(chan struct{}, 1)}
	c.measured.Store(true)
	var b []byte
	for _, s := range []int{1, 2, 4, 3, 5} {
		b = append(b, serverFrame(chat(s, 10))...)
	}
	consumeInto(g, c, b, time.Now().UnixNano())
	if sn := g.snap(); sn.received != 5 || sn.reordered != 1 {
		t.Fatalf("received %d reordered %d, want 5 1", sn.received, sn.reordered)
	}
}

func TestAppendFrameMasksWithZeroKey(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		p := make([]byte, n)
		f := appendFrame(nil, 1, p)
		h := 2
		switch {
		case n >= 65536:
			h = 10
		case n >= 126:
			h = 4
		}
		if f[0] != 0x81 || f[1]&0x80 == 0 || len(f) != h+4+n {
			t.Fatalf("n=%d: header %x len %d", n, f[:2], len(f))
		}
	}
}

func TestQuantiles(t *testing.T) {
	g := &gen{}
	for i := 1; i <= 1000; i++ {
		g.testTally.hist.record(int64(i) * int64(time.Microsecond) * 10) // 10 µs .. 10 ms
	}
	a := snapshot{counts: make([]uint64, 64*16)}
	qs, mx := quantiles(a, g.snap(), 0.5, 0.99)
	within := func(got, want float64) bool { return got >= want && got <= want*1.07 }
	if !within(qs[0], 5) || !within(qs[1], 9.9) || !within(mx, 10) {
		t.Fatalf("p50 %.3f p99 %.3f max %.3f ms, want ≈5, ≈9.9, ≈10", qs[0], qs[1], mx)
	}
}

// Peers that batch put several messages in one frame (gorilla's chat pump joins them
// with newlines, centrifuge too), and gorilla splits a long message into fragments at
// its write buffer: every message counts once either way.
func TestConsumeBatchedAndFragmented(t *testing.T) {
	var batch []byte
	for i := 1; i <= 5; i++ {
		if i > 1 {
			batch = append(batch, '\n')
		}
		batch = append(batch, chat(i, 100)...)
	}
	one := serverFrame(string(batch))
	// the same bytes as a text frame without FIN and continuation frames, cut mid-marker
	cut := bytes.Index(batch, []byte(`"content":"`)) + 5
	var frag []byte
	frag = append(frag, 0x01, byte(cut))
	frag = append(frag, batch[:cut]...)
	rest := batch[cut:]
	frag = append(frag, 0x00, 126, byte(len(rest)/2>>8), byte(len(rest)/2))
	frag = append(frag, rest[:len(rest)/2]...)
	tail := rest[len(rest)/2:]
	frag = append(frag, 0x80, 126, byte(len(tail)>>8), byte(len(tail)))
	frag = append(frag, tail...)
	for name, stream := range map[string][]byte{"batched": one, "fragmented": frag} {
		g := &gen{cfg: config{proto: protoSwitchboard}}
		c := &client{id: 1, g: g, t: &g.testTally, waitCh: make(chan struct{}, 1)}
		c.measured.Store(true)
		if rest := consumeInto(g, c, stream, time.Now().UnixNano()); len(rest) != 0 {
			t.Fatalf("%s: %d bytes left", name, len(rest))
		}
		if sn := g.snap(); sn.received != 5 || sn.reordered != 0 {
			t.Errorf("%s: received %d reordered %d, want 5 0", name, sn.received, sn.reordered)
		}
	}
}

// Every delivery is counted; a read stamped with its time (a latency reader's) records
// the latency of each, an unstamped one (a bulk reader's) of none.
func TestLatencyOnlyFromStampedReads(t *testing.T) {
	g := &gen{cfg: config{proto: protoSwitchboard}}
	c := &client{id: 1, g: g, t: &g.testTally, waitCh: make(chan struct{}, 1)}
	c.measured.Store(true)
	var b []byte
	for i := 1; i <= 40; i++ {
		b = append(b, serverFrame(chat(i, 10))...)
		if i == 20 {
			consumeInto(g, c, b, 0)
			b = nil
		}
	}
	consumeInto(g, c, b, time.Now().UnixNano())
	sn := g.snap()
	var samples uint64
	for _, n := range sn.counts {
		samples += n
	}
	if sn.received != 40 || sn.reordered != 0 || samples != 20 {
		t.Fatalf("received %d reordered %d samples %d, want 40 0 20", sn.received, sn.reordered, samples)
	}
}

// consumeInto is a read of b by c's reader: parsed, counted, flushed into the tally.
func consumeInto(g *gen, c *client, b []byte, now int64) []byte {
	var cnt counts
	rest := c.consume(b, now, &cnt)
	g.testTally.flush(&cnt)
	return rest
}

func TestCentrifugePingInBatch(t *testing.T) {
	for p, want := range map[string]bool{`{}`: true, "{}\n{\"push\":{}}": true, "{\"push\":{}}\n{}": true,
		"{\"a\":{}}\n{}\n{\"b\":1}": true, `{"push":{"pub":{"data":{}}}}`: false} {
		if got := hasCentrifugePing([]byte(p)); got != want {
			t.Errorf("%q: %v, want %v", p, got, want)
		}
	}
}
