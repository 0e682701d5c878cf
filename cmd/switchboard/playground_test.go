package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/web"
)

// TestPlaygroundOffSaidAtStart: a binary built without the playground's wasm hub (what
// `go build ./cmd/switchboard` gives before `make playground`) logs one line at start
// saying the playground is off and why, and /playground/ answers a page saying so (503),
// not a page whose wasm is a 404. With the hub built in, neither happens. Which of the
// two this test binary is depends on the tree it was built from; web's tests cover both.
func TestPlaygroundOffSaidAtStart(t *testing.T) {
	in := start(t, "--transport", "goroutine")
	why := web.PlaygroundMissing()
	code, body := in.http("GET", "/playground/", "")
	deadline := time.Now().Add(wait)
	for why != "" && !strings.Contains(in.stderr.String(), "playground off") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the line follows "listening on"
	}
	logged := strings.Count(in.stderr.String(), "playground off")
	if why != "" {
		if logged != 1 || !strings.Contains(in.stderr.String(), "hub.wasm") {
			t.Errorf("want one log line saying the playground is off and why; stderr:\n%s", in.stderr.String())
		}
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "The playground is off in this build") {
			t.Errorf("GET /playground/: %d\n%s", code, body)
		}
		return
	}
	if logged != 0 || code != http.StatusOK {
		t.Errorf("playground built in, yet GET /playground/ %d and stderr:\n%s", code, in.stderr.String())
	}
}
