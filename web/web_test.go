package web

import (
	"bufio"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
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

// TestJSClient runs the JavaScript client's unit tests (testdata/switchboard_test.mjs)
// with Node's test runner, which `make test` installs for the browser suite anyway.
func TestJSClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the browser e2e suite (make test-browser) installs it")
	}
	out, err := exec.Command(node, "--test", "testdata/switchboard_test.mjs").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
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
