package web

import (
	"bufio"
	"bytes"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jsclient "github.com/switchboard-ws/switchboard/clients/js"
)

func get(t *testing.T, h http.Handler, path string) (int, string, http.Header) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(w.Body)
	return w.Code, string(b), w.Header()
}

func TestPages(t *testing.T) {
	h := Handler()
	tests := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html", `data-testid="messages"`},
		{"/switchboard.js", "text/javascript", "export class Switchboard"},
		{"/dashboard", "text/html", `data-testid="stat-connections"`},
		{"/assets/chat.js", "text/javascript", `from "/switchboard.js"`},
		{"/assets/dashboard.js", "text/javascript", "/api/stats"},
		{"/assets/chart.js", "text/javascript", "export function scale"},
		{"/assets/app.css", "text/css", ".topbar"},
		{"/assets/chat.css", "text/css", ".messages"},
		{"/assets/dashboard.css", "text/css", ".cards"},
	}
	for _, tt := range tests {
		code, body, hdr := get(t, h, tt.path)
		if code != 200 {
			t.Errorf("%s: status %d", tt.path, code)
			continue
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
			t.Errorf("%s: Content-Type %q, want %s", tt.path, ct, tt.contentType)
		}
		if !strings.Contains(body, tt.contains) {
			t.Errorf("%s: body lacks %q", tt.path, tt.contains)
		}
		if hdr.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: Cache-Control %q", tt.path, hdr.Get("Cache-Control"))
		}
	}
}

// Every page references only assets that exist.
func TestReferencedAssetsExist(t *testing.T) {
	h := Handler()
	for _, page := range []string{"/", "/dashboard"} {
		_, body, _ := get(t, h, page)
		for _, attr := range []string{`href="`, `src="`} {
			for _, part := range strings.Split(body, attr)[1:] {
				ref := part[:strings.IndexByte(part, '"')]
				if !strings.HasPrefix(ref, "/assets/") && ref != "/switchboard.js" {
					continue
				}
				if code, _, _ := get(t, h, ref); code != 200 {
					t.Errorf("%s references %s: status %d", page, ref, code)
				}
			}
		}
	}
}

// TestPlaygroundFilesServed: every embedded playground file is served, or, in a binary
// built without the wasm hub, answered by the page saying the playground is off.
func TestPlaygroundFilesServed(t *testing.T) {
	h := Handler()
	want := http.StatusOK
	if PlaygroundMissing() != "" {
		want = http.StatusServiceUnavailable
	}
	n := 0
	_ = fs.WalkDir(Files(), "playground", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		n++
		// FileServer answers a directory's index.html at the directory itself.
		if code, _, _ := get(t, h, "/"+strings.TrimSuffix(path, "index.html")); code != want {
			t.Errorf("/%s: status %d, want %d", path, code, want)
		}
		return nil
	})
	t.Logf("%d playground files embedded", n)
}

func TestUnknownPaths(t *testing.T) {
	h := Handler()
	for _, path := range []string{"/nope", "/index.html/x", "/assets/missing.js", "/static/index.html", "/dashboard/x"} {
		if code, _, _ := get(t, h, path); code != 404 {
			t.Errorf("%s: status %d, want 404", path, code)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d, want 405", w.Code)
	}
}

// /switchboard.js is clients/js's file byte for byte, and carries CORS headers only for
// origins the server allows.
func TestClientModule(t *testing.T) {
	h := NewHandler(Options{AllowOrigin: func(r *http.Request) bool {
		return r.Header.Get("Origin") == "https://app.example"
	}})
	for _, tt := range []struct{ origin, allowed string }{
		{"https://app.example", "https://app.example"},
		{"https://evil.example", ""},
		{"", ""},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/switchboard.js", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		h.ServeHTTP(w, r)
		if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), jsclient.Source) {
			t.Fatalf("origin %q: status %d, body is not clients/js/switchboard.js", tt.origin, w.Code)
		}
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.allowed {
			t.Errorf("origin %q: Access-Control-Allow-Origin %q, want %q", tt.origin, got, tt.allowed)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
			t.Errorf("Content-Type %q", ct)
		}
	}
	// Without an AllowOrigin rule, no other origin gets the header.
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/switchboard.js", nil)
	r.Header.Set("Origin", "https://app.example")
	Handler().ServeHTTP(w, r)
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("default handler: Access-Control-Allow-Origin %q", got)
	}
}

// TestStaticPathsNeverListOrFail: no directory listings, and malformed paths are 400 or
// 404, never 500 (PROTOCOL.md §11). Raw request lines, so that nothing cleans the paths
// on the way.
func TestStaticPathsNeverListOrFail(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, path := range []string{
		"/assets/", "/assets/..%2f", "/assets/%2e%2e/", "/playground/..%2fassets/", "/assets/%ff", "/assets/%ff.css",
		"/assets/\xff", "/playground/%c0%ae%c0%ae/", "/assets/app.css/", "/assets/app.css%00", "/assets/%zz",
		"/assets/./", "/assets/nope/", "/assets/%2fetc%2fpasswd", "/assets/..\\..\\",
	} {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatalf("%q: %v", path, err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusNotFound, http.StatusBadRequest:
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect:
			// net/http's cleaning of the path: where it points is checked by its own case.
		default:
			t.Errorf("GET %q: %d, want 404 or 400", path, resp.StatusCode)
		}
	}
	// The playground's directory serves its page, not a listing (503 and a page saying
	// why when this build has no wasm: playground.go).
	code, body, _ := get(t, Handler(), "/playground/")
	if (code != 200 && code != 503) || !strings.Contains(body, "<html") {
		t.Fatalf("/playground/: %d", code)
	}
}
