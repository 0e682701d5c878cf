package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	jsclient "github.com/switchboard-ws/switchboard/clients/js"
)

//go:embed all:static
var embedded embed.FS

// Files is the embedded static tree (index.html, dashboard.html, assets/, playground/
// when present). /switchboard.js is not among them: it is clients/js's one source.
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(err) // "static" is embedded at build time; failure is a build bug
	}
	return sub
}

// Options tune the pages' handler.
type Options struct {
	// AllowOrigin reports whether a page of another origin may load /switchboard.js (the
	// server's --allowed-origins rule, the same as for /ws); nil: same origin only.
	AllowOrigin func(r *http.Request) bool
}

// Handler serves the pages with default Options. Mount it at "/"; paths it does not
// know answer 404.
func Handler() http.Handler { return NewHandler(Options{}) }

// NewHandler serves the pages with opts.
func NewHandler(opts Options) http.Handler { return handler(Files(), opts) }

func handler(files fs.FS, opts Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", file(files, "index.html"))
	mux.Handle("GET /switchboard.js", noCache(clientModule(opts.AllowOrigin)))
	mux.Handle("GET /dashboard", file(files, "dashboard.html"))
	static := staticFiles(files)
	mux.Handle("GET /assets/", static)
	if why := playgroundMissing(files); why != "" {
		mux.Handle("GET /playground/", playgroundOff(why, files)) // playground.go says why
	} else {
		mux.Handle("GET /playground/", static)
	}
	return mux
}

// clientModule serves the JS client. A page from an allowed origin gets CORS headers, so
// `import … from "https://switchboard.example/switchboard.js"` works in its browser.
func clientModule(allow func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		if origin := r.Header.Get("Origin"); origin != "" && allow != nil && allow(r) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeContent(w, r, "switchboard.js", time.Time{}, bytes.NewReader(jsclient.Source))
	})
}

// staticFiles serves the regular files of files at their paths, and a directory's
// index.html for the directory; anything else — a directory without one (never a
// listing), a path that is not valid UTF-8 or not a clean file name — is 404, never a 500
// (PROTOCOL.md §11).
func staticFiles(files fs.FS) http.Handler {
	return noCache(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "" || strings.HasSuffix(name, "/") {
			name += "index.html"
		}
		if !utf8.ValidString(name) || !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		if st, err := fs.Stat(files, name); err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		http.ServeFileFS(w, r, files, name)
	}))
}

// file serves one embedded file at a fixed path.
func file(files fs.FS, name string) http.Handler {
	return noCache(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, name)
	}))
}

// noCache makes browsers revalidate: the embedded files change with every build and
// carry no modification time to compare.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
