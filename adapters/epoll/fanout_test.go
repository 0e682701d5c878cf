//go:build linux

package epoll

import (
	"net/http"
	"testing"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/transporttest"
)

// BenchmarkFanout: the write path end to end (see transporttest.BenchFanout).
//
//	go test -run XXX -bench Fanout -benchmem ./adapters/epoll
func BenchmarkFanout(b *testing.B) {
	transporttest.BenchFanout(b, func(tb testing.TB, n *node.Node) (http.Handler, func()) {
		tr, err := New(n)
		if err != nil {
			tb.Fatal(err)
		}
		return tr, func() { tr.Close() }
	})
}

// BenchmarkFanoutRate: writev calls per delivery when the writers keep up ("paced": each
// frame written at once, about 1) and when they fall behind ("flood": frames coalesce,
// well under 1). The sender's own echo counts as a write too (101 sockets per message).
//
//	go test -run XXX -bench FanoutRate -benchmem ./adapters/epoll
func BenchmarkFanoutRate(b *testing.B) {
	var tr *Transport
	transporttest.BenchFanoutRate(b, func(tb testing.TB, n *node.Node) (http.Handler, func()) {
		var err error
		if tr, err = New(n); err != nil {
			tb.Fatal(err)
		}
		return tr, func() { tr.Close() }
	}, transporttest.FanoutRate{Unit: "writevs/delivery", Counter: func() uint64 { return tr.writevs() }})
}

// BenchmarkIdle: heap and stacks per idle connection (run with -benchtime=1x).
func BenchmarkIdle(b *testing.B) {
	transporttest.BenchIdle(b, func(tb testing.TB, n *node.Node) (http.Handler, func()) {
		tr, err := New(n)
		if err != nil {
			tb.Fatal(err)
		}
		return tr, func() { tr.Close() }
	}, "/ws", true, 2000)
}
