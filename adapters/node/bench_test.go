package node

import (
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
