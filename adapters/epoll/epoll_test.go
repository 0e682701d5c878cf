//go:build linux

package epoll

import (
	"context"
	"time"

	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/transporttest"
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

func ctxShutdown(n *node.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.Shutdown(ctx)
}
