package fuzz

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// hubScript decodes fuzz bytes into a configuration and a sequence of hub events. Every
// byte string is a valid script (missing bytes read as zero), so the fuzzer explores
// event orders rather than a file format.
type hubScript struct {
	data []byte
}

func (s *hubScript) byte() byte {
	if len(s.data) == 0 {
		return 0
	}
	b := s.data[0]
	s.data = s.data[1:]
	return b
}

func (s *hubScript) pick(options ...string) string { return options[int(s.byte())%len(options)] }

var (
	hubUsers = []string{"ann", "bob", "cat", "dan"}
	hubRooms = []string{"r1", "r2", "r3", "t:1", "v:1"}
)

// identity is a connection's (or a verified token's) identity: sometimes with grants
// and an expiry, which the access rules and the tick then act on.
func (s *hubScript) identity(now time.Time) core.Identity {
	id := core.Identity{User: s.pick(hubUsers...)}
	if b := s.byte(); b%2 == 1 {
		id.Rooms = []string{s.pick("t:*", "t:1", "*", "v:1")}
		id.Publish = []string{s.pick("t:*", "t:1", "r1")}
		id.Subs = []string{s.pick(append(hubRooms, "bad room")...)}
		id.Expires = now.Add(time.Duration(s.byte()%8) * 100 * time.Millisecond)
	}
	return id
}

func (s *hubScript) config() core.Config {
	return core.Config{
		NodeID:               "fuzz",
		MaxConns:             int(s.byte() % 8),
		MaxPerUser:           int(s.byte() % 4),
		MaxRoomsPerConn:      int(s.byte() % 4),
		MaxMessageBytes:      int(s.byte() % 16),
		Rate:                 float64(s.byte() % 4),
		Burst:                int(s.byte() % 4),
		AllowClientBroadcast: s.byte()%2 == 0,
		History:              int(s.byte() % 4),
		MaxListed:            int(s.byte() % 4),
		Namespaces: [...]map[string]core.Namespace{nil, {
			"":  {},
			"t": {Join: core.JoinGrant, Publish: core.PublishGrant, Presence: core.Off},
			"v": {Join: core.JoinNone, Publish: core.PublishNone, History: core.NoHistory},
		}}[s.byte()%2],
	}
}

// hubField is one key of a request the script builds; num marks a numeric value.
type hubField struct {
	key, str string
	num      uint64
	isNum    bool
}

// request builds one client message in format f: mostly well-formed requests of every
// type (with random fields), sometimes raw bytes for the parser.
func (s *hubScript) request(f proto.Format) []byte {
	if b := s.byte(); b%8 == 7 {
		n := min(int(s.byte()%32), len(s.data))
		raw := s.data[:n]
		s.data = s.data[n:]
		return raw
	}
	fields := []hubField{{key: "type", str: s.pick("join", "join", "leave", "chat", "chat", "private", "broadcast", "members", "online", "ping", "bogus", "refresh", "auth")}}
	if b := s.byte(); b%4 != 0 {
		fields = append(fields, hubField{key: "room", str: s.pick(hubRooms...)})
	}
	if b := s.byte(); b%4 != 0 {
		fields = append(fields, hubField{key: "to", str: s.pick(hubUsers...)})
	}
	if b := s.byte(); b%4 != 0 {
		fields = append(fields, hubField{key: "content", str: "xxxxxxxxxxxxxxxxxxxx"[:b%20]})
	}
	if b := s.byte(); b%2 == 1 {
		fields = append(fields, hubField{key: "since", num: uint64(b % 8), isNum: true})
	}
	if b := s.byte(); b%2 == 1 {
		fields = append(fields, hubField{key: "id", str: "q"})
	}
	if b := s.byte(); b%4 == 1 {
		fields = append(fields, hubField{key: "token", str: "tok"})
	}
	if f == proto.Msgpack {
		out := msgp.AppendMapHeader(nil, uint32(len(fields)))
		for _, fl := range fields {
			out = msgp.AppendString(out, fl.key)
			if fl.isNum {
				out = msgp.AppendUint64(out, fl.num)
			} else {
				out = msgp.AppendString(out, fl.str)
			}
		}
		return out
	}
	out := []byte{'{'}
	for i, fl := range fields {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendQuote(out, fl.key)
		out = append(out, ':')
		if fl.isNum {
			out = strconv.AppendUint(out, fl.num, 10)
		} else {
			out = strconv.AppendQuote(out, fl.str)
		}
	}
	return append(out, '}')
}

// FuzzHub runs decoded event sequences through the hub and checks after every step:
// the hub's own invariants (Verify: membership symmetric, no empty room, presence per
// user, limits), that no unknown or closed connection is ever a delivery target, that
// every message encodes in both formats, that a room's offsets grow by one while it
// lives, and that /api/stats and /api/users agree with the connections the hub opened
// and closed.
func FuzzHub(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzHub (scripted sessions: limits, rooms, recovery, admin).
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &hubScript{data: data}
		cfg := s.config()
		h := core.New(cfg)
		var out core.Outbox
		now := time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)
		live := map[core.ConnID]string{} // conn → user, from the actions
		formats := map[core.ConnID]proto.Format{}
		offsets := map[string]uint64{} // last offset seen per room
		ref := uint64(0)

		step := func(ev core.Event) {
			ev.Now = now
			err := h.Step(ev, &out)
			if verr := h.Verify(); verr != nil {
				t.Fatalf("after %+v: %v", ev, verr)
			}
			if err != nil {
				if len(out.Actions) != 0 {
					t.Fatalf("Step failed (%v) but emitted %d actions", err, len(out.Actions))
				}
				return
			}
			if ev.Kind == core.EventConnect {
				live[ev.Conn], formats[ev.Conn] = ev.Identity.User, ev.Format
			}
			if ev.Kind == core.EventDisconnect {
				delete(live, ev.Conn)
			}
			closed := map[core.ConnID]bool{}
			replayed := uint64(0)
			for i, a := range out.Actions {
				switch a.Kind {
				case core.ActionClose:
					if closed[a.Conn] {
						t.Fatalf("action %d: conn %d closed twice", i, a.Conn)
					}
					closed[a.Conn] = true
					delete(live, a.Conn)
				case core.ActionDeliver:
					for _, id := range a.Targets {
						if closed[id] {
							t.Fatalf("action %d: conn %d targeted after its close", i, id)
						}
						if _, ok := live[id]; !ok {
							t.Fatalf("action %d: conn %d is not connected", i, id)
						}
					}
					if ev.Kind == core.EventConnect && a.Msg.Type == proto.MsgConnected && !slices.Equal(a.Targets, []core.ConnID{ev.Conn}) {
						t.Fatalf("connected sent to %v", a.Targets)
					}
					for f := proto.Format(0); f < proto.NumFormats; f++ {
						if _, err := proto.ToJSON(f, a.Msg.Payload(f)); err != nil {
							t.Fatalf("action %d: %v message does not decode: %v", i, f, err)
						}
					}
					if a.Msg.Type == proto.MsgChat {
						// A live message takes the room's next offset; a replay (`since`
						// recovery) goes to the joiner alone, oldest first.
						last := offsets[a.Msg.Room]
						switch {
						case a.Msg.Offset == last+1:
							offsets[a.Msg.Room] = a.Msg.Offset
						case a.Msg.Offset <= last && ev.Kind == core.EventFrame && slices.Equal(a.Targets, []core.ConnID{ev.Conn}) && a.Msg.Offset > replayed:
							replayed = a.Msg.Offset
						default:
							t.Fatalf("room %s: offset %d after %d (replayed up to %d)", a.Msg.Room, a.Msg.Offset, last, replayed)
						}
					}
				}
			}
			out.Reset()

			// Ask the hub what it thinks, and compare with what it said.
			ref++
			must(t, h.Step(core.Event{Kind: core.EventAdmin, Now: now, Admin: core.AdminRequest{Op: core.AdminStats, Ref: ref}}, &out))
			ref++
			must(t, h.Step(core.Event{Kind: core.EventAdmin, Now: now, Admin: core.AdminRequest{Op: core.AdminUsers, Ref: ref}}, &out))
			ref++
			must(t, h.Step(core.Event{Kind: core.EventAdmin, Now: now, Admin: core.AdminRequest{Op: core.AdminRooms, Ref: ref}}, &out))
			var users []string
			for _, u := range live {
				if !slices.Contains(users, u) {
					users = append(users, u)
				}
			}
			slices.Sort(users)
			stats, us, rooms := out.Actions[0].Reply, out.Actions[1].Reply, out.Actions[2].Reply
			if stats.Stats.TotalConnections != len(live) || stats.Stats.UniqueUsers != len(users) || stats.Stats.Rooms != len(rooms.Rooms) {
				t.Fatalf("stats %+v, but %d conns of %d users are open and %d rooms listed", stats.Stats, len(live), len(users), len(rooms.Rooms))
			}
			if !slices.Equal(us.Users, users) {
				t.Fatalf("users %v, open conns belong to %v", us.Users, users)
			}
			existing := map[string]bool{}
			for _, r := range rooms.Rooms {
				existing[r.Name] = true
				if r.Members < 1 || r.Members > len(users) {
					t.Fatalf("room %s has %d members", r.Name, r.Members)
				}
			}
			for room := range offsets {
				if !existing[room] {
					delete(offsets, room) // a deleted room starts over at offset 1
				}
			}
			out.Reset()
		}

		for n := 0; len(s.data) > 0 && n < 200; n++ {
			id := core.ConnID(s.byte()%8 + 1)
			switch s.byte() % 8 {
			case 0, 1:
				format := proto.Format(s.byte() % 2)
				step(core.Event{Kind: core.EventConnect, Conn: id, Identity: s.identity(now), Format: format})
			case 2:
				step(core.Event{Kind: core.EventDisconnect, Conn: id, Code: 1000})
			case 3:
				now = now.Add(time.Duration(s.byte()) * 10 * time.Millisecond)
				step(core.Event{Kind: core.EventTick})
			case 4:
				req := core.AdminRequest{
					Op:      core.AdminOp(s.byte() % 12), // 11 is not an operation: 400
					Room:    s.pick(append(hubRooms, "", "bad room")...),
					User:    s.pick(append(hubUsers, "", "bad user")...),
					Content: s.pick("", "c", "a longer content"),
					Exclude: s.pick(append(hubUsers, "")...),
				}
				step(core.Event{Kind: core.EventAdmin, Admin: req})
			case 5: // the answer to an ask, right or stale
				a := &core.Answer{ID: uint64(s.byte() % 8), Conn: id, Identity: s.identity(now)}
				if s.byte()%4 == 0 {
					a.Code = proto.Unauthorized
				}
				if a.Identity.User == "dan" {
					a.Identity.Rooms = []string{s.pick(hubRooms...)} // a room token that may fit
				}
				step(core.Event{Kind: core.EventAnswer, Answer: a})
			default:
				step(core.Event{Kind: core.EventFrame, Conn: id, Payload: s.request(formats[id])})
			}
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
