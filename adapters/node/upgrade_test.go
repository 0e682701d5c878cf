package node

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestUpgradeRefusesBigHeadersItself: an application mounting the handler on an
// http.Server it did not configure with ConfigureServer still gets 431 for a handshake
// with more than 16 KiB of headers, and nothing is upgraded.
func TestUpgradeRefusesBigHeadersItself(t *testing.T) {
	n := New(Options{})
	defer shutdown(t, n)
	for _, tc := range []struct {
		filler int
		status int
	}{
		{17 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{16<<10 - 400, http.StatusBadRequest}, // under the limit: on to the next rule (the recorder cannot be hijacked)
	} {
		r := httptest.NewRequest("GET", "/ws?user=ann", nil)
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Key", "short")
		r.Header.Set("X-Filler", strings.Repeat("a", tc.filler))
		w := httptest.NewRecorder()
		if _, ok := n.Upgrade(w, r); ok || w.Code != tc.status {
			t.Fatalf("%d bytes of filler: upgraded=%v status %d, want %d", tc.filler, ok, w.Code, tc.status)
		}
	}
}
