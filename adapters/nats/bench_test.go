package natsbroker

import (
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/core"
)

// BenchmarkChatThroughStream measures the cluster path of one room chat: published to the
// stream, sequenced, republished, delivered back (core.RemoteChat) on a node with a member.
// go test -run XXX -bench ChatThroughStream -benchtime 20000x ./adapters/nats
func BenchmarkChatThroughStream(b *testing.B) {
	ns := startNATS(b)
	done := make(chan struct{}, 1)
	var n int
	want := b.N
	br, err := Connect(Options{URL: ns.url(), NodeID: "bench", History: 100}, func(ev core.ClusterEvent) {
		if _, ok := ev.(core.RemoteChat); ok {
			if n++; n == want {
				done <- struct{}{}
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	for br.Degraded() {
		time.Sleep(10 * time.Millisecond)
	}
	br.RoomCount("hot", "u", 1)
	time.Sleep(100 * time.Millisecond) // the join window check is done
	content := make([]byte, 100)
	b.ResetTimer()
	for range b.N {
		br.PublishChat("hot", "u", content, time.Now(), 0, "")
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("delivered %d of %d", n, want)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "chats/s")
}
