package node

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// discardLink writes everything it is woken for into nothing, counting frames: the
// node's routing and queueing without any socket.
type discardLink struct {
	mu     sync.Mutex
	c      *Conn
	batch  Batch
	frames atomic.Int64
	bufs   [][]byte
}

func (l *discardLink) Wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c == nil {
		return
	}
	closing := l.c.Pull(&l.batch)
	l.bufs = l.batch.Buffers(l.bufs[:0], 1024)
	n := 0
	for _, b := range l.bufs {
		n += len(b)
	}
	l.frames.Add(int64(len(l.bufs)))
	l.c.Written(&l.batch, n)
	if closing {
		l.c.Finished(&l.batch)
		l.c = nil
	}
}
func (l *discardLink) TryFlush() { l.Wake() }
func (l *discardLink) Abort() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil {
		l.c.Finished(&l.batch)
		l.c = nil
	}
}

// BenchmarkRoute: one chat in, delivered to every member of a 100-member room, through
// the inbox, the hub, the send queues and a writer that discards (no sockets).
func BenchmarkRoute(b *testing.B) {
	const members = 100
	n := New(Options{PingInterval: -1, IdleTimeout: -1, SendQueueBytes: 64 << 20})
	links := make([]*discardLink, members)
	var sender *Conn
	for i := range links {
		l := &discardLink{}
		l.mu.Lock()
		c, _ := n.Attach(Handshake{Identity: core.Identity{User: "u" + strconv.Itoa(i)}, Format: proto.JSON}, l)
		l.c = c
		l.mu.Unlock()
		c.Start()
		c.Receive([]byte(`{"type":"join","room":"r"}`))
		links[i] = l
		sender = c
	}
	chat := []byte(`{"type":"chat","room":"r","content":"hello, this is a benchmark message"}`)
	wait := func(want int64) {
		for _, l := range links {
			for l.frames.Load() < want {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	sender.Receive(chat)
	wait(2) // connected + the chat (user_joined counts vary): warm
	time.Sleep(20 * time.Millisecond)
	base := make([]int64, members)
	for i, l := range links {
		base[i] = l.frames.Load()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sender.Receive(chat)
	}
	for i, l := range links {
		for l.frames.Load()-base[i] < int64(b.N) {
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.StopTimer()
	shutdown(b, n)
}

// nopLink is a transport whose Wake writes nothing: the benchmark's own loop pulls and
// writes off the queues (drainConns), so what is measured is delivery. A closing
// connection (Shutdown) is finished at once.
type nopLink struct {
	c    *Conn
	done atomic.Bool
}

func (l *nopLink) Wake() {
	if !l.c.Open() {
		l.Abort()
	}
}
func (l *nopLink) TryFlush() {}
func (l *nopLink) Abort() {
	if l.done.CompareAndSwap(false, true) {
		l.c.Finished(nil)
	}
}

// deliveredMetrics signals done once the node has counted want deliveries.
type deliveredMetrics struct {
	nopMetrics
	delivered, want atomic.Int64
	done            chan struct{}
}

func (m *deliveredMetrics) Delivered(n int) {
	if m.delivered.Add(int64(n)) >= m.want.Load() {
		select {
		case m.done <- struct{}{}:
		default:
		}
	}
}

// await returns once n more deliveries than before were counted.
func (m *deliveredMetrics) await(n int64) {
	want := m.want.Add(n)
	for m.delivered.Load() < want {
		<-m.done
	}
}

// drainConns writes off everything queued on conns, as a writer whose socket takes it all.
func drainConns(conns []*Conn, batch *Batch, bufs [][]byte) [][]byte {
	for _, c := range conns {
		c.Pull(batch)
		bufs = batch.Buffers(bufs[:0], 1<<10)
		n := 0
		for _, b := range bufs {
			n += len(b)
		}
		c.Written(batch, n)
	}
	return bufs
}

// fanoutRoom is a node with a room of members connections (no presence, so setting it up
// costs no members² user_joined frames), all queues drained.
func fanoutRoom(b *testing.B, members, shards int) (*Node, []*Conn, *deliveredMetrics) {
	m := &deliveredMetrics{done: make(chan struct{}, 1)}
	n := New(Options{
		DeliveryShards: shards, Metrics: m, PingInterval: -1, IdleTimeout: -1, SendQueueBytes: 64 << 20,
		Core: core.Config{Namespaces: map[string]core.Namespace{"bench": {Presence: core.Off}}},
	})
	conns := make([]*Conn, members)
	for i := range conns {
		l := &nopLink{}
		c, err := n.Attach(Handshake{Identity: core.Identity{User: "u" + strconv.Itoa(i)}, Format: proto.JSON}, l)
		if err != nil {
			b.Fatal(err)
		}
		l.c = c
		c.Start()
		c.Receive([]byte(`{"type":"join","room":"bench:r"}`))
		conns[i] = c
	}
	for {
		r, err := n.Admin(context.Background(), core.AdminRequest{Op: core.AdminRooms})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Rooms) == 1 && r.Rooms[0].Members == members {
			break
		}
		time.Sleep(time.Millisecond)
	}
	n.Admin(context.Background(), core.AdminRequest{Op: core.AdminStats}) // the joins' round is over
	var batch Batch
	drainConns(conns, &batch, nil)
	return n, conns, m
}

var fanoutChat = []byte(`{"type":"chat","room":"bench:r","content":"hello, this is a benchmark message"}`)

// BenchmarkFanout: one chat in, delivered to every member of a room of 1000 or 10000
// connections, waiting for the node to have queued it everywhere; one op is one message.
// The queues are written off every few messages with the timer stopped: the transport's
// cost is not the delivery path's. shards=1 is the owner alone; more fork the delivery.
func BenchmarkFanout(b *testing.B) {
	for _, members := range []int{1000, 10000} {
		for _, shards := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("room=%d/shards=%d", members, shards), func(b *testing.B) {
				n, conns, m := fanoutRoom(b, members, shards)
				defer shutdown(b, n)
				var batch Batch
				bufs := make([][]byte, 0, 1<<10)
				const drainEvery = 8
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					conns[0].Receive(fanoutChat)
					m.await(int64(members))
					if i%drainEvery == drainEvery-1 {
						b.StopTimer()
						bufs = drainConns(conns, &batch, bufs)
						b.StartTimer()
					}
				}
				b.StopTimer()
				drainConns(conns, &batch, bufs)
			})
		}
	}
}

// BenchmarkFanoutWriters: the same room, with the transport's writers in the picture:
// each of GOMAXPROCS goroutines sends chats from a member of its own and, after each,
// writes off the queues of its share of the members (Pull, Written: the shards' counters
// and the connections' locks) while the owner and the shards deliver. One op is one
// message delivered to the whole room.
func BenchmarkFanoutWriters(b *testing.B) {
	for _, members := range []int{1000, 10000} {
		for _, shards := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("room=%d/shards=%d", members, shards), func(b *testing.B) {
				n, conns, m := fanoutRoom(b, members, shards)
				defer shutdown(b, n)
				writers := runtime.GOMAXPROCS(0)
				var next atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					w := int(next.Add(1) - 1)
					var share []*Conn
					for i := w; i < len(conns); i += writers {
						share = append(share, conns[i])
					}
					var batch Batch
					bufs := make([][]byte, 0, 1<<10)
					for pb.Next() {
						share[0].Receive(fanoutChat)
						bufs = drainConns(share, &batch, bufs)
					}
				})
				m.await(int64(members) * int64(b.N))
				b.StopTimer()
				var batch Batch
				drainConns(conns, &batch, nil)
			})
		}
	}
}
