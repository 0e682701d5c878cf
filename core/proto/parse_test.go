package proto

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tinylib/msgp/msgp"
)

// parsed is what a caller sees of a Request (or of its error), in comparable form.
type parsed struct {
	Type     string
	ID       string
	HasID    bool
	Room     string
	To       string
	Content  string
	HasCont  bool
	Since    uint64
	HasSince bool
	Token    string
	Epoch    string
	Event    string
	Method   string
	Data     string
	Err      *parsedErr
}

type parsedErr struct {
	Code    string
	Message string
	ID      string
}

func parseView(f Format, payload []byte) parsed {
	var r Request
	return viewOf(&r, Parse(f, payload, &r))
}

func viewOf(r *Request, err *Error) parsed {
	p := parsed{ID: string(r.ID), HasID: r.HasID}
	if err != nil {
		p.Err = &parsedErr{Code: err.Code.String(), Message: err.Message, ID: string(err.ID)}
		return p
	}
	p.Type = r.Type.String()
	p.Room, p.To, p.Content, p.HasCont = string(r.Room), string(r.To), string(r.Content), r.HasContent
	p.Since, p.HasSince, p.Token = r.Since, r.HasSince, string(r.Token)
	p.Epoch, p.Event = string(r.Epoch), string(r.Event)
	if r.Type == ReqRPC {
		p.Method, p.Data = string(r.Method), string(r.Data)
	}
	return p
}

func bad(msg string) parsed { return parsed{Err: &parsedErr{Code: "bad_request", Message: msg}} }

func badID(id, msg string) parsed {
	return parsed{ID: id, HasID: true, Err: &parsedErr{Code: "bad_request", Message: msg, ID: id}}
}

var long65 = strings.Repeat("u", 65)

// requestCases hold in both formats: the JSON text is converted to the MessagePack map
// with the same keys and values.
var requestCases = []struct {
	name string
	doc  string
	want parsed
}{
	{"join", `{"type":"join","room":"lobby"}`, parsed{Type: "join", Room: "lobby"}},
	{"rpc", `{"type":"rpc","id":"r1","method":"cart.add","data":{"sku":"x-1","n":[2,true,null]}}`,
		parsed{Type: "rpc", ID: "r1", HasID: true, Method: "cart.add", Data: `{"sku":"x-1","n":[2,true,null]}`}},
	{"rpc data a string", `{"type":"rpc","id":"r2","method":"m","data":"hi"}`,
		parsed{Type: "rpc", ID: "r2", HasID: true, Method: "m", Data: `"hi"`}},
	{"rpc without data", `{"type":"rpc","id":"r3","method":"m"}`,
		parsed{Type: "rpc", ID: "r3", HasID: true, Method: "m", Data: `null`}},
	{"rpc without id", `{"type":"rpc","method":"m","data":1}`, bad(msgRPCNeedsID)},
	{"rpc without method", `{"type":"rpc","id":"r4"}`, badID("r4", msgMethodMissing)},
	{"rpc method not a string", `{"type":"rpc","id":"r5","method":5}`, badID("r5", msgBadMethod)},
	{"rpc empty method", `{"type":"rpc","id":"r6","method":""}`, badID("r6", msgBadMethod)},
	{"join since and id", `{"type":"join","room":"a:b/c@d.e-f_9","since":42,"id":"j1"}`,
		parsed{Type: "join", Room: "a:b/c@d.e-f_9", Since: 42, HasSince: true, ID: "j1", HasID: true}},
	{"join since zero", `{"type":"join","room":"r","since":0}`, parsed{Type: "join", Room: "r", HasSince: true}},
	{"join since max", `{"type":"join","room":"r","since":18446744073709551615}`,
		parsed{Type: "join", Room: "r", Since: 1<<64 - 1, HasSince: true}},
	{"join since null", `{"type":"join","room":"r","since":null}`, parsed{Type: "join", Room: "r"}},
	{"join negative since", `{"type":"join","room":"r","since":-1,"id":"x"}`, badID("x", msgBadSince)},
	{"join fractional since", `{"type":"join","room":"r","since":1.5}`, bad(msgBadSince)},
	{"join string since", `{"type":"join","room":"r","since":"3"}`, bad(msgBadSince)},
	{"join since with epoch", `{"type":"join","room":"r","since":3,"epoch":"mx1-2"}`, parsed{Type: "join", Room: "r", Since: 3, HasSince: true, Epoch: "mx1-2"}},
	{"join epoch not a string", `{"type":"join","room":"r","since":3,"epoch":7}`, bad(msgBadEpoch)},
	{"join epoch too long", `{"type":"join","room":"r","epoch":"` + long65 + `"}`, bad(msgBadEpoch)},
	{"event", `{"type":"event","room":"r","event":"typing","content":"x","id":"e"}`, parsed{Type: "event", Room: "r", Event: "typing", Content: "x", HasCont: true, ID: "e", HasID: true}},
	{"event without content", `{"type":"event","room":"r","event":"cursor:move"}`, parsed{Type: "event", Room: "r", Event: "cursor:move"}},
	{"event without name", `{"type":"event","room":"r"}`, bad(msgEventMissing)},
	{"event bad name", `{"type":"event","room":"r","event":"a b"}`, bad(msgBadEvent)},
	{"event name too long", `{"type":"event","room":"r","event":"` + long65 + `"}`, bad(msgBadEvent)},
	{"event name not a string", `{"type":"event","room":"r","event":1}`, bad(msgBadEvent)},
	{"event content not a string", `{"type":"event","room":"r","event":"t","content":5}`, bad(msgBadContent)},
	{"event without room", `{"type":"event","event":"t"}`, bad(msgRoomMissing)},
	{"join without room", `{"type":"join","id":"a"}`, badID("a", msgRoomMissing)},
	{"join null room", `{"type":"join","room":null}`, bad(msgRoomMissing)},
	{"join empty room", `{"type":"join","room":""}`, bad(msgBadRoom)},
	{"join room with space", `{"type":"join","room":"a b"}`, bad(msgBadRoom)},
	{"join room 128", `{"type":"join","room":"` + strings.Repeat("r", 128) + `"}`, parsed{Type: "join", Room: strings.Repeat("r", 128)}},
	{"join room 129", `{"type":"join","room":"` + strings.Repeat("r", 129) + `"}`, bad(msgBadRoom)},
	{"join room number", `{"type":"join","room":5}`, bad(msgBadRoom)},
	{"join room object", `{"type":"join","room":{"name":"x"}}`, bad(msgBadRoom)},
	{"leave", `{"type":"leave","room":"lobby","id":"l"}`, parsed{Type: "leave", Room: "lobby", ID: "l", HasID: true}},
	{"leave without room", `{"type":"leave"}`, bad(msgRoomMissing)},
	{"members", `{"type":"members","room":"lobby"}`, parsed{Type: "members", Room: "lobby"}},
	{"members bad room", `{"type":"members","room":"ä"}`, bad(msgBadRoom)},
	{"chat", `{"type":"chat","room":"lobby","content":"hello"}`,
		parsed{Type: "chat", Room: "lobby", Content: "hello", HasCont: true}},
	{"chat empty content", `{"type":"chat","room":"lobby","content":""}`,
		parsed{Type: "chat", Room: "lobby", HasCont: true}},
	{"chat ignores sender", `{"sender":"mallory","from":"m","user_id":"m","type":"chat","room":"r","content":"x"}`,
		parsed{Type: "chat", Room: "r", Content: "x", HasCont: true}},
	{"chat without content", `{"type":"chat","room":"lobby","id":"c"}`, badID("c", msgContentMiss)},
	{"chat number content", `{"type":"chat","room":"lobby","content":1}`, bad(msgBadContent)},
	{"chat without room", `{"type":"chat","content":"x"}`, bad(msgRoomMissing)},
	{"private", `{"type":"private","to":"bob@x.y-z_1","content":"psst"}`,
		parsed{Type: "private", To: "bob@x.y-z_1", Content: "psst", HasCont: true}},
	{"private without to", `{"type":"private","content":"psst"}`, bad(msgToMissing)},
	{"private bad to", `{"type":"private","to":"room:x","content":"psst"}`, bad(msgBadTo)},
	{"private long to", `{"type":"private","to":"` + long65 + `","content":"p"}`, bad(msgBadTo)},
	{"private to 64", `{"type":"private","to":"` + long65[1:] + `","content":"p"}`,
		parsed{Type: "private", To: long65[1:], Content: "p", HasCont: true}},
	{"private without content", `{"type":"private","to":"bob"}`, bad(msgContentMiss)},
	{"broadcast", `{"type":"broadcast","content":"all"}`, parsed{Type: "broadcast", Content: "all", HasCont: true}},
	{"broadcast array content", `{"type":"broadcast","content":["a"]}`, bad(msgBadContent)},
	{"online", `{"type":"online"}`, parsed{Type: "online"}},
	{"auth", `{"type":"auth","token":"a.b.c"}`, parsed{Type: "auth", Token: "a.b.c"}},
	{"auth without token", `{"type":"auth"}`, bad(msgTokenMissing)},
	{"auth empty token", `{"type":"auth","token":""}`, bad(msgBadToken)},
	{"refresh", `{"type":"refresh","token":"t2","id":"r1"}`, parsed{Type: "refresh", Token: "t2", ID: "r1", HasID: true}},
	{"refresh number token", `{"type":"refresh","token":5}`, bad(msgBadToken)},
	{"join with room token", `{"type":"join","room":"team:1","token":"rt"}`, parsed{Type: "join", Room: "team:1", Token: "rt"}},
	{"join with null token", `{"type":"join","room":"r","token":null}`, parsed{Type: "join", Room: "r"}},
	{"join with bad token", `{"type":"join","room":"r","token":[]}`, bad(msgBadToken)},
	{"chat ignores token", `{"type":"chat","room":"r","content":"c","token":"t"}`, parsed{Type: "chat", Room: "r", Content: "c", HasCont: true}},
	{"ping with id", `{"id":"p1","type":"ping"}`, parsed{Type: "ping", ID: "p1", HasID: true}},
	{"ping ignores room", `{"type":"ping","room":7}`, parsed{Type: "ping"}},
	{"empty id", `{"type":"ping","id":""}`, parsed{Type: "ping", HasID: true}},
	{"id 64 bytes", `{"type":"ping","id":"` + long65[1:] + `"}`, parsed{Type: "ping", ID: long65[1:], HasID: true}},
	{"id 65 bytes", `{"type":"ping","id":"` + long65 + `"}`, bad(msgBadID)},
	{"id number", `{"type":"ping","id":5}`, bad(msgBadID)},
	{"id null", `{"type":"ping","id":null}`, parsed{Type: "ping"}},
	{"unknown type", `{"type":"dance","id":"d"}`,
		parsed{ID: "d", HasID: true, Err: &parsedErr{Code: "unknown_type", Message: msgTypeUnknown, ID: "d"}}},
	{"type case matters", `{"type":"JOIN","room":"r"}`,
		parsed{Err: &parsedErr{Code: "unknown_type", Message: msgTypeUnknown}}},
	{"missing type", `{"room":"r","id":"m"}`, badID("m", msgTypeMissing)},
	{"null type", `{"type":null}`, bad(msgTypeMissing)},
	{"number type", `{"type":1}`, bad(msgTypeNotString)},
	{"empty object", `{}`, bad(msgTypeMissing)},
	{"duplicate key last wins", `{"type":"join","room":"first","room":"second"}`, parsed{Type: "join", Room: "second"}},
	{"duplicate type last wins", `{"type":"nope","type":"ping"}`, parsed{Type: "ping"}},
	{"type last", `{"room":"r","content":"c","type":"chat"}`, parsed{Type: "chat", Room: "r", Content: "c", HasCont: true}},
	{"unknown nested keys skipped", `{"type":"ping","meta":{"a":[1,2,{"b":null}],"c":true,"d":-2.5e-3}}`, parsed{Type: "ping"}},
	{"unicode content", `{"type":"broadcast","content":"héllo 世界 😀"}`, parsed{Type: "broadcast", Content: "héllo 世界 😀", HasCont: true}},
}

func TestParseRequests(t *testing.T) {
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, parseView(JSON, []byte(tc.doc))); diff != "" {
				t.Errorf("JSON %s (-want +got):\n%s", tc.doc, diff)
			}
			mp, err := jsonToMsgpack(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, parseView(Msgpack, mp)); diff != "" {
				t.Errorf("MessagePack of %s (-want +got):\n%s", tc.doc, diff)
			}
		})
	}
}

func TestParseJSONOnly(t *testing.T) {
	ok := func(content string) parsed { return parsed{Type: "broadcast", Content: content, HasCont: true} }
	cases := []struct {
		name, doc string
		want      parsed
	}{
		{"whitespace", " \t\r\n{ \"type\" : \"ping\" , \"id\" :\"i\" } \n", parsed{Type: "ping", ID: "i", HasID: true}},
		{"escapes", `{"type":"broadcast","content":"a\"b\\c\/d\b\f\n\r\t"}`, ok("a\"b\\c/d\b\f\n\r\t")},
		{"unicode escapes", `{"type":"broadcast","content":"\u00e9\u4E16\u0000"}`, ok("é世\x00")},
		{"surrogate pair", `{"type":"broadcast","content":"x\ud83d\ude00y"}`, ok("x😀y")},
		{"lone high surrogate", `{"type":"broadcast","content":"\ud83dx"}`, ok("\uFFFDx")},
		{"lone low surrogate", `{"type":"broadcast","content":"\ude00"}`, ok("\uFFFD")},
		{"high then non-low escape", `{"type":"broadcast","content":"\ud83d\u0041"}`, ok("\uFFFDA")},
		{"escaped key", `{"\u0074ype":"ping"}`, parsed{Type: "ping"}},
		{"escaped room", `{"type":"join","room":"lob\u0062y"}`, parsed{Type: "join", Room: "lobby"}},
		{"many escaped strings", `{"id":"\u0069d","type":"chat","room":"\u0072","content":"\n\n\n"}`,
			parsed{Type: "chat", ID: "id", HasID: true, Room: "r", Content: "\n\n\n", HasCont: true}},
		{"not json", `hello`, bad(msgNotJSON)},
		{"empty", ``, bad(msgNotJSON)},
		{"only whitespace", `   `, bad(msgNotJSON)},
		{"array", `[{"type":"ping"}]`, bad(msgNotJSONObject)},
		{"string", `"ping"`, bad(msgNotJSONObject)},
		{"number", `12`, bad(msgNotJSONObject)},
		{"null", `null`, bad(msgNotJSONObject)},
		{"trailing garbage", `{"type":"ping"}x`, bad(msgTrailingJSON)},
		{"two objects", `{"type":"ping"}{"type":"ping"}`, bad(msgTrailingJSON)},
		{"trailing comma", `{"type":"ping",}`, bad(msgNotJSON)},
		{"unclosed", `{"type":"ping"`, bad(msgNotJSON)},
		{"unterminated string", `{"type":"ping`, bad(msgNotJSON)},
		{"single quotes", `{'type':'ping'}`, bad(msgNotJSON)},
		{"bare key", `{type:"ping"}`, bad(msgNotJSON)},
		{"missing colon", `{"type" "ping"}`, bad(msgNotJSON)},
		{"invalid escape", `{"type":"broadcast","content":"\x"}`, bad(msgNotJSON)},
		{"short unicode escape", `{"type":"broadcast","content":"\u12"}`, bad(msgNotJSON)},
		{"bad hex", `{"type":"broadcast","content":"\u12g4"}`, bad(msgNotJSON)},
		{"bad low half", `{"type":"broadcast","content":"\ud83d\uzzzz"}`, bad(msgNotJSON)},
		{"raw newline in string", "{\"type\":\"broadcast\",\"content\":\"a\nb\"}", bad(msgNotJSON)},
		{"raw tab in string", "{\"type\":\"broadcast\",\"content\":\"a\tb\"}", bad(msgNotJSON)},
		{"raw control in escaped string", "{\"type\":\"broadcast\",\"content\":\"\\n\x01\"}", bad(msgNotJSON)},
		{"invalid utf-8", "{\"type\":\"broadcast\",\"content\":\"\xff\"}", bad(msgNotJSON)},
		{"invalid utf-8 after escape", "{\"type\":\"broadcast\",\"content\":\"\\n\xc3\"}", bad(msgNotJSON)},
		{"leading zero", `{"type":"join","room":"r","since":01}`, bad(msgNotJSON)},
		{"plus sign", `{"type":"join","room":"r","since":+1}`, bad(msgNotJSON)},
		{"lone minus", `{"type":"join","room":"r","since":-}`, bad(msgNotJSON)},
		{"dot without digits", `{"type":"join","room":"r","since":1.}`, bad(msgNotJSON)},
		{"exponent without digits", `{"type":"join","room":"r","since":1e}`, bad(msgNotJSON)},
		{"exponent since", `{"type":"join","room":"r","since":1e2}`, bad(msgBadSince)},
		{"overflowing since", `{"type":"join","room":"r","since":18446744073709551616}`, bad(msgBadSince)},
		{"bad literal", `{"type":"ping","x":tru}`, bad(msgNotJSON)},
		{"NaN", `{"type":"ping","x":NaN}`, bad(msgNotJSON)},
		{"bad nested", `{"type":"ping","x":[1,]}`, bad(msgNotJSON)},
		{"nested object key not string", `{"type":"ping","x":{1:2}}`, bad(msgNotJSON)},
		{"deep nesting within limit", `{"type":"ping","x":` + strings.Repeat("[", 62) + strings.Repeat("]", 62) + `}`, parsed{Type: "ping"}},
		{"too deep", `{"type":"ping","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, bad(msgTooDeep)},
		{"too deep unclosed", `{"x":` + strings.Repeat(`{"a":`, 100000), bad(msgTooDeep)},
		{"id echoed when the syntax fails after it", `{"id":"a","type":`, badID("a", msgNotJSON)},
		{"no id echoed when the syntax fails inside it", `{"id":"a\q"}`, bad(msgNotJSON)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, parseView(JSON, []byte(tc.doc))); diff != "" {
				t.Errorf("%q (-want +got):\n%s", tc.doc, diff)
			}
		})
	}
}

func TestParseMsgpackOnly(t *testing.T) {
	deep := []byte{}
	for range 100 {
		deep = msgp.AppendArrayHeader(deep, 1)
	}
	deep = msgp.AppendNil(deep)
	cases := []struct {
		name    string
		payload []byte
		want    parsed
	}{
		{"bin strings", mpMap(mpBin("type"), mpBin("chat"), mpStr("room"), mpBin("r"), mpStr("content"), mpBin("\xff\x00"), mpStr("id"), mpBin("b")),
			parsed{Type: "chat", Room: "r", Content: "\xff\x00", HasCont: true, ID: "b", HasID: true}},
		{"int since", mpMap(mpStr("type"), mpStr("join"), mpStr("room"), mpStr("r"), mpStr("since"), msgp.AppendInt64(nil, 9)),
			parsed{Type: "join", Room: "r", Since: 9, HasSince: true}},
		{"int8 since", mpMap(mpStr("type"), mpStr("join"), mpStr("room"), mpStr("r"), mpStr("since"), msgp.AppendInt8(nil, 100)),
			parsed{Type: "join", Room: "r", Since: 100, HasSince: true}},
		{"uint16 since", mpMap(mpStr("type"), mpStr("join"), mpStr("room"), mpStr("r"), mpStr("since"), msgp.AppendUint16(nil, 300)),
			parsed{Type: "join", Room: "r", Since: 300, HasSince: true}},
		{"negative since", mpMap(mpStr("type"), mpStr("join"), mpStr("room"), mpStr("r"), mpStr("since"), msgp.AppendInt64(nil, -9)), bad(msgBadSince)},
		{"float since", mpMap(mpStr("type"), mpStr("join"), mpStr("room"), mpStr("r"), mpStr("since"), msgp.AppendFloat64(nil, 1)), bad(msgBadSince)},
		{"timestamp skipped", mpMap(mpStr("type"), mpStr("ping"), mpStr("at"), msgp.AppendTimeExt(nil, time0)), parsed{Type: "ping"}},
		{"extension content", mpMap(mpStr("type"), mpStr("broadcast"), mpStr("content"), msgp.AppendTimeExt(nil, time0)), bad(msgBadContent)},
		{"empty", nil, bad(msgNotMsgpack)},
		{"not a map", mpStr("ping"), bad(msgNotMsgpackMap)},
		{"array", msgp.AppendArrayHeader(nil, 0), bad(msgNotMsgpackMap)},
		{"never-used byte", []byte{0xc1}, bad(msgNotMsgpack)},
		{"truncated map", mpMap(mpStr("type"), mpStr("ping"))[:5], bad(msgNotMsgpack)},
		{"map claims more pairs", append(msgp.AppendMapHeader(nil, 2), append(mpStr("type"), mpStr("ping")...)...), bad(msgNotMsgpack)},
		{"huge map header", msgp.AppendMapHeader(nil, 1<<32-1), bad(msgNotMsgpack)},
		{"trailing data", append(mpMap(mpStr("type"), mpStr("ping")), 0xc0), bad(msgTrailingMsgp)},
		{"integer key", mpMap(msgp.AppendInt(nil, 1), mpStr("x"), mpStr("type"), mpStr("ping")), bad(msgBadKey)},
		{"too deep", mpMap(mpStr("type"), mpStr("ping"), mpStr("x"), deep), bad(msgTooDeep)},
		{"too deep in known key", mpMap(mpStr("type"), mpStr("ping"), mpStr("room"), deep), bad(msgTooDeep)},
		{"truncated skipped value", mpMap(mpStr("type"), mpStr("ping"), mpStr("x"), mpStr("abcdef")[:3]), bad(msgNotMsgpack)},
		{"id echoed when the map breaks off", mpMap(mpStr("id"), mpStr("m"), mpStr("type"), mpStr("ping"))[:9], badID("m", msgNotMsgpack)},
		{"truncated string value", mpMap(mpStr("type"), mpStr("broadcast"), mpStr("content"), mpStr("abcdef")[:3]), bad(msgNotMsgpack)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, parseView(Msgpack, tc.payload)); diff != "" {
				t.Errorf("% x (-want +got):\n%s", tc.payload, diff)
			}
		})
	}
}

func TestParseUnknownFormat(t *testing.T) {
	var r Request
	if err := Parse(Format(9), []byte(`{"type":"ping"}`), &r); err == nil || err.Code != BadRequest {
		t.Fatalf("Parse(Format(9)) = %v, want bad_request", err)
	}
}

// A Request parsed into again must not keep anything of the previous message.
func TestParseReusesRequest(t *testing.T) {
	var r Request
	if err := Parse(JSON, []byte(`{"type":"join","room":"a\u0062","since":3,"id":"x"}`), &r); err != nil {
		t.Fatal(err)
	}
	if err := Parse(JSON, []byte(`{"type":"ping"}`), &r); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(parsed{Type: "ping"}, viewOf(&r, nil)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseAliasesPayload(t *testing.T) {
	payload := []byte(`{"type":"chat","room":"lobby","content":"hello"}`)
	var r Request
	if err := Parse(JSON, payload, &r); err != nil {
		t.Fatal(err)
	}
	if &r.Content[0] != &payload[strings.Index(string(payload), "hello")] {
		t.Error("content of a string without escapes should alias the payload")
	}
}

func TestValidNames(t *testing.T) {
	for _, tc := range []struct {
		name       string
		room, user bool
	}{
		{"ann", true, true},
		{"A-z_0.9@x", true, true},
		{"team:blue/ops", true, false},
		{"", false, false},
		{"has space", false, false},
		{"ümlaut", false, false},
		{"semi;colon", false, false},
		{strings.Repeat("a", 64), true, true},
		{strings.Repeat("a", 65), true, false},
		{strings.Repeat("a", 128), true, false},
		{strings.Repeat("a", 129), false, false},
	} {
		if got := ValidRoom([]byte(tc.name)); got != tc.room {
			t.Errorf("ValidRoom(%q) = %v", tc.name, got)
		}
		if got := ValidUser([]byte(tc.name)); got != tc.user {
			t.Errorf("ValidUser(%q) = %v", tc.name, got)
		}
	}
}

func TestNames(t *testing.T) {
	got := []string{}
	for c := OK; c <= HistoryGap; c++ {
		got = append(got, c.String())
	}
	want := []string{"ok", "bad_request", "unknown_type", "not_member", "user_offline", "forbidden",
		"rate_limited", "limit_exceeded", "too_large", "history_gap"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Code names (-want +got):\n%s", diff)
	}
	for rt := ReqJoin; rt <= ReqPing; rt++ {
		if requestTypeOf([]byte(rt.String())) != rt {
			t.Errorf("request type %d: %q does not parse back", rt, rt)
		}
	}
	if Code(200).String() != "unknown_code" || MessageType(200).String() != "unknown" {
		t.Error("out-of-range values must not panic")
	}
	if f, ok := FormatOf("switchboard.msgpack"); !ok || f != Msgpack || f.Subprotocol() != SubprotocolMsgpack {
		t.Error("FormatOf(switchboard.msgpack)")
	}
	if _, ok := FormatOf("chat"); ok {
		t.Error("FormatOf(chat) should fail")
	}
}

func TestParseAllocs(t *testing.T) {
	payloads := map[Format][]byte{
		JSON:    []byte(`{"type":"chat","room":"lobby","content":"caf\u00e9 \"quoted\"\n","id":"m1"}`),
		Msgpack: mpMap(mpStr("type"), mpStr("chat"), mpStr("room"), mpStr("lobby"), mpStr("content"), mpStr("café"), mpStr("id"), mpStr("m1")),
	}
	for f, p := range payloads {
		var r Request
		allocs := testing.AllocsPerRun(100, func() {
			if err := Parse(f, p, &r); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Parse(%s) allocates %.1f times per run, want 0", f, allocs)
		}
		bad := []byte(`{"type":"join","room":"no spaces","id":"x"}`)
		if f == Msgpack {
			bad, _ = jsonToMsgpack(string(bad))
		}
		allocs = testing.AllocsPerRun(100, func() { _ = Parse(f, bad, &r) })
		if allocs != 0 {
			t.Errorf("rejecting a %s request allocates %.1f times per run, want 0", f, allocs)
		}
	}
}
