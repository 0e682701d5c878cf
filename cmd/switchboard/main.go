// Command switchboard serves Switchboard: the WebSocket endpoint at /ws, the chat page at
// /, the dashboard, the admin API at /api/…, /metrics and /healthz (PROTOCOL.md §1).
//
// It owns flag and environment parsing, wiring the node to a transport and the HTTP
// routes, and the shutdown on SIGINT/SIGTERM. It must never hold protocol logic: that
// lives in core, node and the adapters it mounts.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
