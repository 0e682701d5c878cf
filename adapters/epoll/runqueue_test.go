//go:build linux

package epoll

import (
	"runtime"
	"sync"
	"testing"

	"github.com/switchboard-ws/switchboard/adapters/transporttest"
)

// TestRunQueueOrder: the writer gets the connections in the order they were woken.
func TestRunQueueOrder(t *testing.T) {
	var q runQueue
	q.init()
	cs := []*conn{{gen: 1}, {gen: 2}, {gen: 3}}
	for _, c := range cs {
		q.push(c)
	}
	var got []uint32
	for c := q.take(); c != nil; c = c.next {
		got = append(got, c.gen)
	}
	if len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("took %v, want [1 2 3]", got)
	}
	q.close()
	if c := q.take(); c != nil {
		t.Fatalf("took gen %d from a closed, empty queue", c.gen)
	}
}

// TestRunQueueLosesNoWake: goroutines waking connections at once, with the writer
// parking and waking in between, never leave one queued and unserved.
func TestRunQueueLosesNoWake(t *testing.T) {
	tr := &Transport{}
	s := &shard{t: tr}
	s.ready.init()
	conns := make([]*conn, 64)
	for i := range conns {
		conns[i] = &conn{sh: s, fd: -1}
	}
	tr.wg.Add(1)
	go s.work()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				conns[(g*7+i)%len(conns)].Wake()
				if i%100 == 0 {
					runtime.Gosched() // let the writer empty the queue and park
				}
			}
		}()
	}
	wg.Wait()
	transporttest.WaitFor(t, "the writer to take every woken connection", func() bool {
		for _, c := range conns {
			if c.sched.Load() {
				return false
			}
		}
		return true
	})
	s.ready.close()
	tr.wg.Wait()
}

// BenchmarkWake: the hand-off from Wake to the shard's writer, alone: a round wakes 256
// connections (as a fan-out does) and waits until the writer has taken every one.
// The connections are closed (fd -1), so a flush is only its lock; ns/op is per Wake.
//
//	go test -run XXX -bench Wake -cpu 1,2 ./adapters/epoll
func BenchmarkWake(b *testing.B) {
	const round = 256
	t := &Transport{}
	s := &shard{t: t}
	s.ready.init()
	conns := make([]*conn, round)
	for i := range conns {
		conns[i] = &conn{sh: s, fd: -1}
	}
	t.wg.Add(1)
	go s.work()
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += round {
		for _, c := range conns {
			c.Wake()
		}
		for _, c := range conns {
			for c.sched.Load() {
				runtime.Gosched()
			}
		}
	}
	b.StopTimer()
	s.ready.close()
	t.wg.Wait()
}
