package web

import (
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
)

func playgroundTree(withWasm bool) fstest.MapFS {
	files := fstest.MapFS{
		"index.html":                {Data: []byte("chat")},
		"playground/index.html":     {Data: []byte("<p>playground page</p>")},
		"playground/playground.js":  {Data: []byte("// js")},
		"playground/playground.css": {Data: []byte("/* css */")},
	}
	if withWasm {
		files["playground/hub.wasm"] = &fstest.MapFile{Data: []byte("\x00asm")}
		files["playground/wasm_exec.js"] = &fstest.MapFile{Data: []byte("// go")}
	}
	return files
}

// TestPlaygroundOffWithoutWasm: a binary built without the wasm hub (plain go build)
// answers every /playground/ path 503 with a page that says why and how to build it.
func TestPlaygroundOffWithoutWasm(t *testing.T) {
	files := playgroundTree(false)
	why := playgroundMissing(files)
	if !strings.Contains(why, "web/static/playground/hub.wasm") || !strings.Contains(why, "make playground") {
		t.Fatalf("playgroundMissing = %q", why)
	}
	h := handler(files, Options{})
	for _, path := range []string{"/playground/", "/playground/hub.wasm", "/playground/playground.js"} {
		code, body, hdr := get(t, h, path)
		if code != http.StatusServiceUnavailable || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %q, want 503 text/html", path, code, hdr.Get("Content-Type"))
		}
		if !strings.Contains(body, "The playground is off in this build") || !strings.Contains(body, "make build") ||
			!strings.Contains(body, "web/static/playground/hub.wasm") {
			t.Errorf("%s: body does not say why the playground is off:\n%s", path, body)
		}
	}
	if code, body, _ := get(t, h, "/"); code != 200 || body != "chat" {
		t.Errorf("/: %d %q, the rest of the site must be unaffected", code, body)
	}
}

// TestPlaygroundServedWhenBuilt: with hub.wasm and wasm_exec.js embedded, /playground/
// is the real page and its files.
func TestPlaygroundServedWhenBuilt(t *testing.T) {
	files := playgroundTree(true)
	if why := playgroundMissing(files); why != "" {
		t.Fatalf("playgroundMissing = %q with both files present", why)
	}
	h := handler(files, Options{})
	for path, want := range map[string]string{
		"/playground/":             "<p>playground page</p>",
		"/playground/hub.wasm":     "\x00asm",
		"/playground/wasm_exec.js": "// go",
	} {
		if code, body, _ := get(t, h, path); code != 200 || body != want {
			t.Errorf("%s: %d %q, want 200 %q", path, code, body, want)
		}
	}
}
