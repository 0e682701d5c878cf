// Package web owns Switchboard's browser side, embedded into the binary: the chat page
// at /, the JavaScript client module at /switchboard.js (clients/js's file, with CORS
// for the origins the server allows), the live
// dashboard at /dashboard, their assets under /assets/, and the wasm playground's files
// under /playground/ when they were built into static/playground (else a page saying the
// playground is off and why: playground.go).
//
// It must never hold server state or talk to the node: the pages speak the public
// protocol over /ws and read /api/stats and /metrics like any other client.
//
//	mux.Handle("/", web.Handler())
package web
