//go:build js && wasm

package main

import (
	"syscall/js"
)

// hubs holds the sessions the page created, by the id newHub returned. Only the
// JavaScript event loop calls in, one call at a time, so no lock is needed.
var hubs = map[int]*Session{}
var nextHub = 1

func main() {
	register()
	select {} // keep the Go runtime alive for later calls from JavaScript
}

// register installs globalThis.switchboard = {newHub, step, closeHub, version} and
// resolves globalThis.switchboardReady if the page left one there.
func register() {
	api := js.Global().Get("Object").New()
	api.Set("newHub", js.FuncOf(jsNewHub))
	api.Set("step", js.FuncOf(jsStep))
	api.Set("closeHub", js.FuncOf(jsCloseHub))
	api.Set("version", Version)
	js.Global().Set("switchboard", api)
	if ready := js.Global().Get("switchboardReady"); ready.Type() == js.TypeFunction {
		ready.Invoke(api)
	}
}

// jsNewHub is switchboard.newHub(configJSON): a hub's id, or an Error (returned, not
// thrown: a Go callback cannot throw) when the config is bad.
func jsNewHub(this js.Value, args []js.Value) any {
	config := "{}"
	if len(args) > 0 && args[0].Type() == js.TypeString {
		config = args[0].String()
	}
	s, err := NewSession([]byte(config))
	if err != nil {
		return js.Global().Get("Error").New(err.Error())
	}
	id := nextHub
	nextHub++
	hubs[id] = s
	return id
}

// jsStep is switchboard.step(id, eventJSON): the step's result as JSON text,
// {"actions":[…]} and, when the event or the step failed, "error".
func jsStep(this js.Value, args []js.Value) any {
	if len(args) < 2 || args[0].Type() != js.TypeNumber || args[1].Type() != js.TypeString {
		return `{"actions":[],"error":"step(id, eventJSON) wants a number and a string"}`
	}
	s, ok := hubs[args[0].Int()]
	if !ok {
		return `{"actions":[],"error":"no hub with that id (closed, or never created)"}`
	}
	return string(s.Step([]byte(args[1].String())))
}

// jsCloseHub is switchboard.closeHub(id): forgets the hub.
func jsCloseHub(this js.Value, args []js.Value) any {
	if len(args) > 0 && args[0].Type() == js.TypeNumber {
		delete(hubs, args[0].Int())
	}
	return nil
}
