package core

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// benchConfig has no rate limit: benchmark time does not advance.
func benchConfig() Config {
	cfg := defaultConfig()
	cfg.Rate, cfg.MaxConns, cfg.MaxRoomsPerConn = 0, 0, 0
	return cfg
}

// benchHub connects n users (u0…) with one connection each (ids 1…n) and, when room is
// set, has every one of them join it.
func benchHub(tb testing.TB, n int, room string) *Hub {
	h := New(benchConfig())
	var out Outbox
	join := []byte(`{"type":"join","room":"` + room + `"}`)
	for i := 1; i <= n; i++ {
		must(tb, h.Step(Event{Kind: EventConnect, Now: start, Conn: ConnID(i), Identity: Identity{User: fmt.Sprintf("u%d", i-1)}}, &out))
		if room != "" {
			must(tb, h.Step(Event{Kind: EventFrame, Now: start, Conn: ConnID(i), Payload: join}, &out))
		}
		out.Reset()
	}
	return h
}

// stepAndEncode is one op of the hot-path benchmarks: Step, encode each delivered
// message once (as the transport will), Reset.
func stepAndEncode(tb testing.TB, h *Hub, ev Event, out *Outbox) {
	if err := h.Step(ev, out); err != nil {
		tb.Fatal(err)
	}
	for i := range out.Actions {
		if m := out.Actions[i].Msg; m != nil {
			m.Payload(proto.JSON)
		}
	}
	out.Reset()
}

var chatPayload = []byte(`{"type":"chat","room":"lobby","content":"hello, this is a chat message of about a hundred bytes, as in the fan-out benchmark."}`)

func BenchmarkRoomChat(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			h := benchHub(b, n, "lobby")
			var out Outbox
			ev := Event{Kind: EventFrame, Now: start, Conn: 1, Payload: chatPayload}
			b.ReportAllocs()
			for b.Loop() {
				stepAndEncode(b, h, ev, &out)
			}
		})
	}
}

func BenchmarkPrivate(b *testing.B) {
	h := benchHub(b, 100, "")
	var out Outbox
	// u1 has a second tab, so the message goes to two connections.
	must(b, h.Step(Event{Kind: EventConnect, Now: start, Conn: 1000, Identity: Identity{User: "u1"}}, &out))
	out.Reset()
	ev := Event{Kind: EventFrame, Now: start, Conn: 1, Payload: []byte(`{"type":"private","to":"u1","content":"a private word","id":"42"}`)}
	b.ReportAllocs()
	for b.Loop() {
		stepAndEncode(b, h, ev, &out)
	}
}

func BenchmarkBroadcast(b *testing.B) {
	h := benchHub(b, 1000, "")
	var out Outbox
	ev := Event{Kind: EventFrame, Now: start, Conn: 1, Payload: []byte(`{"type":"broadcast","content":"to everyone"}`)}
	b.ReportAllocs()
	for b.Loop() {
		stepAndEncode(b, h, ev, &out)
	}
}

// BenchmarkJoinLeave joins and leaves a room of 100 users: two presence changes, each
// announced to the room (user_joined carries the sorted member list).
func BenchmarkJoinLeave(b *testing.B) {
	h := benchHub(b, 100, "lobby")
	var out Outbox
	must(b, h.Step(Event{Kind: EventConnect, Now: start, Conn: 1000, Identity: Identity{User: "newcomer"}}, &out))
	out.Reset()
	join := Event{Kind: EventFrame, Now: start, Conn: 1000, Payload: []byte(`{"type":"join","room":"lobby"}`)}
	leave := Event{Kind: EventFrame, Now: start, Conn: 1000, Payload: []byte(`{"type":"leave","room":"lobby"}`)}
	b.ReportAllocs()
	for b.Loop() {
		stepAndEncode(b, h, join, &out)
		stepAndEncode(b, h, leave, &out)
	}
}

// BenchmarkConnMemory reports the hub's heap per connection (metric B/conn) for users
// with one connection each, every one in one room of 100 — the shape of a large chat
// deployment. It measures the core's state only, not the transport's.
func BenchmarkConnMemory(b *testing.B) {
	const n = 100_000
	join := make([][]byte, n/100)
	for i := range join {
		join[i] = []byte(fmt.Sprintf(`{"type":"join","room":"room-%d"}`, i))
	}
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("user-%d", i)
	}
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		h := New(benchConfig())
		var out Outbox
		for i := range n {
			must(b, h.Step(Event{Kind: EventConnect, Now: start, Conn: ConnID(i + 1), Identity: Identity{User: users[i]}}, &out))
			out.Reset()
			must(b, h.Step(Event{Kind: EventFrame, Now: start, Conn: ConnID(i + 1), Payload: join[i%len(join)]}, &out))
			out.Reset()
		}
		out = Outbox{}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/conn")
		runtime.KeepAlive(h)
	}
}

// BenchmarkConnectAmidRoomChurn: 100,000 rooms exist and change between connects (a
// room deleted, another created), then a connection comes and goes. Its `connected`
// lists the first MaxListed rooms without sorting all of them.
func BenchmarkConnectAmidRoomChurn(b *testing.B) {
	h := New(benchConfig())
	var out Outbox
	for i := range 1000 {
		must(b, h.Step(Event{Kind: EventConnect, Now: start, Conn: ConnID(i + 1), Identity: Identity{User: fmt.Sprintf("u%d", i)}}, &out))
		for j := range 100 {
			must(b, h.Step(Event{Kind: EventFrame, Now: start, Conn: ConnID(i + 1), Payload: fmt.Appendf(nil, `{"type":"join","room":"room-%d-%d"}`, i, j)}, &out))
		}
		out.Reset()
	}
	leave, join := []byte(`{"type":"leave","room":"room-0-0"}`), []byte(`{"type":"join","room":"room-0-0"}`)
	b.ReportAllocs()
	for b.Loop() {
		stepAndEncode(b, h, Event{Kind: EventFrame, Now: start, Conn: 1, Payload: leave}, &out)
		stepAndEncode(b, h, Event{Kind: EventFrame, Now: start, Conn: 1, Payload: join}, &out)
		stepAndEncode(b, h, Event{Kind: EventConnect, Now: start, Conn: 5000, Identity: Identity{User: "visitor"}}, &out)
		stepAndEncode(b, h, Event{Kind: EventDisconnect, Now: start, Conn: 5000}, &out)
	}
}

// grantHub is benchHub under access rules: namespace team needs grants to join and to
// publish, and each of the n users holds ten patterns, the last one matching team:1:*.
func grantHub(tb testing.TB, n int) (*Hub, Identity) {
	cfg := benchConfig()
	cfg.Namespaces = map[string]Namespace{"team": {Join: JoinGrant, Publish: PublishGrant}, "": {}}
	h := New(cfg)
	id := Identity{Publish: []string{"team:1:lobby"}}
	for i := range 9 {
		id.Rooms = append(id.Rooms, fmt.Sprintf("team:%d:other:*", i+2))
	}
	id.Rooms = append(id.Rooms, "team:1:*")
	var out Outbox
	join := []byte(`{"type":"join","room":"team:1:lobby"}`)
	for i := 1; i <= n; i++ {
		id.User = fmt.Sprintf("u%d", i-1)
		must(tb, h.Step(Event{Kind: EventConnect, Now: start, Conn: ConnID(i), Identity: id}, &out))
		must(tb, h.Step(Event{Kind: EventFrame, Now: start, Conn: ConnID(i), Payload: join}, &out))
		out.Reset()
	}
	return h, id
}

// BenchmarkJoinWithGrant is BenchmarkJoinLeave where the join is decided by a grant:
// the namespace lookup and ten patterns matched, the cost of PROTOCOL.md §8's check.
func BenchmarkJoinWithGrant(b *testing.B) {
	h, id := grantHub(b, 100)
	var out Outbox
	id.User = "newcomer"
	must(b, h.Step(Event{Kind: EventConnect, Now: start, Conn: 1000, Identity: id}, &out))
	out.Reset()
	join := Event{Kind: EventFrame, Now: start, Conn: 1000, Payload: []byte(`{"type":"join","room":"team:1:lobby"}`)}
	leave := Event{Kind: EventFrame, Now: start, Conn: 1000, Payload: []byte(`{"type":"leave","room":"team:1:lobby"}`)}
	b.ReportAllocs()
	for b.Loop() {
		stepAndEncode(b, h, join, &out)
		stepAndEncode(b, h, leave, &out)
	}
}

// BenchmarkRoomChatWithGrant is BenchmarkRoomChat in a publish: grant room: the sender's
// publish grant is matched on every message, still without allocating.
func BenchmarkRoomChatWithGrant(b *testing.B) {
	h, _ := grantHub(b, 100)
	var out Outbox
	ev := Event{Kind: EventFrame, Now: start, Conn: 1, Payload: []byte(`{"type":"chat","room":"team:1:lobby","content":"hello, this is a chat message of about a hundred bytes, as in the fan-out benchmark."}`)}
	b.ReportAllocs()
	for b.Loop() {
		stepAndEncode(b, h, ev, &out)
	}
}
