package nethttp

import (
	"net/http"
	"testing"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/transporttest"
)

// BenchmarkFanout: the write path end to end (see transporttest.BenchFanout), for
// comparison with adapters/epoll.
func BenchmarkFanout(b *testing.B) {
	transporttest.BenchFanout(b, func(_ testing.TB, n *node.Node) (http.Handler, func()) {
		return New(n), func() {}
	})
}

// BenchmarkIdle: heap and stacks per idle connection (run with -benchtime=1x).
func BenchmarkIdle(b *testing.B) {
	transporttest.BenchIdle(b, func(_ testing.TB, n *node.Node) (http.Handler, func()) {
		return New(n), func() {}
	}, "/ws", true, 2000)
}
