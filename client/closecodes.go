package client

import (
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-ws/switchboard/core"
)

// verdict is what one connection's end means for the next attempt.
type verdict uint8

const (
	retry    verdict = iota // back off (full jitter), then reconnect
	retryNow                // reconnect without waiting (a fresh token fixes it)
	stop                    // the server meant it: end the client
)

// closeVerdict maps a close code (PROTOCOL.md §5, §8.2; core's constants) to a verdict:
// 4000 (another connection took over), 4001 (a bad token: asking again is refused
// again) and 4009 (kicked) stop; 4002 (exp passed) reconnects at once with a fresh
// token; everything else
// (1001 going away, 1012 restart, 4003 capacity, 4008 slow consumer, 1006 lost …) backs
// off and retries.
func closeVerdict(code websocket.StatusCode) verdict {
	switch code {
	case core.CloseReplaced, core.CloseUnauthorized, core.CloseKicked:
		return stop
	case core.CloseTokenExpired:
		return retryNow
	}
	return retry
}

// statusVerdict maps a refused handshake's HTTP status to a verdict: 400 (an invalid
// user id), 401, 403 (Origin) and 404 (no endpoint) will not change by retrying; 503
// (draining, accept rate) and everything else retry, after Retry-After when given.
func statusVerdict(status int) verdict {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return stop
	}
	return retry
}

// retryAfter reads a Retry-After header (seconds or an HTTP date); 0 when absent.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if d, err := time.ParseDuration(v + "s"); err == nil && d >= 0 {
		return d
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
