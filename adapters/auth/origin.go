package auth

import (
	"net/http"
	"net/url"
	"strings"
)

// checkOrigin refuses a browser whose page came from another host than the one it
// connects to, unless its origin matches an allowed pattern. A request without Origin
// comes from a non-browser client and is not refused for it: Origin protects browser
// users against other sites, not the server against programs.
func (a *Authenticator) checkOrigin(r *http.Request) *Error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	norm, host, ok := normalizeOrigin(origin)
	if ok && host == stripDefaultPort(strings.ToLower(r.Host), "") {
		return nil
	}
	if !ok {
		norm = strings.ToLower(origin) // e.g. "null" may still be listed explicitly
	}
	for _, p := range a.origins {
		if matchOrigin(p, norm, host) {
			return nil
		}
	}
	return &Error{Status: http.StatusForbidden, Code: "forbidden",
		Message: "origin " + origin + " is not allowed (see --allowed-origins)"}
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

// OriginAllowed reports whether a browser page of r's Origin may use this server (the
// same host, or --allowed-origins), by the rule /ws applies: for CORS on the pages'
// resources, such as the JS client module.
func (a *Authenticator) OriginAllowed(r *http.Request) bool { return a.checkOrigin(r) == nil }
