package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/admin"
	"github.com/switchboard-ws/switchboard/adapters/auth"
	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/store"
	"github.com/switchboard-ws/switchboard/core"
)

// wait only keeps a broken test from hanging; no assertion depends on it.
const wait = 15 * time.Second

// server is a real Switchboard node (core, node, net/http transport, admin API) on a
// loopback port, as cmd/switchboard wires it; restart brings a new node up on the same
// address, as an operator restarting the binary would.
type server struct {
	t       *testing.T
	opts    func() node.Options
	dataDir string       // --data-dir: streams kept across restarts; "" in memory
	store   *store.Store // open while the node runs, with a data dir
	addr    string
	node    *node.Node
	http    *http.Server
	serve   chan struct{}
}

// defaultOptions are the binary's defaults (core.DefaultConfig), with rates no test
// reaches.
func defaultOptions() node.Options {
	cfg := core.DefaultConfig()
	cfg.Rate, cfg.Burst = 1000, 1000
	return node.Options{Core: cfg}
}

func startServer(t *testing.T, opts func() node.Options) *server {
	t.Helper()
	if opts == nil {
		opts = defaultOptions
	}
	s := &server{t: t, opts: opts}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.up(ln)
	t.Cleanup(s.down)
	return s
}

// startDurableServer is startServer with --data-dir dir.
func startDurableServer(t *testing.T, dir string) *server {
	t.Helper()
	s := &server{t: t, opts: defaultOptions, dataDir: dir}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.up(ln)
	t.Cleanup(s.down)
	return s
}

func (s *server) up(ln net.Listener) {
	opts := s.opts()
	if s.dataDir != "" { // as cmd/switchboard wires --data-dir
		var err error
		if s.store, err = store.Open(s.dataDir); err != nil {
			s.t.Fatal(err)
		}
		if opts.Restore, err = s.store.Load(); err != nil {
			s.t.Fatal(err)
		}
		opts.Store = s.store
	}
	s.node = node.New(opts)
	mux := http.NewServeMux()
	ws := nethttp.New(s.node)
	mux.Handle("/ws", ws)
	mux.Handle("/ws/{user}", ws)
	mux.Handle("/api/", admin.New(s.node, admin.Options{}))
	s.http = &http.Server{Handler: mux}
	s.serve = make(chan struct{})
	go func() {
		defer close(s.serve)
		s.http.Serve(ln)
	}()
}

// down closes every connection 1001 "Server shutting down" and stops listening.
func (s *server) down() {
	if s.node == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.node.Shutdown(ctx); err != nil {
		s.t.Errorf("node shutdown: %v", err)
	}
	s.http.Close()
	<-s.serve
	s.node = nil
	if s.store != nil {
		s.store.Close()
		s.store = nil
	}
}

// restart is down, then a new node on the same address (a fresh, empty hub: a new epoch).
func (s *server) restart() {
	s.down()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.up(ln)
}

func (s *server) url(query string) string { return "ws://" + s.addr + "/ws" + query }

// api calls the admin API and returns its status and body.
func (s *server) api(method, path, body string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json") // every admin POST (PROTOCOL.md §11)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	http.DefaultClient.CloseIdleConnections()
	return resp.StatusCode, string(b)
}

// jwtOptions is defaultOptions with --auth jwt and secret, identified as cmd/switchboard
// does.
func jwtOptions(t *testing.T, secret string) func() node.Options {
	a, err := auth.New(auth.Config{Mode: auth.ModeJWT, Secret: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return func() node.Options { return withAuth(defaultOptions(), a) }
}

// withAuth identifies handshakes with a and lets it verify auth messages and refreshes.
func withAuth(o node.Options, a *auth.Authenticator) node.Options {
	o.Identify, o.Tokens = a.Identify, a
	return o
}

// proxy forwards TCP to a server and can cut every connection through it (the network
// dropping: the client sees 1006) or stop taking new ones (a network that stays down).
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
	mute   bool // forward client → server only: the server's answers are lost
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) url(query string) string { return "ws://" + p.ln.Addr().String() + "/ws" + query }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(s, c, false)
		go p.pipe(c, s, true)
	}
}

func (p *proxy) pipe(dst, src net.Conn, toClient bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			muted := p.mute && toClient
			p.mu.Unlock()
			if !muted {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				dst.Close()
			}
			return
		}
	}
}

// cut closes every connection through the proxy; setDown(true) refuses new ones too.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

func (p *proxy) setMute(mute bool) {
	p.mu.Lock()
	p.mute = mute
	p.mu.Unlock()
}
