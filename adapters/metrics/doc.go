// Package metrics owns Switchboard's Prometheus registry: the standard Go and process
// collectors plus the switchboard_* series of PROTOCOL.md §6, fed by the node through the
// node.Metrics interface, and the /metrics handler that exposes them.
//
// It must never block or allocate per message on the node's hot path (counters are atomic
// and close-code series for the protocol's codes exist up front), and never reach into
// server state: it only counts what it is told.
//
//	m := metrics.New()
//	n := node.New(node.Options{Metrics: m, …})
//	mux.Handle("GET /metrics", m.Handler())
package metrics
