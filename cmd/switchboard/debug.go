package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// debugServer is --debug-addr: net/http/pprof on a listener of its own, never on the
// public one (profiles and a forced GC are for the operator, not for clients), and off
// unless asked. GET /debug/pprof/heap?gc=1 collects garbage before it answers, which is
// how a benchmark reads memory after a GC.
type debugServer struct {
	srv    *http.Server
	served chan error
}

// startDebug listens on addr and serves the pprof handlers; nil when addr is empty.
func startDebug(addr string, logger *slog.Logger) (*debugServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also the named profiles: heap, goroutine, allocs…
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	d := &debugServer{
		srv:    &http.Server{Handler: mux, ReadHeaderTimeout: handshakeTimeout, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)},
		served: make(chan error, 1),
	}
	go func() { d.served <- d.srv.Serve(ln) }()
	logger.Info("switchboard debug endpoint (pprof) serving", "debug_addr", ln.Addr().String())
	return d, nil
}

// close stops the debug listener; a profile still being taken gets a moment to finish.
func (d *debugServer) close() {
	if d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if d.srv.Shutdown(ctx) != nil {
		d.srv.Close()
	}
	<-d.served
}
