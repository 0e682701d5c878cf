package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"unicode/utf8"
)

//go:embed all:static
var embedded embed.FS

// Files is the embedded static tree (index.html, switchboard.js, dashboard.html, assets/,
// playground/ when present).
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(err) // "static" is embedded at build time; failure is a build bug
	}
	return sub
}

// Handler serves the pages. Mount it at "/"; paths it does not know answer 404.
func Handler() http.Handler { return handler(Files()) }

func handler(files fs.FS) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", file(files, "index.html"))
	mux.Handle("GET /switchboard.js", file(files, "switchboard.js"))
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
