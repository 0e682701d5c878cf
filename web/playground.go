package web

import (
	"html"
	"io/fs"
	"net/http"
	"slices"
	"strings"
)

// The playground's wasm hub is built by `make playground` (`make build` and `make run`
// do it first), not committed, so a plain `go build` or `go install` embeds
// static/playground/ without it. Committing it was the other choice, and the worse one:
// hub.wasm is 4.3 MB (1.2 MB gzipped) that changes with every core change, so every
// branch touching core would conflict on it, the history would grow by a megabyte a
// change, and an "is it up to date" check would fail on any Go patch release (the bytes
// depend on the exact toolchain). Instead such a binary says so: the server logs it at
// start (PlaygroundMissing), and /playground/ answers 503 with a page telling how to
// build it, rather than a page whose wasm is a silent 404.
var playgroundFiles = []string{"playground/hub.wasm", "playground/wasm_exec.js"}

// PlaygroundMissing says why the embedded playground cannot run, or "" when it can.
func PlaygroundMissing() string { return playgroundMissing(Files()) }

func playgroundMissing(files fs.FS) string {
	for _, name := range playgroundFiles {
		if _, err := fs.Stat(files, name); err != nil {
			return "this binary was built without web/static/" + name +
				" (run make playground before go build, or build with make build)"
		}
	}
	return ""
}

// playgroundOff answers the playground's page and files, when the playground is missing,
// with a page saying why; a path that is none of them is 404, as for any static file.
func playgroundOff(why string, files fs.FS) http.Handler {
	page := []byte(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard playground: off</title><link rel="icon" href="data:,"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The playground is off in this build</h1>
<p data-testid="playground-off">Off because ` + html.EscapeString(why) + `.</p>
<p>The playground runs the server's core compiled to WebAssembly in the page; that file is
built by <code>make playground</code>, never committed. Rebuild the server with
<code>make build</code> (or start it with <code>make run</code>) and reload.</p>
<p><a href="/">Chat</a> · <a href="/dashboard">Dashboard</a></p>
</body>
</html>
`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name != "playground/" && !slices.Contains(playgroundFiles, name) && !isFile(files, name) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write(page)
	})
}

// isFile reports whether name is a regular file of files (a valid fs path).
func isFile(files fs.FS, name string) bool {
	if !fs.ValidPath(name) {
		return false
	}
	st, err := fs.Stat(files, name)
	return err == nil && st.Mode().IsRegular()
}
