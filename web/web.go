package web

import (
	"embed"
	"io/fs"
	"net/http"
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
	static := noCache(http.FileServerFS(files))
	mux.Handle("GET /assets/", static)
	if why := playgroundMissing(files); why != "" {
		mux.Handle("GET /playground/", playgroundOff(why)) // playground.go says why
	} else {
		mux.Handle("GET /playground/", static)
	}
	return mux
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
