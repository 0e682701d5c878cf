package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-ws/switchboard/core"
)

// fakeAdmin records the requests it gets and answers with a canned reply per op.
type fakeAdmin struct {
	got     []core.AdminRequest
	replies map[core.AdminOp]core.AdminReply
	err     error
}

func (f *fakeAdmin) Admin(_ context.Context, req core.AdminRequest) (core.AdminReply, error) {
	f.got = append(f.got, req)
	if f.err != nil {
		return core.AdminReply{}, f.err
	}
	rep, ok := f.replies[req.Op]
	if !ok {
		rep = core.AdminReply{Status: 200}
	}
	rep.Op, rep.Ref = req.Op, req.Ref
	return rep, nil
}

func do(t *testing.T, h http.Handler, method, target, body string, mod func(*http.Request)) (int, string, http.Header) {
	t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	r.RemoteAddr = "127.0.0.1:5555"
	r.Host = "127.0.0.1:8080"
	if method == http.MethodPost {
		r.Header.Set("Content-Type", "application/json")
	}
	if mod != nil {
		mod(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String(), w.Header()
}

func TestRoutes(t *testing.T) {
	fake := &fakeAdmin{replies: map[core.AdminOp]core.AdminReply{
		core.AdminStats:       {Status: 200, Stats: core.Stats{TotalConnections: 3, UniqueUsers: 2, MaxConnections: 10000, Rooms: 1, NodeID: "n1"}},
		core.AdminUsers:       {Status: 200, Users: []string{"ann", "bob"}, Total: 2},
		core.AdminRooms:       {Status: 200, Rooms: []core.RoomInfo{{Name: "lobby", Members: 2}}, Total: 1},
		core.AdminRoomMembers: {Status: 200, Room: "a/b", Members: []string{"ann"}},
		core.AdminBroadcast:   {Status: 200, Delivered: 3},
		core.AdminPublish:     {Status: 200, Delivered: 2, Offset: 7},
		core.AdminSendUser:    {Status: 200, Delivered: 1},
		core.AdminDisconnect:  {Status: 200, Closed: 2},
		core.AdminSystem:      {Status: 200, Delivered: 4},
		core.AdminHistory: {Status: 200, Room: "lobby", Epoch: "e1", Offset: 9, Messages: []core.StoredMessage{
			{Sender: "ann", Content: []byte("hi"), Offset: 9, Time: time.Date(2026, 11, 27, 19, 0, 0, 123e6, time.UTC)}}},
		core.AdminJoinRoom:  {Status: 200, Joined: 2},
		core.AdminLeaveRoom: {Status: 200, Left: 1},
	}}
	h := New(fake, Options{})
	tests := []struct {
		method, target, body string
		want                 string
		req                  core.AdminRequest
	}{
		{"GET", "/api/stats", "", `{"total_connections":3,"unique_users":2,"max_connections":10000,"rooms":1,"node_id":"n1"}`, core.AdminRequest{Op: core.AdminStats}},
		{"GET", "/api/users", "", `{"users":["ann","bob"],"total":2}`, core.AdminRequest{Op: core.AdminUsers}},
		{"GET", "/api/rooms", "", `{"rooms":[{"name":"lobby","members":2}],"total":1}`, core.AdminRequest{Op: core.AdminRooms}},
		{"GET", "/api/rooms/a%2Fb/members", "", `{"room":"a/b","members":["ann"]}`, core.AdminRequest{Op: core.AdminRoomMembers, Room: "a/b"}},
		{"GET", "/api/rooms/a/b/members", "", `{"room":"a/b","members":["ann"]}`, core.AdminRequest{Op: core.AdminRoomMembers, Room: "a/b"}},
		{"POST", "/api/broadcast", `{"content":"hi","exclude":"bob"}`, `{"delivered":3}`, core.AdminRequest{Op: core.AdminBroadcast, Content: "hi", Exclude: "bob"}},
		{"POST", "/api/broadcast", `{"content":""}`, `{"delivered":3}`, core.AdminRequest{Op: core.AdminBroadcast}},
		{"POST", "/api/rooms/lobby/publish", `{"content":"news"}`, `{"delivered":2,"offset":7}`, core.AdminRequest{Op: core.AdminPublish, Room: "lobby", Content: "news"}},
		{"POST", "/api/users/ann/send", `{"content":"psst"}`, `{"delivered":1}`, core.AdminRequest{Op: core.AdminSendUser, User: "ann", Content: "psst"}},
		{"POST", "/api/users/ann/disconnect", "", `{"closed":2}`, core.AdminRequest{Op: core.AdminDisconnect, User: "ann"}},
		{"POST", "/api/users/ann/rooms/team:1/dev", "", `{"joined":2}`, core.AdminRequest{Op: core.AdminJoinRoom, User: "ann", Room: "team:1/dev"}},
		{"POST", "/api/users/ann/rooms/team%3A1", "", `{"joined":2}`, core.AdminRequest{Op: core.AdminJoinRoom, User: "ann", Room: "team:1"}},
		{"DELETE", "/api/users/ann/rooms/team:1", "", `{"left":1}`, core.AdminRequest{Op: core.AdminLeaveRoom, User: "ann", Room: "team:1"}},
		{"POST", "/api/system", `{"content":"maintenance at 5"}`, `{"delivered":4}`, core.AdminRequest{Op: core.AdminSystem, Content: "maintenance at 5"}},
		{"GET", "/api/rooms/lobby/history?since=8&limit=500", "", `{"room":"lobby","epoch":"e1","offset":9,"messages":[{"type":"chat","room":"lobby","sender":"ann","content":"hi","offset":9,"timestamp":"2026-11-27T19:00:00.123Z"}]}`, core.AdminRequest{Op: core.AdminHistory, Room: "lobby", Since: 8, Limit: 100}},
		{"POST", "/api/system", `{"content":"x","room":"lobby","unknown":1}`, `{"delivered":4}`, core.AdminRequest{Op: core.AdminSystem, Content: "x", Room: "lobby"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			fake.got = nil
			code, body, hdr := do(t, h, tt.method, tt.target, tt.body, nil)
			if code != 200 {
				t.Fatalf("status %d, body %s", code, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if diff := cmp.Diff(tt.want, strings.TrimSpace(body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]core.AdminRequest{tt.req}, fake.got); diff != "" {
				t.Errorf("request to Admin (-want +got):\n%s", diff)
			}
		})
	}
}

// Empty lists are [] on the wire, never null.
func TestEmptyLists(t *testing.T) {
	h := New(&fakeAdmin{}, Options{})
	for target, want := range map[string]string{
		"/api/users":           `{"users":[],"total":0}`,
		"/api/rooms":           `{"rooms":[],"total":0}`,
		"/api/rooms/x/members": `{"room":"x","members":[]}`,
	} {
		_, body, _ := do(t, h, "GET", target, "", nil)
		if got := strings.TrimSpace(body); got != want {
			t.Errorf("%s: got %s, want %s", target, got, want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		status                     int
		code                       string
	}{
		{"not json", "POST", "/api/broadcast", `{"content":`, 400, "bad_request"},
		{"not an object", "POST", "/api/broadcast", `["hi"]`, 400, "bad_request"},
		{"two objects", "POST", "/api/broadcast", `{"content":"a"}{"content":"b"}`, 400, "bad_request"},
		{"missing content", "POST", "/api/system", `{}`, 400, "bad_request"},
		{"null content", "POST", "/api/system", `{"content":null}`, 400, "bad_request"},
		{"empty body", "POST", "/api/users/ann/send", ``, 400, "bad_request"},
		{"content not a string", "POST", "/api/rooms/r/publish", `{"content":5}`, 400, "bad_request"},
		{"exclude not a string", "POST", "/api/broadcast", `{"content":"a","exclude":true}`, 400, "bad_request"},
		{"bad exclude id", "POST", "/api/broadcast", `{"content":"a","exclude":"no spaces"}`, 400, "bad_request"},
		{"bad system room", "POST", "/api/system", `{"content":"a","room":"bad room"}`, 400, "bad_request"},
		{"bad room name", "GET", "/api/rooms/bad%20room/members", "", 400, "bad_request"},
		{"bad user id", "POST", "/api/users/a%21b/send", `{"content":"a"}`, 400, "bad_request"},
		{"long user id", "POST", "/api/users/" + strings.Repeat("u", 65) + "/disconnect", "", 400, "bad_request"},
		{"unknown route", "GET", "/api/nope", "", 404, "not_found"},
		{"users without action", "GET", "/api/users/ann", "", 404, "not_found"},
		{"GET on POST route", "GET", "/api/broadcast", "", 405, "method_not_allowed"},
		{"POST on GET route", "POST", "/api/stats", "{}", 405, "method_not_allowed"},
		{"DELETE room members", "DELETE", "/api/rooms/r/members", "", 405, "method_not_allowed"},
		{"GET disconnect", "GET", "/api/users/ann/disconnect", "", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeAdmin{}
			code, body, hdr := do(t, New(fake, Options{}), tt.method, tt.target, tt.body, nil)
			if code != tt.status {
				t.Fatalf("status %d, want %d (body %s)", code, tt.status, body)
			}
			var e errorBody
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q is not JSON: %v", body, err)
			}
			if e.Error != tt.code || e.Message == "" {
				t.Errorf("body %+v, want error %q with a message", e, tt.code)
			}
			if tt.status == 405 && hdr.Get("Allow") == "" {
				t.Error("405 without Allow header")
			}
			if len(fake.got) != 0 {
				t.Errorf("rejected request reached Admin: %+v", fake.got)
			}
		})
	}
}

// Replies with a non-200 status (404 for an offline user) pass through as JSON errors.
func TestReplyStatus(t *testing.T) {
	fake := &fakeAdmin{replies: map[core.AdminOp]core.AdminReply{
		core.AdminSendUser: {Status: 404, Error: "not_found", Message: "user ann is offline"},
	}}
	code, body, _ := do(t, New(fake, Options{}), "POST", "/api/users/ann/send", `{"content":"x"}`, nil)
	if code != 404 || strings.TrimSpace(body) != `{"error":"not_found","message":"user ann is offline"}` {
		t.Errorf("got %d %s", code, body)
	}

	fake = &fakeAdmin{err: errors.New("node stopped")}
	code, body, _ = do(t, New(fake, Options{}), "GET", "/api/stats", "", nil)
	if code != 503 || !strings.Contains(body, `"error":"unavailable"`) {
		t.Errorf("Admin error: got %d %s", code, body)
	}
}

func TestAccess(t *testing.T) {
	bearer := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", v) }
	}
	remote := func(addr string) func(*http.Request) {
		return func(r *http.Request) { r.RemoteAddr = addr }
	}
	tests := []struct {
		name   string
		token  string
		mod    func(*http.Request)
		status int
		code   string
	}{
		{"no token, loopback v4", "", remote("127.0.0.1:40000"), 200, ""},
		{"no token, loopback 127/8", "", remote("127.3.2.1:40000"), 200, ""},
		{"no token, loopback v6", "", remote("[::1]:40000"), 200, ""},
		{"no token, v4-mapped loopback", "", remote("[::ffff:127.0.0.1]:40000"), 200, ""},
		{"no token, remote client", "", remote("10.0.0.8:40000"), 403, "forbidden"},
		{"no token, remote v6", "", remote("[2001:db8::1]:40000"), 403, "forbidden"},
		{"no token, garbage addr", "", remote("somewhere"), 403, "forbidden"},
		{"token, right bearer", "s3cret", bearer("Bearer s3cret"), 200, ""},
		{"token, right bearer from remote", "s3cret", func(r *http.Request) { bearer("Bearer s3cret")(r); remote("10.0.0.8:1")(r) }, 200, ""},
		{"token, missing header", "s3cret", nil, 401, "unauthorized"},
		{"token, wrong token", "s3cret", bearer("Bearer s3cres"), 401, "unauthorized"},
		{"token, prefix of token", "s3cret", bearer("Bearer s3c"), 401, "unauthorized"},
		{"token, wrong scheme", "s3cret", bearer("Basic s3cret"), 401, "unauthorized"},
		{"token, loopback without header", "s3cret", remote("127.0.0.1:1"), 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeAdmin{}
			code, body, hdr := do(t, New(fake, Options{Token: tt.token}), "GET", "/api/stats", "", tt.mod)
			if code != tt.status {
				t.Fatalf("status %d, want %d (%s)", code, tt.status, body)
			}
			if tt.status == 200 {
				return
			}
			if !strings.Contains(body, `"error":"`+tt.code+`"`) {
				t.Errorf("body %s, want error %s", body, tt.code)
			}
			if tt.status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if len(fake.got) != 0 {
				t.Error("refused request reached Admin")
			}
		})
	}
}

// TestBrowserRules: the rules that keep other web pages away from the API (PROTOCOL.md
// §11): Origin, Content-Type and, without a token, Host.
func TestBrowserRules(t *testing.T) {
	header := func(kv ...string) func(*http.Request) {
		return func(r *http.Request) {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == "Host" {
					r.Host = kv[i+1]
				} else if kv[i+1] == "" {
					r.Header.Del(kv[i])
				} else {
					r.Header.Set(kv[i], kv[i+1])
				}
			}
		}
	}
	tests := []struct {
		name, token, method, target string
		mod                         func(*http.Request)
		status                      int
	}{
		{"same origin", "", "POST", "/api/system", header("Origin", "http://127.0.0.1:8080"), 200},
		{"foreign origin", "", "POST", "/api/system", header("Origin", "http://evil.example"), 403},
		{"foreign origin GET", "", "GET", "/api/stats", header("Origin", "http://evil.example"), 403},
		{"foreign origin with token", "tok", "POST", "/api/system", header("Origin", "http://evil.example", "Authorization", "Bearer tok"), 403},
		{"allowed origin", "", "POST", "/api/system", header("Origin", "https://ops.example.com"), 200},
		{"null origin", "", "POST", "/api/system", header("Origin", "null"), 403},
		{"text/plain", "", "POST", "/api/system", header("Content-Type", "text/plain"), 415},
		{"form", "", "POST", "/api/system", header("Content-Type", "application/x-www-form-urlencoded"), 415},
		{"no content type", "", "POST", "/api/system", header("Content-Type", ""), 415},
		{"json with charset", "", "POST", "/api/system", header("Content-Type", "application/json; charset=utf-8"), 200},
		{"JSON in capitals", "", "POST", "/api/system", header("Content-Type", "Application/JSON"), 200},
		{"json lookalike", "", "POST", "/api/system", header("Content-Type", "application/jsonp"), 415},
		{"disconnect without body, text/plain", "", "POST", "/api/users/ann/disconnect", header("Content-Type", "text/plain"), 415},
		{"disconnect without body, json", "", "POST", "/api/users/ann/disconnect", nil, 200},
		{"text/plain with token", "tok", "POST", "/api/system", header("Content-Type", "text/plain", "Authorization", "Bearer tok"), 415},
		{"host localhost", "", "GET", "/api/stats", header("Host", "localhost:9999"), 200},
		{"host LOCALHOST no port", "", "GET", "/api/stats", header("Host", "LOCALHOST"), 200},
		{"host loopback other port", "", "GET", "/api/stats", header("Host", "127.0.0.2:1"), 200},
		{"host v6 loopback", "", "GET", "/api/stats", header("Host", "[::1]:8080"), 200},
		{"host the listen address", "", "GET", "/api/stats", header("Host", "10.1.2.3:7000"), 200},
		{"host a rebound name", "", "GET", "/api/stats", header("Host", "attacker.example:8080"), 403},
		{"host localhost lookalike", "", "GET", "/api/stats", header("Host", "localhost.attacker.example"), 403},
		{"host empty", "", "GET", "/api/stats", header("Host", ""), 403},
		{"any host with a token", "tok", "GET", "/api/stats", header("Host", "attacker.example", "Authorization", "Bearer tok"), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeAdmin{}
			h := New(fake, Options{Token: tt.token, AllowedOrigins: []string{"https://*.example.com"}, ListenAddr: "10.1.2.3:7000"})
			body := ""
			if tt.method == "POST" && !strings.HasSuffix(tt.target, "/disconnect") {
				body = `{"content":"x"}`
			}
			code, got, _ := do(t, h, tt.method, tt.target, body, tt.mod)
			if code != tt.status {
				t.Fatalf("status %d, want %d (%s)", code, tt.status, got)
			}
			if code != 200 && len(fake.got) != 0 {
				t.Fatalf("a refused request reached the Admin: %+v", fake.got)
			}
		})
	}
}

func TestDrain(t *testing.T) {
	drains := 0
	h := New(&fakeAdmin{}, Options{Drain: func() int { drains++; return 42 }})
	if code, body, _ := do(t, h, "POST", "/api/drain", "", nil); code != 202 || strings.TrimSpace(body) != `{"draining":true,"connections":42}` || drains != 1 {
		t.Fatalf("drain: %d %s (%d drains)", code, body, drains)
	}
	if code, _, _ := do(t, h, "GET", "/api/drain", "", nil); code != 405 || drains != 1 {
		t.Fatalf("GET drain: %d", code)
	}
	if code, _, _ := do(t, h, "POST", "/api/drain", "", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }); code != 415 || drains != 1 {
		t.Fatalf("text/plain drain: %d", code)
	}
	if code, _, _ := do(t, New(&fakeAdmin{}, Options{}), "POST", "/api/drain", "", nil); code != 404 {
		t.Fatalf("drain without a Drain: %d", code)
	}
}
