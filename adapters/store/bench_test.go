package store

import (
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// BenchmarkWrite is the cost the node's owner goroutine pays per durable chat: one
// Write of one StoreAppend (a 100-byte chat, --history 100, 100 rooms in turn), with the
// package's NoSync and, for comparison, with an fsync per Write.
//
//	go test -run '^$' -bench Write -benchtime 2000x ./adapters/store/
func BenchmarkWrite(b *testing.B) {
	for _, mode := range []struct {
		name   string
		noSync bool
	}{{"nosync", true}, {"fsync", false}} {
		b.Run(mode.name, func(b *testing.B) {
			s, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.db.NoSync = mode.noSync
			rooms := make([]string, 100)
			for i := range rooms {
				rooms[i] = "room-" + strconv.Itoa(i)
			}
			content := string(make([]byte, 100))
			actions := make([]core.Action, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				actions[0] = chat(rooms[i%len(rooms)], "e1", 100, uint64(i/len(rooms)+1), "user-1", content)
				if err := s.Write(actions); err != nil {
					b.Fatal(err)
				}
				actions[0].Msg.Release()
			}
		})
	}
}

// BenchmarkChat is a room chat on the node's owner goroutine with and without a data
// dir: the hub's step (10 members, --history 100), the store's Write of that step's
// actions when durable, and the frame encoding the transport does once per message.
// The difference is what --data-dir adds to every chat before its ack goes out.
//
//	go test -run '^$' -bench Chat -benchtime 20000x ./adapters/store/
func BenchmarkChat(b *testing.B) {
	for _, durable := range []bool{false, true} {
		name := "memory"
		if durable {
			name = "data-dir"
		}
		b.Run(name, func(b *testing.B) {
			cfg := core.Config{MaxMessageBytes: 65536, History: 100, HistoryTTL: 10 * time.Minute, Durable: durable, MaxListed: 1000}
			h := core.New(cfg)
			var s *Store
			if durable {
				var err error
				if s, err = Open(b.TempDir()); err != nil {
					b.Fatal(err)
				}
				defer s.Close()
			}
			var out core.Outbox
			now := time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)
			step := func(ev core.Event) {
				ev.Now = now
				if err := h.Step(ev, &out); err != nil {
					b.Fatal(err)
				}
				if s != nil {
					if err := s.Write(out.Actions); err != nil {
						b.Fatal(err)
					}
				}
				for i := range out.Actions {
					if m := out.Actions[i].Msg; m != nil && out.Actions[i].Kind == core.ActionDeliver {
						m.Payload(proto.JSON)
					}
				}
				out.Reset()
			}
			for i := 1; i <= 10; i++ {
				step(core.Event{Kind: core.EventConnect, Conn: core.ConnID(i), Identity: core.Identity{User: "u" + strconv.Itoa(i)}})
				step(core.Event{Kind: core.EventFrame, Conn: core.ConnID(i), Payload: []byte(`{"type":"join","room":"lobby"}`)})
			}
			chat := core.Event{Kind: core.EventFrame, Conn: 1, Payload: []byte(`{"type":"chat","room":"lobby","content":"hello, this is a chat message of about a hundred bytes, as in the fan-out benchmark."}`)}
			b.ReportAllocs()
			for b.Loop() {
				step(chat)
			}
		})
	}
}
