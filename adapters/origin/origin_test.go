package origin

import (
	"net/http/httptest"
	"testing"
)

func TestAllows(t *testing.T) {
	p := New([]string{" https://*.Example.com ", "", "http://localhost:3000", "null"})
	for _, tc := range []struct {
		policy *Policy
		host   string
		origin string
		want   bool
	}{
		{nil, "example.com", "", true},
		{nil, "example.com", "https://example.com", true},
		{nil, "example.com:443", "https://example.com", true},
		{nil, "example.com", "https://evil.test", false},
		{nil, "example.com", "null", false},
		{p, "api.test", "https://app.example.com", true},
		{p, "api.test", "https://example.com", false},
		{p, "api.test", "https://app.example.com.evil.test", false},
		{p, "api.test", "http://localhost:3000", true},
		{p, "api.test", "http://localhost:3001", false},
		{p, "api.test", "null", true},
		{&Policy{}, "api.test", "https://app.example.com", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := tc.policy.Allows(r); got != tc.want {
			t.Errorf("policy %v, Host %s, Origin %q: %v, want %v", tc.policy, tc.host, tc.origin, got, tc.want)
		}
	}
}
