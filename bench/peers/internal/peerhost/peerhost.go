// Package peerhost is the plumbing every peer server shares: the --addr flag, the
// "listening on http://HOST:PORT" line the bench driver waits for, and the /metrics
// endpoint (goroutines, heap and stack in use, a GC on ?gc=1) and /debug/pprof the load
// generator reads. It never handles WebSocket traffic.
package peerhost

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
)

// Addr is the --addr flag; call flag.Parse (or Listen) before reading it.
var Addr = flag.String("addr", "127.0.0.1:8080", "listen address (:0 picks a free port)")

// Listen parses flags, listens on --addr and prints the address line.
func Listen() net.Listener {
	if !flag.Parsed() {
		flag.Parse()
	}
	ln, err := net.Listen("tcp", *Addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	Announce(ln.Addr())
	return ln
}

// Announce prints the line the driver waits for.
func Announce(a net.Addr) { fmt.Printf("listening on http://%s\n", a) }

// Mount adds /metrics and /debug/pprof to mux.
func Mount(mux *http.ServeMux) {
	mux.HandleFunc("/metrics", Metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
}

// Metrics writes the few Prometheus Go-collector gauges the load generator reads.
func Metrics(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("gc") == "1" {
		runtime.GC()
		w.Header().Set("X-GC", "done")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "go_goroutines %d\ngo_memstats_heap_inuse_bytes %d\ngo_memstats_stack_inuse_bytes %d\n",
		runtime.NumGoroutine(), ms.HeapInuse, ms.StackInuse)
}
