package transporttest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
)

// StartSSE serves a new node through an SSE transport (PROTOCOL.md §12) on
// 127.0.0.1:0, at /sse, /sse/{user} and /sse/send. Cleanup shuts everything down.
func StartSSE(t *testing.T, newTransport Factory, opts node.Options) *Server {
	t.Helper()
	return startAt(t, newTransport, opts, "/sse", "/sse/{user}", "/sse/send")
}

// SessionHeader names the stream of a POST /sse/send (PROTOCOL.md §12).
const SessionHeader = "X-Switchboard-Session"

// Event is one server-sent event, or a comment, as a client reads it.
type Event struct {
	ID      int    // the id field; 0: none
	Data    string // the data field
	Comment string // a `:` line's text
}

// JSON decodes the event's data as a JSON object.
func (e Event) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.Data), &m); err != nil {
		t.Fatalf("event data is not a JSON object: %q", e.Data)
	}
	return m
}

// Stream is one GET /sse as a client sees it.
type Stream struct {
	t        *testing.T
	s        *Server
	Response *http.Response
	r        *bufio.Reader
	Session  string // from its connected event (Open)
	cancel   context.CancelFunc
}

// OpenSSE opens a stream on path, checks its 200 answer and reads its connected event.
func (s *Server) OpenSSE(path string, headers ...string) (*Stream, map[string]any) {
	s.t.Helper()
	st := s.DialSSE(path, headers...)
	if st.Response.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %s", path, st.Response.Status)
	}
	m := st.Next().JSON(s.t)
	if m["type"] != "connected" {
		s.t.Fatalf("first event %v, want connected", m)
	}
	st.Session, _ = m["session"].(string)
	return st, m
}

// DialSSE sends GET path with headers (name, value pairs) and returns the stream,
// whatever its status.
func (s *Server) DialSSE(path string, headers ...string) *Stream {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Addr+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		s.t.Fatalf("GET %s: %v", path, err)
	}
	st := &Stream{t: s.t, s: s, Response: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	s.t.Cleanup(st.Close)
	return st
}

// Close ends the stream from the client's side.
func (st *Stream) Close() {
	st.cancel()
	st.Response.Body.Close()
}

// Next reads the next event or comment; the stream's end fails the test.
func (st *Stream) Next() Event {
	st.t.Helper()
	e, err := st.read()
	if err != nil {
		st.t.Fatalf("stream: %v", err)
	}
	return e
}

func (st *Stream) read() (Event, error) {
	timer := time.AfterFunc(timeout, st.cancel)
	defer timer.Stop()
	var e Event
	for {
		line, err := st.r.ReadString('\n')
		if err != nil {
			return e, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if e != (Event{}) {
				return e, nil
			}
		case strings.HasPrefix(line, ":"):
			e.Comment = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "id: "):
			e.ID, _ = strconv.Atoi(line[4:])
		case strings.HasPrefix(line, "data: "):
			if e.Data != "" {
				st.t.Errorf("an event with two data lines: %q, %q", e.Data, line)
			}
			e.Data = line[6:]
		default:
			st.t.Errorf("unexpected line %q", line)
		}
	}
}

// ReadType reads events until one of type typ, skipping comments and the types in skip
// and failing on anything else.
func (st *Stream) ReadType(typ string, skip ...string) map[string]any {
	st.t.Helper()
	for {
		e := st.Next()
		if e.Data == "" {
			continue
		}
		m := e.JSON(st.t)
		if m["type"] == typ {
			return m
		}
		if !contains(skip, m["type"]) {
			st.t.Fatalf("got %v while waiting for %s", m, typ)
		}
	}
}

// ExpectClosed reads the stream's last event, {"type":"closed","code":code,
// "reason":reason}, skipping what comes before it, then its end.
func (st *Stream) ExpectClosed(code int, reason string) {
	st.t.Helper()
	for {
		e := st.Next()
		if e.Data == "" {
			continue
		}
		if m := e.JSON(st.t); m["type"] == "closed" {
			if m["code"] != float64(code) || m["reason"] != reason {
				st.t.Fatalf("closed %v, want %d %q", m, code, reason)
			}
			break
		}
	}
	for {
		e, err := st.read()
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return
		}
		if err != nil {
			st.t.Fatalf("stream: %v, want its end", err)
		}
		if e.Data != "" {
			st.t.Fatalf("event %s after the closed event", e.Data)
		}
	}
}

// Send posts msgs (one per line) for the stream's session and checks the 202.
func (st *Stream) Send(msgs ...string) {
	st.t.Helper()
	if status, body := st.s.PostSSE(st.Session, "application/json", strings.Join(msgs, "\n")); status != http.StatusAccepted {
		st.t.Fatalf("POST /sse/send: %d %v", status, body)
	}
}

// PostSSE sends body to /sse/send for session with Content-Type ct (both omitted when
// empty) and returns the status and the decoded JSON answer.
func (s *Server) PostSSE(session, ct, body string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr+"/sse/send", strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if session != "" {
		req.Header.Set(SessionHeader, session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("POST /sse/send: %v", err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}
