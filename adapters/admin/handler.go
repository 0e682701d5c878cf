package admin

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/origin"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Admin answers operator requests; *node.Node implements it.
type Admin interface {
	Admin(ctx context.Context, req core.AdminRequest) (core.AdminReply, error)
}

// Options configure the handler.
type Options struct {
	// Token, when set, is required as `Authorization: Bearer Token`. When empty, only
	// loopback clients (127.0.0.0/8, ::1) are answered.
	Token string
	// MaxBodyBytes caps a request body; 0 means 1 MiB.
	MaxBodyBytes int64
	// Timeout bounds how long one request waits for the Admin; 0 means 10 s.
	Timeout time.Duration
	Logger  *slog.Logger
	// AllowedOrigins are the Origin patterns (adapters/origin) a browser page may call
	// the API from besides the API's own host; any other Origin gets 403.
	AllowedOrigins []string
	// ListenAddr is the server's listen address (host:port): with no Token, a request
	// must name it, localhost or a loopback address in its Host (DNS rebinding).
	ListenAddr string
	// Drain, when set, serves POST /api/drain: it begins the drain and returns the
	// connections open (PROTOCOL.md §8.3, §11).
	Drain func() int
}

// Handler serves /api/… over an Admin.
type Handler struct {
	admin   Admin
	opts    Options
	log     *slog.Logger
	origins *origin.Policy
}

// New returns the handler for the routes of PROTOCOL.md §6. Mount it at "/api/".
func New(a Admin, opts Options) *Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{admin: a, opts: opts, log: log, origins: origin.New(opts.AllowedOrigins)}
}

// route is one resolved request: the operation, its path parameters and the method it
// needs.
type route struct {
	op     core.AdminOp
	method string
	room   string
	user   string
	drain  bool // POST /api/drain: Options.Drain, not the Admin
}

// ServeHTTP checks access, resolves the route, decodes the body and answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if status, code, msg := h.allowed(r); status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
		}
		writeError(w, status, code, msg)
		return
	}
	rt, ok := h.resolve(r.URL)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no such admin endpoint: "+r.URL.Path)
		return
	}
	if rt.op == core.AdminJoinRoom && r.Method == http.MethodDelete { // one path, two verbs (§8.3)
		rt.op, rt.method = core.AdminLeaveRoom, http.MethodDelete
	}
	if r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", rt.method)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.URL.Path+" answers "+rt.method+" only")
		return
	}
	if r.Method == http.MethodPost && !jsonContentType(r) {
		// A page on another site can POST text/plain without asking (no CORS preflight);
		// application/json it cannot.
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "a POST must have Content-Type: application/json")
		return
	}
	if rt.drain {
		writeJSON(w, http.StatusAccepted, drainReply{Draining: true, Connections: h.opts.Drain()})
		return
	}
	req := core.AdminRequest{Op: rt.op, Room: rt.room, User: rt.user}
	if rt.room != "" && !proto.ValidRoom([]byte(rt.room)) {
		writeError(w, http.StatusBadRequest, "bad_request", "room must be 1–128 characters of A-Z a-z 0-9 _ . : @ / -")
		return
	}
	if rt.user != "" && !proto.ValidUser([]byte(rt.user)) {
		writeError(w, http.StatusBadRequest, "bad_request", "user must be 1–64 characters of A-Z a-z 0-9 _ . @ -")
		return
	}
	if msg := h.decodeBody(r, &req); msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	if msg := decodeQuery(r.URL.Query(), &req); msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	reply, err := h.admin.Admin(ctx, req)
	if err != nil {
		h.log.Warn("admin request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the server cannot answer right now: "+err.Error())
		return
	}
	if reply.Status != 0 && reply.Status != http.StatusOK {
		code := reply.Error
		if code == "" {
			code = strings.ReplaceAll(strings.ToLower(http.StatusText(reply.Status)), " ", "_")
		}
		writeError(w, reply.Status, code, reply.Message)
		return
	}
	writeJSON(w, http.StatusOK, render(req, reply))
}

// allowed returns a non-zero status when the client may not use the API: a foreign
// Origin; with a Token, a request without it; without one, a client that is not on
// loopback or a Host that is not this server's (a rebound DNS name).
func (h *Handler) allowed(r *http.Request) (status int, code, msg string) {
	if !h.origins.Allows(r) {
		return http.StatusForbidden, "forbidden", "origin " + r.Header.Get("Origin") + " may not use the admin API (see --allowed-origins)"
	}
	if h.opts.Token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// ConstantTimeCompare leaks only the length, never how much of the token matched.
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(h.opts.Token)) != 1 {
			return http.StatusUnauthorized, "unauthorized", "a valid Authorization: Bearer token is required"
		}
		return 0, "", ""
	}
	if !loopback(r.RemoteAddr) {
		return http.StatusForbidden, "forbidden", "the admin API answers loopback clients only (set --admin-token to open it)"
	}
	if !h.localHost(r.Host) {
		return http.StatusForbidden, "forbidden", "Host " + r.Host + " is not this server's (set --admin-token to use other names)"
	}
	return 0, "", ""
}

// localHost reports whether a Host header names this server without a DNS name that
// could have been rebound: localhost, a loopback address or the listen address (any
// port for each; an IP literal cannot be rebound).
func (h *Handler) localHost(host string) bool {
	name := host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		name = hn
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if strings.EqualFold(name, "localhost") || loopback(name) {
		return true
	}
	if h.opts.ListenAddr == "" {
		return false
	}
	listen, _, err := net.SplitHostPort(h.opts.ListenAddr)
	if err != nil {
		listen = h.opts.ListenAddr
	}
	return host == h.opts.ListenAddr || listen != "" && strings.EqualFold(name, strings.Trim(listen, "[]"))
}

// jsonContentType reports whether r's Content-Type is application/json (parameters such
// as charset allowed).
func jsonContentType(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// drainReply is the answer of POST /api/drain.
type drainReply struct {
	Draining    bool `json:"draining"`
	Connections int  `json:"connections"`
}

// loopback reports whether addr ("host:port") is 127.0.0.0/8 or ::1.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}

// resolve maps a path to its route. Room names may contain '/', so the room is whatever
// lies between "/api/rooms/" and the final "/members" or "/publish", unescaped.
func (h *Handler) resolve(u *url.URL) (route, bool) {
	path := u.EscapedPath()
	if path == "/api/drain" && h.opts.Drain != nil {
		return route{method: http.MethodPost, drain: true}, true
	}
	switch path {
	case "/api/stats":
		return route{op: core.AdminStats, method: http.MethodGet}, true
	case "/api/users":
		return route{op: core.AdminUsers, method: http.MethodGet}, true
	case "/api/rooms":
		return route{op: core.AdminRooms, method: http.MethodGet}, true
	case "/api/broadcast":
		return route{op: core.AdminBroadcast, method: http.MethodPost}, true
	case "/api/system":
		return route{op: core.AdminSystem, method: http.MethodPost}, true
	}
	if rest, ok := strings.CutPrefix(path, "/api/rooms/"); ok {
		for suffix, rt := range map[string]route{
			"/members": {op: core.AdminRoomMembers, method: http.MethodGet},
			"/publish": {op: core.AdminPublish, method: http.MethodPost},
			"/history": {op: core.AdminHistory, method: http.MethodGet},
		} {
			if name, ok := strings.CutSuffix(rest, suffix); ok && name != "" {
				room, err := url.PathUnescape(name)
				if err != nil {
					return route{}, false
				}
				rt.room = room
				return rt, true
			}
		}
	}
	if rest, ok := strings.CutPrefix(path, "/api/users/"); ok {
		// /api/users/{user}/rooms/{room}: the room (which may hold '/') is the rest.
		if name, room, ok := strings.Cut(rest, "/rooms/"); ok && name != "" && room != "" && !strings.Contains(name, "/") {
			user, err1 := url.PathUnescape(name)
			room, err2 := url.PathUnescape(room)
			if err1 != nil || err2 != nil {
				return route{}, false
			}
			return route{op: core.AdminJoinRoom, method: http.MethodPost, user: user, room: room}, true
		}
		for suffix, rt := range map[string]route{
			"/send":       {op: core.AdminSendUser, method: http.MethodPost},
			"/disconnect": {op: core.AdminDisconnect, method: http.MethodPost},
		} {
			if name, ok := strings.CutSuffix(rest, suffix); ok && name != "" && !strings.Contains(name, "/") {
				user, err := url.PathUnescape(name)
				if err != nil {
					return route{}, false
				}
				rt.user = user
				return rt, true
			}
		}
	}
	return route{}, false
}

// decodeQuery fills the query parameters of GET /api/rooms/{room}/history (PROTOCOL.md
// §8.3): since (default 0) and limit (default and at most core.MaxHistoryLimit).
func decodeQuery(q url.Values, req *core.AdminRequest) string {
	if req.Op != core.AdminHistory {
		return ""
	}
	if s := q.Get("since"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return "since must be a non-negative integer"
		}
		req.Since = v
	}
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return "limit must be a positive integer (at most " + strconv.Itoa(core.MaxHistoryLimit) + ")"
		}
		req.Limit = min(v, core.MaxHistoryLimit)
	}
	return ""
}

// body is every field a POST may carry; pointers tell a missing field from an empty one.
type body struct {
	Content *string `json:"content"`
	Exclude *string `json:"exclude"`
	Room    *string `json:"room"`
}

// decodeBody fills req from the JSON body of the POST routes and returns a message for
// the client when the body is not acceptable.
func (h *Handler) decodeBody(r *http.Request, req *core.AdminRequest) string {
	switch req.Op {
	case core.AdminBroadcast, core.AdminPublish, core.AdminSendUser, core.AdminSystem:
	default:
		return "" // GET routes and disconnect take no body
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, h.opts.MaxBodyBytes+1))
	if err != nil {
		return "cannot read the request body: " + err.Error()
	}
	if int64(len(data)) > h.opts.MaxBodyBytes {
		return "the request body is too large"
	}
	var b body
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&b); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return typeErr.Field + " must be a string"
		}
		return "the body must be a JSON object: " + err.Error()
	}
	if dec.More() {
		return "the body must hold exactly one JSON object"
	}
	if b.Content == nil {
		return "content is required (a string)"
	}
	req.Content = *b.Content
	if b.Exclude != nil && req.Op == core.AdminBroadcast && *b.Exclude != "" {
		if !proto.ValidUser([]byte(*b.Exclude)) {
			return "exclude must be a user id: 1–64 characters of A-Z a-z 0-9 _ . @ -"
		}
		req.Exclude = *b.Exclude
	}
	if b.Room != nil && req.Op == core.AdminSystem && *b.Room != "" {
		if !proto.ValidRoom([]byte(*b.Room)) {
			return "room must be 1–128 characters of A-Z a-z 0-9 _ . : @ / -"
		}
		req.Room = *b.Room
	}
	return ""
}

// render is the JSON answer of a successful request, exactly as PROTOCOL.md §6 shows it:
// core.AdminReply.Body is the one definition of those shapes; render only fills what an
// Admin may leave implicit (the room asked for, a total equal to the list's length).
func render(req core.AdminRequest, rep core.AdminReply) any {
	rep.Op, rep.Status = req.Op, http.StatusOK
	if rep.Room == "" {
		rep.Room = req.Room
	}
	rep.Total = max(rep.Total, len(rep.Users), len(rep.Rooms))
	return rep.Body()
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, errorBody{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
