//go:build js && wasm

package main

import (
	"encoding/json"
	"strings"
	"syscall/js"
	"testing"
)

// TestRunsInBrowser proves these tests run inside a browser, not under Node: it prints
// the user agent that `make test-wasm` shows.
func TestRunsInBrowser(t *testing.T) {
	nav := js.Global().Get("navigator")
	if nav.IsUndefined() {
		t.Fatal("no navigator: not running in a browser")
	}
	ua := nav.Get("userAgent").String()
	t.Logf("navigator.userAgent = %s", ua)
	if !strings.Contains(ua, "Chrome") {
		t.Fatalf("userAgent %q is not Chromium's", ua)
	}
}

// TestJSAPI drives the glue the way the playground page does: through the
// globalThis.switchboard object, with JSON strings in and out.
func TestJSAPI(t *testing.T) {
	register()
	sb := js.Global().Get("switchboard")
	if sb.Get("version").String() != Version {
		t.Fatalf("switchboard.version = %v", sb.Get("version"))
	}

	bad := sb.Call("newHub", `{"max_per_usr":1}`)
	if !bad.InstanceOf(js.Global().Get("Error")) {
		t.Fatalf("newHub with a misspelt field should return an Error, got %v", bad)
	}

	id := sb.Call("newHub", `{"max_per_user":1}`)
	if id.Type() != js.TypeNumber {
		t.Fatalf("newHub returned %v", id)
	}
	var r Result
	decode := func(v js.Value) {
		t.Helper()
		r = Result{}
		if err := json.Unmarshal([]byte(v.String()), &r); err != nil {
			t.Fatalf("step returned %q: %v", v.String(), err)
		}
	}
	decode(sb.Call("step", id, `{"kind":"connect","conn":1,"user":"ann","now":1000}`))
	if len(r.Actions) != 1 || r.Actions[0].Type != "connected" || r.Now != 1000 {
		t.Fatalf("connect: %+v", r)
	}
	decode(sb.Call("step", id, `{"kind":"connect","conn":2,"user":"ann"}`))
	var closed bool
	for _, a := range r.Actions {
		closed = closed || (a.Kind == "close" && a.Conn == 1 && a.Code == 4000)
	}
	if !closed {
		t.Errorf("second conn of ann with max_per_user 1 should close conn 1 with 4000: %+v", r.Actions)
	}

	sb.Call("closeHub", id)
	decode(sb.Call("step", id, `{"kind":"tick"}`))
	if r.Error == "" {
		t.Error("step on a closed hub should report an error")
	}
	decode(sb.Call("step", "not a number", "{}"))
	if r.Error == "" {
		t.Error("step with a bad id should report an error")
	}
}
