package core

import (
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// The transcripts are embedded so that the same test runs where there is no file
// system (js/wasm in a browser).
//
//go:embed testdata/*.txt
var transcripts embed.FS

// TestTranscripts runs every core/testdata/*.txt: the main specification of the hub.
// Each directive is an event; its expected output lists the actions, one per line:
//
//	c1 c2 <- {"type":"chat",…}          a frame, as its recipients decode it
//	close c2 4000 "Replaced by new connection"
//	reply 200 {"delivered":2}          an admin answer, as the HTTP API sends it
//	error: hub: unknown conn           Step refused the event (caller misuse)
//	ask c1 #1 refresh token="t2"       an Ask for the adapter (answer it with `answer`)
//
// Access rules: `namespace NAME join=grant publish=grant history=5 presence=false
// client_events=false` declares a namespace (after `config`, before connecting);
// `connect c1 user=ann rooms=team:*,x publish=… subs=… expires=1h` gives the
// connection token's grants; `answer c1 user=ann rooms=… publish=… expires=1h` (or
// `answer c1 code=unauthorized`) answers c1's last Ask. The backend's asks (hooks.go):
// `config backend=true`; `answer c1 code=forbidden error-code=banned message=… content=…
// result=JSON`. App events (appevents.go): `config app-events=true offline-grace=5s`,
// printed `app user_online user=ann at=0s`.
//
// Regenerate with `go test ./core -run TestTranscripts -rewrite`, then read the diff.
func TestTranscripts(t *testing.T) {
	files, err := fs.Glob(transcripts, "testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		if strings.HasPrefix(file, "testdata/cluster_") {
			continue // several hubs: TestClusterTranscripts
		}
		t.Run(strings.TrimSuffix(strings.TrimPrefix(file, "testdata/"), ".txt"), func(t *testing.T) {
			s := newTranscript(t)
			if rewriting() && runtime.GOOS != "js" {
				datadriven.RunTest(t, file, s.run) // rewrites the file in place
				return
			}
			data, err := transcripts.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			datadriven.RunTestFromString(t, string(data), s.run)
		})
	}
}

func rewriting() bool {
	f := flag.Lookup("rewrite")
	return f != nil && f.Value.String() == "true"
}

// transcript is the state of one transcript file: a hub, its clock, and the names the
// file gives to connections.
type transcript struct {
	hub     *Hub
	out     Outbox
	now     time.Time
	next    ConnID
	ids     map[string]ConnID
	names   map[ConnID]string
	formats map[ConnID]proto.Format
	ref     uint64
	cfg     Config
	asks    map[ConnID]uint64 // each connection's last Ask
}

func newTranscript(t *testing.T) *transcript {
	s := &transcript{}
	s.reset(defaultConfig())
	return s
}

func (s *transcript) reset(cfg Config) {
	s.cfg = cfg
	s.asks = map[ConnID]uint64{}
	s.hub = New(cfg)
	s.out.Reset()
	s.now = start
	s.next = 0
	s.ids = map[string]ConnID{}
	s.names = map[ConnID]string{}
	s.formats = map[ConnID]proto.Format{}
}

// conn returns the id of the connection a transcript calls name (a fresh id for a name
// never connected, so misuse can be written down too).
func (s *transcript) conn(name string) ConnID {
	if id, ok := s.ids[name]; ok {
		return id
	}
	s.next++
	s.ids[name], s.names[s.next] = s.next, name
	return s.next
}

func (s *transcript) run(t *testing.T, td *datadriven.TestData) string {
	var b strings.Builder
	switch td.Cmd {
	case "config":
		s.reset(scanConfig(t, td))
		return "ok"
	case "namespace":
		cfg := s.cfg
		cfg.Namespaces = maps.Clone(cfg.Namespaces)
		if cfg.Namespaces == nil {
			cfg.Namespaces = map[string]Namespace{}
		}
		name := td.CmdArgs[0].Key
		if name == `""` {
			name = ""
		}
		var ns Namespace
		for _, arg := range td.CmdArgs[1:] {
			if err := setNamespace(&ns, arg.Key, arg.SingleVal(t)); err != nil {
				td.Fatalf(t, "%v", err)
			}
		}
		cfg.Namespaces[name] = ns
		s.reset(cfg)
		return "ok"
	case "answer":
		id := s.conn(td.CmdArgs[0].Key)
		a := &Answer{ID: s.asks[id], Conn: id, Identity: scanIdentity(t, td)}
		var code, content, result string
		td.MaybeScanArgs(t, "code", &code)
		if code != "" {
			a.Code = codeNamed(t, code)
		}
		// The backend's answers (hooks.go): error-code= names its own code, message= its
		// text, content= rewrites a publish, result= is an rpc's result (JSON).
		td.MaybeScanArgs(t, "error-code", &a.ErrorCode)
		td.MaybeScanArgs(t, "message", &a.Message)
		if td.MaybeScanArgs(t, "content", &content); td.HasArg("content") {
			a.Rewrite, a.Content = true, []byte(content)
		}
		if td.MaybeScanArgs(t, "result", &result); result != "" {
			a.Result = []byte(result)
		}
		s.step(t, &b, Event{Kind: EventAnswer, Answer: a})
	case "connect":
		name := td.CmdArgs[0].Key
		var user, format string
		td.ScanArgs(t, "user", &user)
		td.MaybeScanArgs(t, "format", &format)
		f := proto.JSON
		if format == "msgpack" {
			f = proto.Msgpack
		}
		if _, known := s.ids[name]; known && s.hub.conns[s.ids[name]] == nil {
			delete(s.ids, name) // a name may be connected again after it closed
		}
		id := s.conn(name)
		s.formats[id] = f
		ident := scanIdentity(t, td)
		ident.User = user
		s.step(t, &b, Event{Kind: EventConnect, Conn: id, Identity: ident, Format: f})
	case "recv":
		id := s.conn(td.CmdArgs[0].Key)
		for _, line := range strings.Split(td.Input, "\n") {
			payload := []byte(line)
			if s.formats[id] == proto.Msgpack && !td.HasArg("raw") {
				var err error
				if payload, err = jsonToMsgpack(line); err != nil {
					td.Fatalf(t, "%s: not JSON, cannot send as MessagePack (use raw): %v", line, err)
				}
			}
			s.step(t, &b, Event{Kind: EventFrame, Conn: id, Payload: payload})
		}
	case "restore":
		// restore ROOM epoch=E offset=K, then one held message per input line:
		// OFFSET SENDER CONTENT, optionally followed by id=ID (the chat's request id)
		st := StreamState{Room: td.CmdArgs[0].Key}
		td.ScanArgs(t, "epoch", &st.Epoch)
		td.ScanArgs(t, "offset", &st.Offset)
		for _, line := range strings.Split(td.Input, "\n") {
			if line == "" {
				continue
			}
			var m StoredMessage
			var content, id string
			if n, err := fmt.Sscanf(line, "%d %s %s id=%s", &m.Offset, &m.Sender, &content, &id); n < 3 {
				td.Fatalf(t, "%s: %v", line, err)
			}
			if id != "" {
				m.ID = []byte(id)
			}
			m.Content, m.Time = []byte(content), s.now
			st.Messages = append(st.Messages, m)
		}
		if err := s.hub.Step(Event{Kind: EventRestore, Now: s.now, Restore: &st}, &s.out); err != nil {
			return "error: " + err.Error()
		}
		s.step(t, &b, Event{Kind: EventTick}) // nothing else happens
	case "disconnect":
		var code int
		td.MaybeScanArgs(t, "code", &code)
		s.step(t, &b, Event{Kind: EventDisconnect, Conn: s.conn(td.CmdArgs[0].Key), Code: uint16(code)})
	case "tick":
		d, err := time.ParseDuration(td.CmdArgs[0].Key)
		if err != nil {
			td.Fatalf(t, "%v", err)
		}
		s.now = s.now.Add(d)
		s.step(t, &b, Event{Kind: EventTick})
	case "admin":
		s.ref++
		s.step(t, &b, Event{Kind: EventAdmin, Admin: scanAdmin(t, td, s.ref)})
	default:
		td.Fatalf(t, "unknown command %q", td.Cmd)
	}
	if b.Len() == 0 {
		return "(nothing)"
	}
	return b.String()
}

// step applies ev, checks the hub, prints every action and resets the outbox.
func (s *transcript) step(t *testing.T, b *strings.Builder, ev Event) {
	t.Helper()
	ev.Now = s.now
	if err := s.hub.Step(ev, &s.out); err != nil {
		fmt.Fprintf(b, "error: %v\n", err)
	}
	if err := s.hub.Verify(); err != nil {
		t.Fatalf("after %v: %v", ev.Kind, err)
	}
	if err := checkOutbox(s.hub, &s.out, 0); err != nil {
		t.Fatalf("after %v: %v", ev.Kind, err)
	}
	for _, a := range s.out.Actions {
		switch a.Kind {
		case ActionDeliver:
			writeDeliver(t, b, &a, func(id ConnID) (string, proto.Format) { return s.names[id], s.formats[id] })
		case ActionClose:
			fmt.Fprintf(b, "close %s %d %q\n", s.names[a.Conn], a.Code, a.Reason)
		case ActionStore:
			switch a.Store {
			case StoreAppend:
				fmt.Fprintf(b, "store append %s epoch=%s offset=%d keep=%d %q", a.Room, a.Epoch, a.Msg.Offset, a.Keep, a.Msg.Content)
				if len(a.Msg.ID) > 0 {
					fmt.Fprintf(b, " id=%s", a.Msg.ID)
				}
				b.WriteString("\n")
			case StoreDrop:
				fmt.Fprintf(b, "store drop %s epoch=%s\n", a.Room, a.Epoch)
			case StoreBegin:
				fmt.Fprintf(b, "store begin %s epoch=%s\n", a.Room, a.Epoch)
			}
		case ActionAsk:
			s.asks[a.Ask.Conn] = a.Ask.ID
			kinds := map[AskKind]string{AskRefresh: "refresh", AskRoomToken: "room-token", AskJoin: "join", AskPublish: "publish", AskRPC: "rpc"}
			fmt.Fprintf(b, "ask %s #%d %s", s.names[a.Ask.Conn], a.Ask.ID, kinds[a.Ask.Kind])
			if a.Ask.Kind < AskJoin {
				fmt.Fprintf(b, " token=%q", a.Ask.Token)
			} else {
				fmt.Fprintf(b, " user=%s", a.Ask.User)
			}
			if a.Ask.Room != "" {
				fmt.Fprintf(b, " room=%s", a.Ask.Room)
			}
			switch a.Ask.Kind {
			case AskPublish:
				fmt.Fprintf(b, " type=%s", a.Ask.Type)
				if a.Ask.Event != "" {
					fmt.Fprintf(b, " event=%s", a.Ask.Event)
				}
				fmt.Fprintf(b, " content=%q", a.Ask.Content)
			case AskRPC:
				fmt.Fprintf(b, " method=%s data=%s", a.Ask.Method, a.Ask.Data)
			}
			b.WriteString("\n")
		case ActionAppEvent:
			fmt.Fprintf(b, "app %s", a.App.Type)
			if a.App.User != "" {
				fmt.Fprintf(b, " user=%s", a.App.User)
			}
			if a.App.Room != "" {
				fmt.Fprintf(b, " room=%s", a.App.Room)
			}
			fmt.Fprintf(b, " at=%s\n", a.App.Time.Sub(start))
		case ActionAdminReply:
			fmt.Fprintf(b, "reply %d %s\n", a.Reply.Status, adminBody(t, a.Reply))
		}
	}
	s.out.Reset()
}

// scanAdmin reads an admin directive: op=NAME and the request's fields (content may
// also be the input).
func scanAdmin(t *testing.T, td *datadriven.TestData, ref uint64) AdminRequest {
	req := AdminRequest{Ref: ref}
	var op string
	td.ScanArgs(t, "op", &op)
	ops := map[string]AdminOp{
		"stats": AdminStats, "users": AdminUsers, "rooms": AdminRooms,
		"members": AdminRoomMembers, "broadcast": AdminBroadcast, "publish": AdminPublish,
		"send": AdminSendUser, "disconnect": AdminDisconnect, "system": AdminSystem,
		"history":   AdminHistory,
		"join-room": AdminJoinRoom, "leave-room": AdminLeaveRoom,
	}
	o, ok := ops[op]
	if !ok {
		o = AdminOp(255)
	}
	req.Op = o
	td.MaybeScanArgs(t, "room", &req.Room)
	td.MaybeScanArgs(t, "user", &req.User)
	td.MaybeScanArgs(t, "exclude", &req.Exclude)
	td.MaybeScanArgs(t, "content", &req.Content)
	td.MaybeScanArgs(t, "since", &req.Since)
	td.MaybeScanArgs(t, "limit", &req.Limit)
	if td.Input != "" {
		req.Content = td.Input
	}
	return req
}

// writeDeliver prints a Deliver action as its recipients (named by who) read it:
// consecutive recipients that read the same text share a line.
func writeDeliver(t tb, b *strings.Builder, a *Action, who func(ConnID) (string, proto.Format)) {
	var names []string
	last := ""
	for _, id := range a.Targets {
		name, f := who(id)
		text, err := renderMessage(a.Msg, f)
		if err != nil {
			t.Fatal(err)
		}
		if text != last && names != nil {
			fmt.Fprintf(b, "%s <- %s\n", strings.Join(names, " "), last)
			names = nil
		}
		names, last = append(names, name), text
	}
	fmt.Fprintf(b, "%s <- %s\n", strings.Join(names, " "), last)
}

// scanConfig reads a config directive: the default configuration with its changes.
func scanConfig(t *testing.T, td *datadriven.TestData) Config {
	cfg := defaultConfig()
	for _, arg := range td.CmdArgs {
		if err := setConfig(&cfg, arg.Key, arg.SingleVal(t)); err != nil {
			td.Fatalf(t, "%v", err)
		}
	}
	return cfg
}

func setConfig(cfg *Config, key, val string) error {
	atoi := func() int {
		n, err := strconv.Atoi(val)
		if err != nil {
			panic(fmt.Sprintf("config %s=%s: %v", key, val, err))
		}
		return n
	}
	switch key {
	case "node-id":
		cfg.NodeID = val
	case "max-conns":
		cfg.MaxConns = atoi()
	case "max-per-user":
		cfg.MaxPerUser = atoi()
	case "max-rooms-per-conn":
		cfg.MaxRoomsPerConn = atoi()
	case "max-message-bytes":
		cfg.MaxMessageBytes = atoi()
	case "rate":
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return err
		}
		cfg.Rate = f
	case "burst":
		cfg.Burst = atoi()
	case "allow-client-broadcast":
		cfg.AllowClientBroadcast = val == "true"
	case "history":
		cfg.History = atoi()
	case "max-listed":
		cfg.MaxListed = atoi()
	case "history-ttl", "dedupe-window":
		d, err := time.ParseDuration(val)
		if err != nil {
			return err
		}
		if key == "history-ttl" {
			cfg.HistoryTTL = d
		} else {
			cfg.DedupeWindow = d
		}
	case "history-memory":
		cfg.HistoryMemory = int64(atoi())
	case "durable":
		cfg.Durable = val == "true"
	case "backend":
		cfg.Backend = val == "true"
	case "app-events":
		cfg.AppEvents = val == "true"
	case "offline-grace":
		d, err := time.ParseDuration(val)
		if err != nil {
			return err
		}
		cfg.OfflineGrace = d
	default:
		return fmt.Errorf("unknown config %q", key)
	}
	return nil
}

// scanIdentity reads the grant arguments of connect and answer: user, rooms, publish,
// subs (comma-separated) and expires (a duration from the transcript's clock).
func scanIdentity(t *testing.T, td *datadriven.TestData) Identity {
	var id Identity
	td.MaybeScanArgs(t, "user", &id.User)
	list := func(key string) []string {
		var v string
		td.MaybeScanArgs(t, key, &v)
		if v == "" {
			return nil
		}
		return strings.Split(v, ",")
	}
	id.Rooms, id.Publish, id.Subs = list("rooms"), list("publish"), list("subs")
	var exp string
	td.MaybeScanArgs(t, "expires", &exp)
	if exp != "" {
		d, err := time.ParseDuration(exp)
		if err != nil {
			td.Fatalf(t, "expires: %v", err)
		}
		id.Expires = start.Add(d)
	}
	return id
}

func codeNamed(t *testing.T, name string) proto.Code {
	for c := proto.OK; c.String() != "unknown_code"; c++ {
		if c.String() == name {
			return c
		}
	}
	t.Fatalf("unknown code %q", name)
	return 0
}

func setNamespace(ns *Namespace, key, val string) (err error) {
	onOff := func() Switch {
		if val == "false" {
			return Off
		}
		return On
	}
	switch key {
	case "join":
		ns.Join, err = ParseJoinRule(val)
	case "publish":
		ns.Publish, err = ParsePublishRule(val)
	case "history":
		ns.History, err = strconv.Atoi(val)
		if ns.History == 0 {
			ns.History = NoHistory
		}
	case "presence":
		ns.Presence = onOff()
	case "client_events":
		ns.ClientEvents = onOff()
	default:
		err = fmt.Errorf("unknown namespace option %q", key)
	}
	return err
}
