package proto

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tinylib/msgp/msgp"
)

const ts = "2026-11-27T19:00:00.123Z"

// messageCases: one message of every type, filled with more fields than its type sends,
// and exactly the object PROTOCOL.md §4 says a client receives.
func messageCases() []struct {
	name string
	fill func(m *Message)
	want map[string]any
} {
	all := func(m *Message) { // fields of other types, which must not leak into the output
		x := m.Extra()
		m.Room, m.UserID, x.ConnID, m.Sender, m.To = "lobby", "ann", 77, "bob", "cid"
		m.Content = append(m.Content[:0], "hi \"you\"\n\x01 \xff ü 😀 \u2028"...)
		x.Members, x.Rooms, x.Users = []string{"ann", "bob"}, []string{"lobby", "x"}, []string{"u1"}
		x.Total, m.Offset, m.Time = 3, 9007199254740993, time0.Add(456*time.Microsecond)
	}
	const content = "hi \"you\"\n\x01 \uFFFD ü 😀 \u2028"
	num := func(n uint64) json.Number { return json.Number(strconv.FormatUint(n, 10)) }
	return []struct {
		name string
		fill func(m *Message)
		want map[string]any
	}{
		{"connected", func(m *Message) { all(m); m.Type = MsgConnected },
			map[string]any{"type": "connected", "user_id": "ann", "conn_id": "77", "rooms": []any{"lobby", "x"}, "timestamp": ts}},
		{"connected no rooms", func(m *Message) { m.Type, m.UserID, m.Extra().ConnID, m.Time = MsgConnected, "a", 1, time0 },
			map[string]any{"type": "connected", "user_id": "a", "conn_id": "1", "rooms": []any{}, "timestamp": ts}},
		{"user_joined", func(m *Message) { all(m); m.Type = MsgUserJoined },
			map[string]any{"type": "user_joined", "room": "lobby", "user_id": "ann", "members": []any{"ann", "bob"}, "timestamp": ts}},
		{"user_left", func(m *Message) { all(m); m.Type = MsgUserLeft },
			map[string]any{"type": "user_left", "room": "lobby", "user_id": "ann", "timestamp": ts}},
		{"chat", func(m *Message) { all(m); m.Type = MsgChat },
			map[string]any{"type": "chat", "room": "lobby", "sender": "bob", "content": content, "offset": num(9007199254740993), "timestamp": ts}},
		{"private", func(m *Message) { all(m); m.Type = MsgPrivate },
			map[string]any{"type": "private", "sender": "bob", "to": "cid", "content": content, "timestamp": ts}},
		{"broadcast", func(m *Message) { all(m); m.Type = MsgBroadcast },
			map[string]any{"type": "broadcast", "sender": "bob", "content": content, "timestamp": ts}},
		{"system to a room", func(m *Message) { all(m); m.Type = MsgSystem },
			map[string]any{"type": "system", "content": content, "room": "lobby", "timestamp": ts}},
		{"system to everyone", func(m *Message) { m.Type, m.Time = MsgSystem, time0; m.Content = append(m.Content, "maintenance"...) },
			map[string]any{"type": "system", "content": "maintenance", "timestamp": ts}},
		{"members", func(m *Message) { all(m); m.Type = MsgMembers },
			map[string]any{"type": "members", "room": "lobby", "members": []any{"ann", "bob"}}},
		{"members of unknown room", func(m *Message) { m.Type, m.Room = MsgMembers, "nowhere" },
			map[string]any{"type": "members", "room": "nowhere", "members": []any{}}},
		{"online", func(m *Message) { all(m); m.Type = MsgOnline },
			map[string]any{"type": "online", "users": []any{"u1"}, "total": num(3)}},
		{"online empty", func(m *Message) { m.Type = MsgOnline },
			map[string]any{"type": "online", "users": []any{}, "total": num(0)}},
		{"pong", func(m *Message) { all(m); m.Type = MsgPong }, map[string]any{"type": "pong"}},
		{"ack", func(m *Message) { all(m); m.Type = MsgAck; m.ID = append(m.ID, "req-1"...) },
			map[string]any{"type": "ack", "id": "req-1"}},
		{"ack of a chat", func(m *Message) { m.Type, m.Offset, m.HasOffset = MsgAck, 42, true; m.ID = append(m.ID, "c1"...) },
			map[string]any{"type": "ack", "id": "c1", "offset": num(42)}},
		{"joined", func(m *Message) {
			all(m)
			m.Type, m.Extra().Epoch, m.Offset, m.Extra().Recovered = MsgJoined, "e1x", 12, true
		},
			map[string]any{"type": "joined", "room": "lobby", "epoch": "e1x", "offset": num(12), "recovered": true}},
		{"event", func(m *Message) { all(m); m.Type = MsgEvent; m.Event = append(m.Event, "typing"...) },
			map[string]any{"type": "event", "room": "lobby", "sender": "bob", "event": "typing", "content": content, "timestamp": ts}},
		{"error", func(m *Message) { m.Type, m.Extra().Code, m.Extra().Text = MsgError, NotMember, "join the room first" },
			map[string]any{"type": "error", "code": "not_member", "message": "join the room first"}},
		{"error with id", func(m *Message) {
			m.Type, m.Extra().Code, m.Extra().Text = MsgError, BadRequest, msgBadRoom
			m.ID = append(m.ID, "j1"...)
		}, map[string]any{"type": "error", "code": "bad_request", "message": msgBadRoom, "id": "j1"}},
		{"error with empty id", func(m *Message) { m.Type, m.Extra().Code, m.Extra().HasID = MsgError, RateLimited, true },
			map[string]any{"type": "error", "code": "rate_limited", "message": "too many messages: slow down", "id": ""}},
		{"left", func(m *Message) { all(m); m.Type, m.Extra().Text = MsgLeft, "grant revoked" },
			map[string]any{"type": "left", "room": "lobby", "reason": "grant revoked"}},
		{"rpc_result", func(m *Message) {
			all(m)
			m.Type = MsgRPCResult
			m.ID = append(m.ID, "r1"...)
			m.Extra().Result = append(m.Extra().Result, `{"z":1,"a":[true,null,"x",-2,1.5,18446744073709551615],"o":{}}`...)
		}, map[string]any{"type": "rpc_result", "id": "r1", "result": map[string]any{
			"z": num(1), "a": []any{true, nil, "x", json.Number("-2"), json.Number("1.5"), num(18446744073709551615)}, "o": map[string]any{}}}},
		{"rpc_result with no result", func(m *Message) { m.Type = MsgRPCResult; m.ID = append(m.ID, "r2"...) },
			map[string]any{"type": "rpc_result", "id": "r2", "result": nil}},
		{"error with the backend's code", func(m *Message) {
			m.Type, m.Extra().Code, m.Extra().ErrorCode, m.Extra().Text = MsgError, Forbidden, "banned", "you are banned"
			m.ID = append(m.ID, "j2"...)
		}, map[string]any{"type": "error", "code": "banned", "message": "you are banned", "id": "j2"}},
		{"history_gap", func(m *Message) { m.Type, m.Extra().Code, m.Room = MsgError, HistoryGap, "lobby" },
			map[string]any{"type": "error", "code": "history_gap", "message": "the room's history no longer reaches back to the requested offset", "room": "lobby"}},
	}
}

func TestMessageEncoding(t *testing.T) {
	seen := map[MessageType]bool{}
	for _, tc := range messageCases() {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMessage(MsgPong)
			defer m.Release()
			tc.fill(m)
			seen[m.Type] = true

			// JSON, read back by encoding/json.
			js := m.Payload(JSON)
			dec := json.NewDecoder(bytes.NewReader(js))
			dec.UseNumber()
			var got map[string]any
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("encoding/json rejects %s: %v", js, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("JSON %s (-want +got):\n%s", js, diff)
			}
			if !strings.HasPrefix(string(js), `{"type":`) {
				t.Errorf("JSON must start with type: %s", js)
			}

			// MessagePack, read back by msgp's generic decoder.
			mp := m.Payload(Msgpack)
			v, rest, err := msgp.ReadIntfBytes(mp)
			if err != nil || len(rest) != 0 {
				t.Fatalf("msgp rejects % x: %v (%d bytes left)", mp, err, len(rest))
			}
			if diff := cmp.Diff(tc.want, normalizeMsgpack(t, v)); diff != "" {
				t.Errorf("MessagePack (-want +got):\n%s", diff)
			}

			// Both decoders of this package agree with them, and MessagePack rendered as
			// JSON is byte for byte what the JSON encoder sent.
			for _, f := range []Format{JSON, Msgpack} {
				d, err := DecodeMessage(f, m.Payload(f))
				if err != nil {
					t.Fatalf("DecodeMessage(%s): %v", f, err)
				}
				if diff := cmp.Diff(tc.want, d); diff != "" {
					t.Errorf("DecodeMessage(%s) (-want +got):\n%s", f, diff)
				}
			}
			if canon, err := ToJSON(Msgpack, mp); err != nil || string(canon) != string(js) {
				t.Errorf("ToJSON(Msgpack) = %s, %v; want %s", canon, err, js)
			}
		})
	}
	for mt := MessageType(0); int(mt) < NumMessageTypes; mt++ {
		if !seen[mt] {
			t.Errorf("no encoding case for %s", mt)
		}
	}
}

// normalizeMsgpack turns msgp's generic values into encoding/json's UseNumber shapes,
// checking on the way that timestamps are extension -1 values and strings are str.
func normalizeMsgpack(t *testing.T, v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = normalizeMsgpack(t, x)
		}
		return out
	case []any:
		out := []any{}
		for _, x := range v {
			out = append(out, normalizeMsgpack(t, x))
		}
		return out
	case time.Time:
		return v.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	case *msgp.RawExtension:
		// msgp's NextType needs one byte more than a fixext8 holds, so a timestamp that
		// ends the payload comes back raw: decode it by the spec (64-bit form).
		if v.Type != -1 || len(v.Data) != 8 {
			t.Errorf("extension type %d of %d bytes, want a timestamp (-1)", v.Type, len(v.Data))
			return v
		}
		x := binary.BigEndian.Uint64(v.Data)
		return time.Unix(int64(x&(1<<34-1)), int64(x>>34)).UTC().Format("2006-01-02T15:04:05.000Z07:00")
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case uint64:
		return json.Number(strconv.FormatUint(v, 10))
	case bool:
		return v
	case nil:
		return nil
	case float64:
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64))
	case string:
		// msgp's generic decoder keeps invalid UTF-8; the JSON form has U+FFFD.
		return strings.ToValidUTF8(v, "\uFFFD")
	}
	t.Errorf("unexpected MessagePack value %T %v", v, v)
	return v
}

func TestMsgpackTimestampIsOfficialExtension(t *testing.T) {
	m := NewMessage(MsgPong)
	defer m.Release()
	m.Type, m.Time = MsgUserLeft, time0
	mp := m.Payload(Msgpack)
	i := bytes.Index(mp, []byte("timestamp"))
	if i < 0 {
		t.Fatal("no timestamp key")
	}
	ext := mp[i+len("timestamp"):]
	// fixext8 (0xd7), type -1, then 30 bits of nanoseconds and 34 bits of seconds.
	if ext[0] != 0xd7 || int8(ext[1]) != -1 {
		t.Fatalf("timestamp encoded as % x, want fixext8 of type -1", ext)
	}
	v := binary.BigEndian.Uint64(ext[2:])
	if sec, nsec := int64(v&(1<<34-1)), int64(v>>34); !time.Unix(sec, nsec).Equal(time0) {
		t.Errorf("timestamp decodes to %v, want %v", time.Unix(sec, nsec).UTC(), time0)
	}
}

func TestTimestampFormat(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 27, 19, 0, 0, 123_999_999, time.UTC), "2026-11-27T19:00:00.123Z"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), "2026-01-02T02:04:05.000Z"},
		{time.Date(999, 12, 31, 23, 59, 59, 7_000_000, time.UTC), "0999-12-31T23:59:59.007Z"},
	} {
		if got := string(appendTimestamp(nil, tc.in)); got != tc.want {
			t.Errorf("appendTimestamp(%v) = %s, want %s", tc.in, got, tc.want)
		}
		if got := tc.in.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00"); got != tc.want {
			t.Errorf("time.Format disagrees: %s", got)
		}
	}
}

func TestJSONStringEscaping(t *testing.T) {
	for _, s := range []string{"", "plain", "\"\\/", "\x00\x1f\x7f", "\t\n\r\b\f", "é😀", "\xff\xfe", "a\xc3", "\u2028\u2029", "<>&"} {
		enc := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Errorf("%q encodes to invalid JSON %s: %v", s, enc, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want && !(strings.Contains(s, "\xff\xfe") && back == "\uFFFD\uFFFD") {
			t.Errorf("%q → %s → %q, want %q", s, enc, back, want)
		}
	}
}

// testFraming frames a payload between a fixed header and trailer.
type testFraming struct{ header, trailer string }

func (fr testFraming) AppendHeader(dst []byte, _ Format, _ int) []byte {
	return append(dst, fr.header...)
}

// Trailer returns shared bytes, as a Framing must (a conversion would allocate).
func (fr testFraming) Trailer(Format) []byte { return testTrailers[fr.trailer] }

var testTrailers = map[string][]byte{"\n\n": []byte("\n\n"), "T": []byte("T")}

// Frame builds each (framing, format) pair once: the first header that fits the headroom
// with no trailer in place, the others as copies; all end up header + payload + trailer.
func TestFramings(t *testing.T) {
	inPlace, copied, tooLong := testFraming{header: "HD"}, testFraming{header: "data: ", trailer: "\n\n"}, testFraming{header: "a header longer than the headroom"}
	for _, f := range []Format{JSON, Msgpack} {
		m := messageOfSize(t, f, 200)
		payload := m.Payload(f)
		for _, fr := range []testFraming{inPlace, copied, tooLong, {header: "XY"}} {
			frame := m.Frame(fr, f)
			if want := fr.header + string(payload) + fr.trailer; string(frame) != want {
				t.Errorf("%s %q: frame %q, want %q", f, fr.header, frame, want)
			}
			if again := m.Frame(fr, f); &again[0] != &frame[0] || len(again) != len(frame) {
				t.Errorf("%s %q: a second Frame call must return the same bytes", f, fr.header)
			}
		}
		if frame := m.Frame(inPlace, f); &frame[len(inPlace.header)] != &payload[0] {
			t.Errorf("%s: the first short header must be written in front of the payload, not copied", f)
		}
		if frame := m.Frame(testFraming{header: "XY"}, f); &frame[2] == &payload[0] {
			t.Errorf("%s: a second in-place header would overwrite the first", f)
		}
		m.Release()
	}
	// More pairs than a message keeps are framed afresh, still right.
	m := messageOfSize(t, JSON, 100)
	for i := range maxFramed + 2 {
		fr := testFraming{header: strconv.Itoa(i)}
		if got, want := string(m.Frame(fr, JSON)), fr.header+string(m.Payload(JSON)); got != want {
			t.Errorf("framing %d: %q, want %q", i, got, want)
		}
	}
	m.Release()
}

// messageOfSize returns a broadcast whose payload in format f is exactly size bytes.
func messageOfSize(t *testing.T, f Format, size int) *Message {
	for n := size; n > 0; n-- {
		m := NewMessage(MsgBroadcast)
		m.Sender, m.Time = "ann", time0
		m.Content = append(m.Content[:0], strings.Repeat("a", n)...)
		if got := len(m.Payload(f)); got == size {
			return m
		} else if got < size {
			t.Fatalf("no %s broadcast has a payload of exactly %d bytes", f, size)
		}
		m.Release()
	}
	t.Fatalf("size %d too small", size)
	return nil
}

func TestRefcount(t *testing.T) {
	m := NewMessage(MsgChat)
	if m.Refs() != 1 {
		t.Fatalf("new message has %d refs, want 1", m.Refs())
	}
	m.Room, m.Sender, m.Time = "lobby", "ann", time0
	m.Content = append(m.Content, "hello"...)
	m.ID = append(m.ID, "x"...)
	m.Extra().Members = []string{"a"}
	frame := m.Frame(testFraming{header: "HD"}, JSON)
	m.Retain()
	m.Release()
	if m.Refs() != 1 || string(m.Payload(JSON)) != string(frame[2:]) {
		t.Fatal("a release that is not the last must leave the message intact")
	}
	contentCap, frameCap := cap(m.Content), cap(m.frames[JSON])
	m.Release()
	// The message is now in the pool; look at what the last Release left in it.
	if m.Type != 0 || m.Room != "" || len(m.Content) != 0 || len(m.ID) != 0 || m.extra.Members != nil || m.encoded[JSON] || !m.Time.IsZero() {
		t.Errorf("last Release must clear the message: %+v", m)
	}
	if cap(m.Content) != contentCap || cap(m.frames[JSON]) != frameCap {
		t.Error("last Release must keep the buffers' capacity")
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("releasing a released message must panic")
			}
		}()
		m.Release()
	}()
}

func TestReusedMessageEncodesAfresh(t *testing.T) {
	for range 20 { // pooled messages come back empty, whatever they carried before
		m := NewMessage(MsgChat)
		m.Room, m.Sender, m.Time, m.Offset = "lobby", "ann", time0, 1
		m.Content = append(m.Content, "first message, rather long"...)
		m.Frame(testFraming{header: "HD"}, JSON)
		m.Frame(testFraming{header: "HD", trailer: "T"}, Msgpack)
		m.Release()

		p := NewMessage(MsgPong)
		if got := string(p.Payload(JSON)); got != `{"type":"pong"}` {
			t.Fatalf("reused message encodes %s", got)
		}
		if d, err := DecodeMessage(Msgpack, p.Payload(Msgpack)); err != nil || len(d) != 1 {
			t.Fatalf("reused message encodes %v, %v", d, err)
		}
		p.Release()
	}
}

// Encoding and framing a message whose buffers have grown allocates nothing, except
// rpc_result in MessagePack: its result is converted from the backend's JSON
// (jsonvalue.go), once per call of the backend, never on a fan-out path.
func TestFrameAllocs(t *testing.T) {
	inPlace, copied := Framing(testFraming{header: "HD"}), Framing(testFraming{header: "data: ", trailer: "\n\n"})
	for _, f := range []Format{JSON, Msgpack} {
		for _, tc := range messageCases() {
			m := NewMessage(MsgPong)
			tc.fill(m)
			if f == Msgpack && m.Type == MsgRPCResult {
				m.Release()
				continue
			}
			m.Frame(inPlace, f)
			m.Frame(copied, f)
			allocs := testing.AllocsPerRun(50, func() {
				m.encoded[f], m.inPlace[f], m.nframed = false, false, 0
				m.Frame(inPlace, f)
				m.Frame(copied, f)
			})
			if allocs != 0 {
				t.Errorf("%s %s: Frame allocates %.1f times per run, want 0", f, tc.name, allocs)
			}
			m.Release()
		}
	}
}

func TestToJSONRejects(t *testing.T) {
	for _, tc := range []struct {
		f       Format
		payload []byte
	}{
		{JSON, []byte(`[1]`)},
		{JSON, []byte(`{"a":`)},
		{JSON, []byte("{\"a\":\"\xff\"}")},
		{Msgpack, mpStr("x")},
		{Msgpack, append(mpMap(mpStr("a"), mpStr("b")), 1)},
		{Msgpack, mpMap(mpStr("a"), msgp.AppendFloat64(nil, math.NaN()))},
		{Msgpack, mpMap(mpStr("a"), rawExtension(t))},
		{Format(7), []byte(`{}`)},
	} {
		if out, err := ToJSON(tc.f, tc.payload); err == nil {
			t.Errorf("ToJSON(%s, % x) = %s, want an error", tc.f, tc.payload, out)
		}
	}
	out, err := ToJSON(JSON, []byte(" {\"type\" : \"pong\"}\n"))
	if err != nil || string(out) != `{"type":"pong"}` {
		t.Errorf("ToJSON(JSON) = %s, %v", out, err)
	}
}

func rawExtension(t *testing.T) []byte {
	b, err := msgp.AppendExtension(nil, &msgp.RawExtension{Type: 42, Data: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The last Release clears every exported field of Message and Extra, whatever the type
// used (reset clears field by field, so a field added without clearing fails here), and
// keeps only the capacity of the buffers the message owns.
func TestReleaseClearsEveryField(t *testing.T) {
	m := NewMessage(MsgChat)
	fillExported(t, reflect.ValueOf(m).Elem())
	fillExported(t, reflect.ValueOf(m.Extra()).Elem())
	m.Frame(testFraming{header: "HD"}, JSON)
	m.Frame(testFraming{header: "data: ", trailer: "\n\n"}, Msgpack)
	m.Retain()
	m.Release()
	m.Release() // m is in the pool now: look at what the last Release left in it
	for _, v := range []reflect.Value{reflect.ValueOf(m).Elem(), reflect.ValueOf(m.extra).Elem()} {
		for i := range v.NumField() {
			f, name := v.Field(i), v.Type().Field(i).Name
			if !v.Type().Field(i).IsExported() {
				continue
			}
			if f.Kind() == reflect.Slice && f.Type().Elem().Kind() != reflect.String {
				if f.Len() != 0 || f.Cap() == 0 {
					t.Errorf("%s.%s: len %d cap %d after Release, want empty with its capacity kept", v.Type().Name(), name, f.Len(), f.Cap())
				}
			} else if !f.IsZero() {
				t.Errorf("%s.%s = %v after Release, want zero", v.Type().Name(), name, f)
			}
		}
	}
	if m.extraUsed || m.nframed != 0 || m.encoded != [NumFormats]bool{} || m.inPlace != [NumFormats]bool{} {
		t.Errorf("Release left encoding state: extraUsed %v nframed %d encoded %v inPlace %v", m.extraUsed, m.nframed, m.encoded, m.inPlace)
	}
	for f := range m.frames {
		if len(m.frames[f]) != 0 || cap(m.frames[f]) == 0 {
			t.Errorf("frames[%d]: len %d cap %d after Release", f, len(m.frames[f]), cap(m.frames[f]))
		}
	}
	for i := range m.framed {
		if m.framed[i].fr != nil {
			t.Errorf("framed[%d] still holds its framing after Release", i)
		}
	}
	// A released message whose Extra was never asked for encodes its types' zero values.
	p := NewMessage(MsgOnline)
	defer p.Release()
	if got := string(p.Payload(JSON)); got != `{"type":"online","users":[],"total":0}` {
		t.Errorf("online with no Extra encodes %s", got)
	}
}

// fillExported sets every exported field of the struct v to a non-zero value.
func fillExported(t *testing.T, v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Uint8, reflect.Uint64:
			f.SetUint(1)
		case reflect.Int:
			f.SetInt(1)
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.String {
				f.Set(reflect.ValueOf([]string{"x"}))
			} else {
				f.SetBytes([]byte("x"))
			}
		case reflect.Struct: // time.Time
			f.Set(reflect.ValueOf(time0))
		default:
			t.Fatalf("%s.%s: fillExported knows no %s", v.Type().Name(), v.Type().Field(i).Name, f.Kind())
		}
	}
}

// conn_id's digits are written straight into the payload as a fixstr: the same bytes
// msgp.AppendString writes, up to the 20 digits of the largest uint64.
func TestMsgpackDecimal(t *testing.T) {
	for _, n := range []uint64{0, 9, 10, 1<<32 + 7, 9999999999999999999, math.MaxUint64} {
		want := msgp.AppendString([]byte{0xc0}, strconv.FormatUint(n, 10))
		if got := appendMsgpackDecimal([]byte{0xc0}, n); !bytes.Equal(got, want) {
			t.Errorf("%d: % x, want % x", n, got, want)
		}
	}
}
