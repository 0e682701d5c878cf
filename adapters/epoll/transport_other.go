//go:build !linux

package epoll

import (
	"errors"
	"net/http"

	"github.com/switchboard-ws/switchboard/adapters/node"
)

// ErrUnsupported: epoll exists on Linux only; use adapters/nethttp elsewhere.
var ErrUnsupported = errors.New("epoll: transport needs Linux; use the goroutine (nethttp) transport")

// Transport is the epoll transport; on this system New always fails.
type Transport struct{}

// New fails with ErrUnsupported on systems without epoll.
func New(*node.Node, ...Option) (*Transport, error) { return nil, ErrUnsupported }

func (*Transport) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, ErrUnsupported.Error(), http.StatusNotImplemented)
}

// Close does nothing.
func (*Transport) Close() error { return nil }
