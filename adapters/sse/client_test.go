package sse

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
)

// timeout only keeps a broken test from hanging; no assertion depends on it.
const timeout = 15 * time.Second

// server is a node and its SSE endpoints behind a real listener.
type server struct {
	t    *testing.T
	node *node.Node
	h    *Handler
	url  string // http://host:port
}

func start(t *testing.T, opts node.Options, sopts Options) *server {
	t.Helper()
	n := node.New(opts)
	h := New(n, sopts)
	mux := http.NewServeMux()
	mux.Handle("/sse", h)
	mux.Handle("/sse/{user}", h)
	mux.Handle("/sse/send", h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("node shutdown: %v", err)
		}
		srv.Close()
	})
	return &server{t: t, node: n, h: h, url: "http://" + ln.Addr().String()}
}

// event is one server-sent event (or comment) as a client reads it.
type event struct {
	id      int    // 0: none
	data    string // the data line
	comment string // a `:` line
}

func (e event) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.data), &m); err != nil {
		t.Fatalf("event data is not JSON: %q", e.data)
	}
	return m
}

// client is one open GET /sse.
type client struct {
	t       *testing.T
	resp    *http.Response
	r       *bufio.Reader
	session string
	cancel  context.CancelFunc
}

// open opens a stream with the request's extra headers (name, value pairs) and reads its
// connected event.
func (s *server) open(path string, headers ...string) (*client, map[string]any) {
	s.t.Helper()
	c := s.dial(path, headers...)
	if c.resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %d", path, c.resp.StatusCode)
	}
	m := c.next().json(s.t)
	if m["type"] != "connected" {
		s.t.Fatalf("first event %v, want connected", m)
	}
	c.session, _ = m["session"].(string)
	return c, m
}

// dial sends GET path and returns the response, whatever its status.
func (s *server) dial(path string, headers ...string) *client {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		s.t.Fatalf("GET %s: %v", path, err)
	}
	c := &client{t: s.t, resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	s.t.Cleanup(c.close)
	return c
}

func (c *client) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next reads the next event or comment; it fails the test at the stream's end.
func (c *client) next() event {
	c.t.Helper()
	e, err := c.read()
	if err != nil {
		c.t.Fatalf("stream: %v", err)
	}
	return e
}

func (c *client) read() (event, error) {
	done := make(chan struct{})
	timer := time.AfterFunc(timeout, func() { c.cancel() })
	defer timer.Stop()
	defer close(done)
	var e event
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return e, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if e != (event{}) {
				return e, nil
			}
		case strings.HasPrefix(line, ":"):
			e.comment = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "id: "):
			e.id, _ = strconv.Atoi(line[4:])
		case strings.HasPrefix(line, "data: "):
			if e.data != "" {
				c.t.Errorf("an event with two data lines: %q, %q", e.data, line)
			}
			e.data = line[6:]
		default:
			c.t.Errorf("unexpected line %q", line)
		}
	}
}

// nextType reads events until one of type typ, skipping comments and the types in skip.
func (c *client) nextType(typ string, skip ...string) map[string]any {
	c.t.Helper()
	for {
		e := c.next()
		if e.data == "" {
			continue
		}
		m := e.json(c.t)
		if m["type"] == typ {
			return m
		}
		found := false
		for _, s := range skip {
			found = found || m["type"] == s
		}
		if !found {
			c.t.Fatalf("got %v while waiting for %s", m, typ)
		}
	}
}

// expectEnd reads until the stream ends, failing on any event but comments.
func (c *client) expectEnd() {
	c.t.Helper()
	for {
		e, err := c.read()
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return
		}
		if err != nil {
			c.t.Fatalf("stream: %v, want its end", err)
		}
		if e.data != "" {
			c.t.Fatalf("event %s after the closed event", e.data)
		}
	}
}

// post sends body to /sse/send for session with Content-Type ct, and returns the status
// and the decoded answer.
func (s *server) post(session, ct, body string) (int, map[string]any) {
	s.t.Helper()
	return postTo(s.t, s.url, session, ct, body)
}

func postTo(t *testing.T, url, session, ct, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/sse/send", strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if session != "" {
		req.Header.Set(SessionHeader, session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}
