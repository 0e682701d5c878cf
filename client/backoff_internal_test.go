package client

import (
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Full jitter: the wait is uniform in [0, cap] where cap doubles per attempt up to the
// maximum; Retry-After is added on top.
func TestBackoffFullJitter(t *testing.T) {
	top := func(n int64) int64 { return n - 1 } // the largest value rand may return
	low := func(int64) int64 { return 0 }
	for _, tt := range []struct {
		attempt    int
		retryAfter time.Duration
		rnd        func(int64) int64
		want       time.Duration
	}{
		{0, 0, top, 100 * time.Millisecond},
		{1, 0, top, 200 * time.Millisecond},
		{3, 0, top, 800 * time.Millisecond},
		{4, 0, top, time.Second}, // capped
		{60, 0, top, time.Second},
		{5, 0, low, 0},
		{0, 2 * time.Second, low, 2 * time.Second},
		{0, 2 * time.Second, top, 2*time.Second + 100*time.Millisecond},
	} {
		if got := backoff(tt.attempt, 100*time.Millisecond, time.Second, tt.retryAfter, tt.rnd); got != tt.want {
			t.Errorf("backoff(%d, retry-after %v) = %v, want %v", tt.attempt, tt.retryAfter, got, tt.want)
		}
	}
}

// Which endings stop the client, which reconnect at once, which back off.
func TestVerdicts(t *testing.T) {
	for code, want := range map[websocket.StatusCode]verdict{
		4000: stop, 4001: stop, 4009: stop, 4002: retryNow,
		1001: retry, 1012: retry, 4003: retry, 4008: retry, 1006: retry, -1: retry,
	} {
		if got := closeVerdict(code); got != want {
			t.Errorf("close %d: verdict %d, want %d", code, got, want)
		}
	}
	for status, want := range map[int]verdict{400: stop, 401: stop, 403: stop, 404: stop, 503: retry, 502: retry} {
		if got := statusVerdict(status); got != want {
			t.Errorf("HTTP %d: verdict %d, want %d", status, got, want)
		}
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{"": 0, "3": 3 * time.Second, "soon": 0,
		now.Add(5 * time.Second).Format(http.TimeFormat): 5 * time.Second} {
		if got := retryAfter(http.Header{"Retry-After": {v}}, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}

func TestExpiry(t *testing.T) {
	// {"sub":"ann","exp":1800000000}, signed with "k"
	const tok = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE4MDAwMDAwMDAsInN1YiI6ImFubiJ9.c2ln"
	if exp, ok := expiry(tok); !ok || exp.Unix() != 1800000000 {
		t.Fatalf("expiry = %v, %v", exp, ok)
	}
	if _, ok := expiry("opaque"); ok {
		t.Fatal("an opaque token has an expiry")
	}
}
