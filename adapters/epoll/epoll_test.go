//go:build linux

package epoll

import (
	"net/http"
	"runtime"
	"strconv"
	"testing"

	"go.uber.org/goleak"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/transporttest"
	"github.com/switchboard-ws/switchboard/core"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTransport(t *testing.T, n *node.Node) (http.Handler, func()) {
	tr, err := New(n)
	if err != nil {
		t.Fatal(err)
	}
	return tr, func() { tr.Close() }
}

func TestTransport(t *testing.T) { transporttest.Run(t, newTransport) }

// TestIdleConnectionsCostNoGoroutine: connections that say nothing add no goroutine.
func TestIdleConnectionsCostNoGoroutine(t *testing.T) {
	s := transporttest.Start(t, newTransport, node.Options{})
	base := runtime.NumGoroutine()
	for i := range 200 {
		r := s.DialRaw("/ws?user=idle"+strconv.Itoa(i), nil, nil)
		r.ReadJSON()
	}
	transporttest.WaitFor(t, "the HTTP goroutines of the handshakes to end", func() bool {
		return runtime.NumGoroutine() <= base+2
	})
	if got := s.Admin(core.AdminRequest{Op: core.AdminStats}).Stats.TotalConnections; got != 200 {
		t.Fatalf("%d connections", got)
	}
}
