package store

import (
	"strconv"
	"testing"

	"github.com/switchboard-ws/switchboard/core"
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
