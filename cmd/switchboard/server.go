package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/switchboard-ws/switchboard/adapters/admin"
	"github.com/switchboard-ws/switchboard/adapters/auth"
	"github.com/switchboard-ws/switchboard/adapters/epoll"
	"github.com/switchboard-ws/switchboard/adapters/metrics"
	natsbroker "github.com/switchboard-ws/switchboard/adapters/nats"
	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/proxy"
	"github.com/switchboard-ws/switchboard/adapters/sse"
	"github.com/switchboard-ws/switchboard/adapters/store"
	"github.com/switchboard-ws/switchboard/adapters/webhook"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/web"
)

// Timeouts of the HTTP side that are not flags.
const (
	handshakeTimeout = 10 * time.Second
	shutdownTimeout  = 10 * time.Second
)

// run is the whole program: it parses args and env, serves until SIGINT or SIGTERM and
// returns the exit code (0 after a clean shutdown, 1 when serving failed, 2 for bad
// flags).
func run(args []string, env func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, env, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "switchboard: "+err.Error())
		return 2
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if err := serve(sigs, cfg, logger, stdout); err != nil {
		var fe *flagError
		if errors.As(err, &fe) {
			fmt.Fprintln(stderr, "switchboard: "+err.Error())
			return 2
		}
		logger.Error("switchboard stopped", "err", err)
		return 1
	}
	return 0
}

// flagError is a setting found unusable only while wiring (exit code 2).
type flagError struct{ msg string }

func (e *flagError) Error() string { return e.msg }

// server is the wired program: the node, its transport and the HTTP routes.
type server struct {
	node      *node.Node
	handler   http.Handler
	closeWS   func() // releases the transport (the epoll poller); nil for goroutine
	stopping  atomic.Bool
	logger    *slog.Logger
	transport string
	link      *natsbroker.Link // nil: a single node
	store     *store.Store     // nil: streams in memory only (no --data-dir)

	drainRate int
	drainOnce sync.Once
	draining  chan struct{} // closed when a drain began (SIGTERM or POST /api/drain)
	authn     *auth.Authenticator
	webhooks  *webhook.Sender // nil without --webhook-url
}

// newServer builds the node and every route from cfg.
func newServer(cfg config, logger *slog.Logger) (*server, error) {
	// --data-dir: the streams of the last run come back before anyone connects
	// (PROTOCOL.md §10.2). Opened first, so that a directory in use stops the program
	// before anything else was started.
	var st *store.Store
	var restore []core.StreamState
	var nodeStore node.Store
	if cfg.DataDir != "" {
		if cfg.NATS != "" {
			return nil, &flagError{"--data-dir: not with --nats (a cluster keeps its streams in JetStream)"}
		}
		var err error
		if st, err = store.Open(cfg.DataDir); err != nil {
			return nil, &flagError{"--data-dir: " + err.Error()}
		}
		if restore, err = st.Load(); err != nil {
			st.Close()
			return nil, &flagError{"--data-dir: " + err.Error()}
		}
		nodeStore = st // a nil *store.Store must not become a non-nil node.Store
	}
	closeStore := func() {
		if st != nil {
			st.Close()
		}
	}
	var publicKey []byte
	if cfg.JWTPublicKey != "" {
		var err error
		if publicKey, err = os.ReadFile(cfg.JWTPublicKey); err != nil {
			closeStore()
			return nil, &flagError{"--jwt-public-key: " + err.Error()}
		}
	}
	authMode := auth.Mode(cfg.Auth)
	if cfg.Auth == authProxy {
		authMode = auth.ModeNone // the connect hook identifies; auth keeps the Origin rule
	}
	authn, err := auth.New(auth.Config{
		Mode:           authMode,
		Secret:         []byte(cfg.JWTSecret),
		PublicKeyPEM:   publicKey,
		JWKSURL:        cfg.JWKSURL,
		JWKSRefresh:    cfg.JWKSRefresh,
		AllowedOrigins: auth.SplitOrigins(cfg.AllowedOrigins),
	})
	if err != nil {
		closeStore()
		return nil, &flagError{"--auth: " + err.Error()}
	}
	m := metrics.New()
	// --nats: this node joins a cluster (PROTOCOL.md §7). NATS being down is no error:
	// the link retries, /healthz and switchboard_cluster_degraded say so meanwhile.
	var cluster node.Cluster
	var link *natsbroker.Link
	if cfg.NATS != "" {
		if u, err := url.Parse(cfg.NATS); err != nil || u.Host == "" {
			authn.Close()
			return nil, &flagError{"--nats: want a URL like nats://127.0.0.1:4222, got " + strconv.Quote(cfg.NATS)}
		}
		link, err = natsbroker.Dial(natsbroker.Options{URL: cfg.NATS, NodeID: cfg.NodeID, History: cfg.History,
			HistoryTTL: cfg.HistoryTTL, DedupeWindow: cfg.DedupeWindow, Logger: logger})
		if err != nil {
			authn.Close()
			return nil, &flagError{"--nats: " + err.Error()}
		}
		cluster = link
		m.Registry().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchboard_cluster_degraded",
			Help: "1 while this node's link to the cluster (NATS) is down, else 0.",
		}, func() float64 {
			if link.Degraded() {
				return 1
			}
			return 0
		}))
	}
	hooks, webhooks, onEvent := backendHooks(cfg, m)
	n := node.New(node.Options{
		Core: core.Config{
			NodeID:               cfg.NodeID,
			MaxConns:             cfg.MaxConns,
			MaxPerUser:           cfg.MaxPerUser,
			MaxRoomsPerConn:      cfg.MaxRoomsPerConn,
			MaxMessageBytes:      cfg.MaxMessageBytes,
			Rate:                 cfg.Rate,
			Burst:                cfg.Burst,
			AllowClientBroadcast: cfg.AllowClientBroadcast,
			History:              cfg.History,
			HistoryTTL:           cfg.HistoryTTL,
			HistoryMemory:        cfg.HistoryMemory,
			DedupeWindow:         cfg.DedupeWindow,
			MaxListed:            core.DefaultMaxListed,
			Namespaces:           cfg.Access.namespaces(),
			OfflineGrace:         cfg.OfflineGrace,
		},
		SendQueueBytes:   cfg.SendQueueBytes,
		MaxMessageBytes:  cfg.MaxMessageBytes,
		PingInterval:     cfg.PingInterval,
		IdleTimeout:      cfg.IdleTimeout,
		HandshakeTimeout: handshakeTimeout,
		MessageTimeout:   cfg.MessageTimeout,
		AllowedOrigins:   auth.SplitOrigins(cfg.AllowedOrigins),
		MaxConnsPerIP:    cfg.MaxConnsPerIP,
		AcceptRate:       cfg.AcceptRate,
		Identify:         authn.Identify,
		Tokens:           authn,
		AuthTimeout:      cfg.AuthTimeout,
		Metrics:          m,
		Logger:           logger,
		Cluster:          cluster,
		Store:            nodeStore,
		Restore:          restore,
		Hooks:            hooks,
		HookConcurrency:  cfg.ProxyConcurrency,
		HookTimeout:      cfg.ProxyTimeout,
		Events:           onEvent,
	})
	s := &server{node: n, logger: logger, transport: cfg.Transport, link: link, store: st, authn: authn, webhooks: webhooks, drainRate: cfg.DrainRate, draining: make(chan struct{})}

	var ws http.Handler
	switch cfg.Transport {
	case "epoll":
		t, err := epoll.New(n)
		if err != nil {
			s.shutdownNode()
			return nil, fmt.Errorf("--transport epoll: %w", err)
		}
		ws, s.closeWS = t, func() { t.Close() }
	default:
		ws = nethttp.New(n)
	}

	// The Server-Sent Events fallback (PROTOCOL.md §12); in a cluster, POSTs for another
	// node's streams go to it over NATS.
	events := sse.New(n, sse.Options{})
	if link != nil {
		fwd, err := link.ForwardSSE(events.Deliver)
		if err != nil {
			s.shutdownNode()
			return nil, fmt.Errorf("--nats: %w", err)
		}
		events.SetForwarder(fwd)
	}

	mux := http.NewServeMux()
	mux.Handle("/ws", ws)
	mux.Handle("/ws/{user}", ws)
	mux.Handle("/sse", events)
	mux.Handle("/sse/{user}", events)
	mux.Handle("/sse/send", events)
	mux.Handle("/api/", admin.New(n, admin.Options{Token: cfg.AdminToken, Logger: logger,
		AllowedOrigins: auth.SplitOrigins(cfg.AllowedOrigins), ListenAddr: cfg.Addr, Drain: s.drain}))
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("/", web.NewHandler(web.Options{AllowOrigin: authn.OriginAllowed}))
	s.handler = mux
	return s, nil
}

// drain begins the drain of PROTOCOL.md §11 (once; later calls only count): /healthz
// answers 503 draining from now on, and the node refuses handshakes and closes its
// connections at --drain-rate. It returns the connections open.
func (s *server) drain() int {
	s.stopping.Store(true)
	n := s.node.Drain(s.drainRate)
	s.drainOnce.Do(func() {
		s.logger.Info("switchboard draining", "connections", n, "per_second", s.drainRate)
		close(s.draining)
	})
	return n
}

// healthz answers 200 ok while the node serves, 503 draining once a drain or shutdown
// began (so a load balancer stops sending new clients).
func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.stopping.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "draining")
		return
	}
	// The body is exactly "ok" (PROTOCOL.md §6); a node cut off from its cluster still
	// serves its own connections, so it stays 200 and says so in a header.
	if s.link != nil && s.link.Degraded() {
		w.Header().Set("X-Switchboard-Cluster", "degraded")
	}
	io.WriteString(w, "ok")
}

// serve listens on cfg.Addr, prints the address, and serves until a signal: SIGTERM
// (or POST /api/drain) drains — connections closed at --drain-rate while /healthz says
// draining — and SIGINT (or a second signal during a drain) closes every WebSocket 1001
// at once; then it stops accepting and drains HTTP.
func serve(sigs <-chan os.Signal, cfg config, logger *slog.Logger, stdout io.Writer) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", cfg.Addr, err)
	}
	cfg.Addr = ln.Addr().String() // the port :0 picked, for the admin API's Host rule
	debug, err := startDebug(cfg.DebugAddr, logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer debug.close()
	s, err := newServer(cfg, logger)
	if err != nil {
		ln.Close()
		return err
	}
	httpSrv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: handshakeTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	node.ConfigureServer(httpSrv)
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()

	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	logger.Info("switchboard serving", "addr", ln.Addr().String(), "transport", cfg.Transport,
		"node_id", cfg.NodeID, "auth", cfg.Auth, "max_conns", cfg.MaxConns)
	if why := web.PlaygroundMissing(); why != "" { // a plain go build: see web/playground.go
		logger.Warn("playground off", "why", why)
	}

	select {
	case sig := <-sigs:
		if sig == syscall.SIGTERM {
			s.drain()
		}
	case <-s.draining:
	case err := <-served: // the listener failed on its own
		s.shutdownNode()
		return fmt.Errorf("serving: %w", err)
	}
	if s.stopping.Load() { // draining: until the last connection is gone, or a signal
		select {
		case <-s.node.Drained():
		case <-sigs:
			logger.Info("switchboard: signal during the drain; closing the rest at once")
		}
	}

	logger.Info("switchboard shutting down")
	s.stopping.Store(true)
	// Stop accepting first, so nobody connects after the node said goodbye.
	ln.Close()
	s.shutdownNode()
	shCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shCtx); err != nil {
		logger.Warn("http drain incomplete", "err", err)
		httpSrv.Close()
	}
	<-served
	logger.Info("switchboard stopped")
	return nil
}

// shutdownNode closes every connection 1001 "Server shutting down" and releases the
// transport, the cluster link and the store.
func (s *server) shutdownNode() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.node.Shutdown(ctx); err != nil {
		s.logger.Warn("node shutdown incomplete", "err", err)
	}
	if s.closeWS != nil {
		s.closeWS()
	}
	if s.link != nil {
		s.link.Close() // after the node announced its connections closed: then bye
	}
	if s.store != nil {
		// After the node stopped: its owner goroutine, the store's only writer, is done.
		if err := s.store.Close(); err != nil {
			s.logger.Warn("data dir close failed", "err", err)
		}
	}
	s.authn.Close()
	if s.webhooks != nil { // after the node: its last events are queued
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := s.webhooks.Close(ctx); err != nil {
			s.logger.Warn("webhook events still queued at exit were not delivered", "err", err)
		}
	}
}

// backendHooks builds PROTOCOL.md §9 from the flags: the proxy hooks with --proxy-url
// (connect only with --auth proxy) and the webhook sender with --webhook-url, whose Add
// is the node's event stream.
func backendHooks(cfg config, m *metrics.Metrics) (*node.Hooks, *webhook.Sender, func(core.AppEvent)) {
	var hooks *node.Hooks
	if cfg.ProxyURL != "" {
		hooks = proxy.New(proxy.Options{URL: cfg.ProxyURL, Concurrency: cfg.ProxyConcurrency, Connect: cfg.Auth == authProxy})
	}
	if cfg.WebhookURL == "" {
		return hooks, nil, nil
	}
	w := webhook.New(webhook.Options{
		URL: cfg.WebhookURL, Secret: cfg.WebhookSecret, Node: cfg.NodeID,
		Retry: cfg.WebhookRetry, Queue: cfg.WebhookQueue, Metrics: m,
	})
	return hooks, w, w.Add
}
