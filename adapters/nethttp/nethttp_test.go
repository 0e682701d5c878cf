package nethttp

import (
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTransport(t *testing.T) {
	transporttest.Run(t, func(t *testing.T, n *node.Node) (http.Handler, func()) {
		return New(n), func() {}
	})
}
