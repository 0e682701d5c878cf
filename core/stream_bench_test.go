package core

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// BenchmarkStreamMemory reports what 100,000 idle room streams (rooms without members
// that outlive them, PROTOCOL.md §10.2) of 10 held messages each cost the hub: B/stream
// is the heap in use after GC (runtime.MemStats.HeapInuse), budget-B/stream what
// --history-memory counts for them (Hub.heldBytes), so the two can be compared. Each
// message is a 100-byte admin publish, the way a stream fills with nobody in the room.
//
//	go test -run '^$' -bench StreamMemory -benchtime 1x ./core/
func BenchmarkStreamMemory(b *testing.B) {
	const streams, perStream = 100_000, 10
	rooms := make([]string, streams)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("room-%06d", i)
	}
	content := strings.Repeat("x", 100)
	cfg := benchConfig()
	cfg.History, cfg.HistoryTTL, cfg.HistoryMemory = perStream, 10*time.Minute, 0
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		h := New(cfg)
		var out Outbox
		for _, room := range rooms {
			for range perStream {
				must(b, h.Step(Event{Kind: EventAdmin, Now: start, Admin: AdminRequest{Op: AdminPublish, Room: room, Content: content}}, &out))
				out.Reset()
			}
		}
		if len(h.streams) != streams || len(h.rooms) != 0 {
			b.Fatalf("%d streams and %d rooms, want %d idle streams", len(h.streams), len(h.rooms), streams)
		}
		out = Outbox{}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/streams, "B/stream")
		b.ReportMetric(float64(h.heldBytes)/streams, "budget-B/stream")
		runtime.KeepAlive(h)
	}
}
