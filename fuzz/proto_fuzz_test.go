package fuzz

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"

	"github.com/switchboard-ws/switchboard/adapters/wsframe"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// view is a parsed request (or its error) in comparable form.
type view struct {
	Type, ID, Room, To, Content string
	HasID, HasContent, HasSince bool
	Since                       uint64
	Code                        proto.Code
	Message                     string
}

func parse(f proto.Format, payload []byte) (view, *proto.Request) {
	r := new(proto.Request)
	err := proto.Parse(f, payload, r)
	v := view{ID: string(r.ID), HasID: r.HasID}
	if err != nil {
		v.Code, v.Message = err.Code, err.Message
		return v, r
	}
	v.Type, v.Room, v.To, v.Content = r.Type.String(), string(r.Room), string(r.To), string(r.Content)
	v.HasContent, v.Since, v.HasSince = r.HasContent, r.Since, r.HasSince
	return v, r
}

// checkRules asserts what every accepted request obeys (PROTOCOL.md §2–§3), and that a
// rejected one carries a code and a message and echoes only a valid id.
func checkRules(t *testing.T, payload []byte, v view, r *proto.Request) {
	t.Helper()
	if r.HasID && len(r.ID) > 64 {
		t.Fatalf("%q: id of %d bytes accepted", payload, len(r.ID))
	}
	if v.Code != proto.OK {
		if v.Message == "" || (v.Code != proto.BadRequest && v.Code != proto.UnknownType) {
			t.Fatalf("%q: error %v %q", payload, v.Code, v.Message)
		}
		return
	}
	needRoom := map[string]bool{"join": true, "leave": true, "members": true, "chat": true}
	needContent := map[string]bool{"chat": true, "private": true, "broadcast": true}
	switch v.Type {
	case "join", "leave", "members", "chat", "private", "broadcast", "online", "ping":
	default:
		t.Fatalf("%q: accepted with type %q", payload, v.Type)
	}
	if needRoom[v.Type] != (v.Room != "") || (v.Room != "" && !proto.ValidRoom(r.Room)) {
		t.Fatalf("%q: %s with room %q", payload, v.Type, v.Room)
	}
	if (v.Type == "private") != (v.To != "") || (v.To != "" && !proto.ValidUser(r.To)) {
		t.Fatalf("%q: %s with to %q", payload, v.Type, v.To)
	}
	if needContent[v.Type] != v.HasContent || (!v.HasContent && v.Content != "") {
		t.Fatalf("%q: %s with content %v %q", payload, v.Type, v.HasContent, v.Content)
	}
	if v.HasSince && v.Type != "join" || (!v.HasSince && v.Since != 0) {
		t.Fatalf("%q: %s with since %v %d", payload, v.Type, v.HasSince, v.Since)
	}
}

// FuzzParseJSON: Parse never panics; what it accepts obeys the rules; it agrees with
// encoding/json on which documents are JSON; and a valid document means the same after
// encoding/json re-serializes it (keys sorted, duplicates dropped, strings re-escaped)
// and after it is converted to MessagePack.
func FuzzParseJSON(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzParseJSON (see seeds_test.go).
	f.Fuzz(func(t *testing.T, data []byte) {
		v, r := parse(proto.JSON, data)
		checkRules(t, data, v, r)

		syntaxError := v.Code == proto.BadRequest && strings.HasPrefix(v.Message, "message ")
		valid := json.Valid(data) && utf8.Valid(data)
		if !valid {
			if !syntaxError {
				t.Fatalf("%q: encoding/json rejects it, Parse gave %+v", data, v)
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			return // nested deeper than encoding/json allows
		}
		obj, isObject := doc.(map[string]any)
		if !isObject {
			if !syntaxError {
				t.Fatalf("%q: not an object, Parse gave %+v", data, v)
			}
			return
		}
		if syntaxError && !strings.Contains(v.Message, "deeply") {
			t.Fatalf("%q: valid JSON object rejected: %s", data, v.Message)
		}

		again, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if v2, _ := parse(proto.JSON, again); v2 != v {
			t.Fatalf("%q means %+v\nre-serialized %s means %+v", data, v, again, v2)
		}
		mp, err := toMsgpack(nil, obj)
		if err != nil {
			t.Fatal(err)
		}
		if v3, _ := parse(proto.Msgpack, mp); v3 != v {
			t.Fatalf("%q means %+v\nas MessagePack % x it means %+v", data, v, mp, v3)
		}
	})
}

// FuzzParseMsgpack: Parse never panics; what it accepts obeys the rules and is one
// complete MessagePack value; and the accepted request means the same when its fields
// are encoded again, as MessagePack and (when its strings are UTF-8) as JSON.
func FuzzParseMsgpack(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzParseMsgpack (see seeds_test.go).
	f.Fuzz(func(t *testing.T, data []byte) {
		v, r := parse(proto.Msgpack, data)
		checkRules(t, data, v, r)
		if v.Code != proto.OK {
			return
		}
		if rest, err := msgp.Skip(data); err != nil || len(rest) != 0 {
			t.Fatalf("% x accepted but msgp.Skip says %v, %d bytes left", data, err, len(rest))
		}
		obj := map[string]any{"type": v.Type}
		if r.HasID {
			obj["id"] = v.ID
		}
		if v.Room != "" {
			obj["room"] = v.Room
		}
		if v.To != "" {
			obj["to"] = v.To
		}
		if v.HasContent {
			obj["content"] = v.Content
		}
		if v.HasSince {
			obj["since"] = json.Number(strconv.FormatUint(v.Since, 10))
		}
		mp, err := toMsgpack(nil, obj)
		if err != nil {
			t.Fatal(err)
		}
		if v2, _ := parse(proto.Msgpack, mp); v2 != v {
			t.Fatalf("% x means %+v\nre-encoded % x means %+v", data, v, mp, v2)
		}
		if !utf8.ValidString(v.ID) || !utf8.ValidString(v.Content) {
			return
		}
		js, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if v3, _ := parse(proto.JSON, js); v3 != v {
			t.Fatalf("% x means %+v\nas JSON %s it means %+v", data, v, js, v3)
		}
	})
}

// FuzzFrame: any message the core can build encodes, in both formats, to a frame whose
// header matches its payload; the JSON payload is valid JSON; and the MessagePack payload
// rendered by ToJSON is byte for byte the JSON payload.
func FuzzFrame(f *testing.F) {
	f.Add(uint8(proto.MsgChat), "lobby", "ann", []byte("hello \"world\"\n"), []byte("id1"), uint64(7), int64(1795892400123))
	f.Add(uint8(proto.MsgError), "r", "", []byte{}, []byte{0xff}, uint64(0), int64(0))
	f.Add(uint8(proto.MsgConnected), "a\x00b", "\xed\xa0\x80", []byte(strings.Repeat("x", 300)), []byte(nil), uint64(math.MaxUint64), int64(-1))
	f.Fuzz(func(t *testing.T, typ uint8, room, user string, content, id []byte, n uint64, ms int64) {
		m := proto.NewMessage(proto.MessageType(int(typ) % proto.NumMessageTypes))
		defer m.Release()
		x := m.Extra()
		m.Room, m.UserID, m.Sender, m.To, x.Text = room, user, user, user, room
		m.Content = append(m.Content[:0], content...)
		m.ID = append(m.ID[:0], id...)
		x.ConnID, m.Offset, x.Total = n, n, int(n>>1)
		x.Members, x.Rooms, x.Users = []string{user, room}, []string{room}, nil
		x.Code = proto.Code(n % 10)
		// Times a server clock can show: years 1970–9999.
		m.Time = time.UnixMilli(int64(uint64(ms) % 253402300800000)).UTC()

		for _, format := range []proto.Format{proto.JSON, proto.Msgpack} {
			frame, payload := m.Frame(wsframe.Framing{}, format), m.Payload(format)
			if !bytes.HasSuffix(frame, payload) {
				t.Fatalf("%s frame does not end with its payload", format)
			}
			hdr := frame[:len(frame)-len(payload)]
			var size uint64
			switch hdr[1] {
			case 126:
				size = uint64(hdr[2])<<8 | uint64(hdr[3])
			case 127:
				for _, b := range hdr[2:10] {
					size = size<<8 | uint64(b)
				}
			default:
				size = uint64(hdr[1])
			}
			if size != uint64(len(payload)) || hdr[0] != 0x81+byte(format) {
				t.Fatalf("%s header % x for %d payload bytes", format, hdr, len(payload))
			}
		}
		js := m.Payload(proto.JSON)
		if !json.Valid(js) || !utf8.Valid(js) {
			t.Fatalf("invalid JSON %q", js)
		}
		canon, err := proto.ToJSON(proto.Msgpack, m.Payload(proto.Msgpack))
		if err != nil || !bytes.Equal(canon, js) {
			t.Fatalf("ToJSON(MessagePack) = %s, %v\nJSON payload  %s", canon, err, js)
		}
	})
}

// toMsgpack encodes a value decoded by encoding/json (with UseNumber) as MessagePack:
// integers as int or uint, other numbers (and -0) as float64, map keys sorted.
func toMsgpack(out []byte, v any) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case map[string]any:
		out = msgp.AppendMapHeader(out, uint32(len(v)))
		for _, k := range slices.Sorted(maps.Keys(v)) { // sorted: seeds are reproducible
			out = msgp.AppendString(out, k)
			if out, err = toMsgpack(out, v[k]); err != nil {
				return nil, err
			}
		}
	case []any:
		out = msgp.AppendArrayHeader(out, uint32(len(v)))
		for _, x := range v {
			if out, err = toMsgpack(out, x); err != nil {
				return nil, err
			}
		}
	case string:
		out = msgp.AppendString(out, v)
	case json.Number:
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return msgp.AppendUint64(out, u), nil
		}
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil && i != 0 {
			return msgp.AppendInt64(out, i), nil
		}
		f, _ := strconv.ParseFloat(string(v), 64) // ±Inf on overflow: still not an integer
		if f == 0 {
			f = math.Copysign(0, -1) // "-0": JSON's negative zero is not a valid since either
		}
		out = msgp.AppendFloat64(out, f)
	case bool:
		out = msgp.AppendBool(out, v)
	case nil:
		out = msgp.AppendNil(out)
	}
	return out, nil
}

// FuzzToJSON: the reader of server messages never panics on any bytes, and what it
// returns is one valid JSON object, which it returns unchanged when read again as JSON.
func FuzzToJSON(f *testing.F) {
	for mt := 0; mt < proto.NumMessageTypes; mt++ {
		m := proto.NewMessage(proto.MessageType(mt))
		m.Room, m.UserID, m.Sender, m.Time = "lobby", "ann", "ann", time.UnixMilli(1795892400123)
		m.Extra().Members, m.Content = []string{"ann"}, append(m.Content[:0], "hi"...)
		f.Add(append([]byte(nil), m.Payload(proto.Msgpack)...))
		m.Release()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []proto.Format{proto.JSON, proto.Msgpack} {
			js, err := proto.ToJSON(format, data)
			if err != nil {
				continue
			}
			if !json.Valid(js) || !utf8.Valid(js) || js[0] != '{' {
				t.Fatalf("ToJSON(%s, % x) = %q: not a JSON object", format, data, js)
			}
			if again, err := proto.ToJSON(proto.JSON, js); err != nil || !bytes.Equal(again, js) {
				t.Fatalf("ToJSON is not stable on its own output %q: %q, %v", js, again, err)
			}
		}
	})
}
