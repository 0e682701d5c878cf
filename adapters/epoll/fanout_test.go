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
