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
