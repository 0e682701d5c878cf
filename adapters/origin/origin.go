// Package origin owns the browser Origin rule of PROTOCOL.md §2 and §11, one
// implementation for the WebSocket handshake (adapters/node, whatever identifies the
// user), the admin API (adapters/admin) and adapters/auth: a request whose Origin names
// another host than its Host, and matches no allowed pattern, is refused. A request
// without Origin comes from a non-browser client and is not refused for it: Origin
// protects browser users against other sites, not the server against programs.
//
// It must never decide anything else about a request (identity, tokens, paths).
package origin

import (
	"net/http"
	"net/url"
	"strings"
)

// Policy is the Origin rule with its allowed patterns, e.g. "https://*.example.com"
// (`*` matches any run of characters; "*" alone any origin; a pattern without "://"
// matches the host alone). The zero value and nil allow the request's own host only.
type Policy struct{ patterns []string }

// New returns the policy allowing patterns besides the request's own host (blank
// patterns ignored, case ignored).
func New(patterns []string) *Policy {
	p := &Policy{}
	for _, s := range patterns {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			p.patterns = append(p.patterns, s)
		}
	}
	return p
}

// Allows reports whether r may come from its Origin: none, the host r is addressed to,
// or one matching an allowed pattern.
func (p *Policy) Allows(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	norm, host, ok := normalizeOrigin(origin)
	if ok && host == stripDefaultPort(strings.ToLower(r.Host), "") {
		return true
	}
	if !ok {
		norm = strings.ToLower(origin) // e.g. "null" may still be listed explicitly
	}
	if p == nil {
		return false
	}
	for _, pat := range p.patterns {
		if matchOrigin(pat, norm, host) {
			return true
		}
	}
	return false
}

// normalizeOrigin returns "scheme://host[:port]" in lower case without a default port,
// and the host[:port] part alone.
func normalizeOrigin(origin string) (norm, host string, ok bool) {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", "", false
	}
	scheme := strings.ToLower(u.Scheme)
	host = stripDefaultPort(strings.ToLower(u.Host), scheme)
	return scheme + "://" + host, host, true
}

// stripDefaultPort drops :80 and :443 so "example.com" and "example.com:443" compare
// equal. With no scheme known (the Host header) both are dropped.
func stripDefaultPort(host, scheme string) string {
	switch {
	case strings.HasSuffix(host, ":80") && (scheme == "" || scheme == "http" || scheme == "ws"):
		return strings.TrimSuffix(host, ":80")
	case strings.HasSuffix(host, ":443") && (scheme == "" || scheme == "https" || scheme == "wss"):
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

// matchOrigin matches one pattern: with "://" against the whole origin, without it
// against the host alone.
func matchOrigin(pattern, norm, host string) bool {
	if i := strings.Index(pattern, "://"); i >= 0 {
		pattern = pattern[:i+3] + stripDefaultPort(pattern[i+3:], pattern[:i])
		return glob(pattern, norm)
	}
	if host == "" { // an origin that is not a URL, like "null"
		return glob(pattern, norm)
	}
	return glob(pattern, host)
}

// glob reports whether s matches pattern, where '*' matches any run of characters.
func glob(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pattern[:star]) {
		return false
	}
	s, pattern = s[star:], pattern[star+1:]
	// Try every split for the rest; patterns are short and origins shorter.
	for i := 0; i <= len(s); i++ {
		if glob(pattern, s[i:]) {
			return true
		}
	}
	return false
}
