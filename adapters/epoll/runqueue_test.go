//go:build linux

package epoll

import (
	"runtime"
	"testing"
)

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
		conns[i] = &conn{t: t, sh: s, fd: -1}
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
