package main

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// progress draws a one-line bar on stderr until stop is called.
type progress struct {
	label string
	total int64
	done  atomic.Int64
	extra atomic.Pointer[string]
	quit  chan struct{}
	fin   chan struct{}
}

func startProgress(quiet bool, label string, total int) *progress {
	p := &progress{label: label, total: int64(total), quit: make(chan struct{}), fin: make(chan struct{})}
	if quiet {
		close(p.fin)
		return p
	}
	go func() {
		defer close(p.fin)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-p.quit:
				p.draw(start)
				fmt.Fprintln(os.Stderr)
				return
			case <-t.C:
				p.draw(start)
			}
		}
	}()
	return p
}

func (p *progress) setExtra(s string) { p.extra.Store(&s) }

func (p *progress) draw(start time.Time) {
	d := p.done.Load()
	frac := 0.0
	if p.total > 0 {
		frac = float64(d) / float64(p.total)
	}
	if frac > 1 {
		frac = 1
	}
	const w = 30
	n := int(frac * w)
	ex := ""
	if e := p.extra.Load(); e != nil {
		ex = " " + *e
	}
	fmt.Fprintf(os.Stderr, "\r%-12s [%s%s] %d/%d %5.1fs%s   ", p.label, strings.Repeat("#", n),
		strings.Repeat(".", w-n), d, p.total, time.Since(start).Seconds(), ex)
}

func (p *progress) stop() {
	select {
	case <-p.fin:
		return
	default:
	}
	close(p.quit)
	<-p.fin
}
