//go:build linux

package epoll

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-ws/switchboard/adapters/metrics"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/transporttest"
	"github.com/switchboard-ws/switchboard/core"
)

// shardedServer serves a node through a transport of k shards; the transport is
// returned so that tests can see where connections live.
func shardedServer(t *testing.T, k int, opts node.Options) (*transporttest.Server, *Transport) {
	var tr *Transport
	s := transporttest.Start(t, func(t *testing.T, n *node.Node) (http.Handler, func()) {
		var err error
		if tr, err = New(n, Shards(k)); err != nil {
			t.Fatal(err)
		}
		return tr, func() { tr.Close() }
	}, opts)
	return s, tr
}

// shardOf is the index of the shard holding the server side of client, the client's
// socket (-1: none): the connection whose peer is client's local address.
func (t *Transport) shardOf(client net.Conn) int {
	port := client.LocalAddr().(*net.TCPAddr).Port
	for i := range t.slots {
		c := t.slots[i].Load()
		if c == nil {
			continue
		}
		c.io.Lock()
		var sa unix.Sockaddr
		if c.fd >= 0 {
			sa, _ = unix.Getpeername(c.fd)
		}
		c.io.Unlock()
		if in, ok := sa.(*unix.SockaddrInet4); ok && in.Port == port {
			return slices.Index(t.shards, c.sh)
		}
		if in, ok := sa.(*unix.SockaddrInet6); ok && in.Port == port {
			return slices.Index(t.shards, c.sh)
		}
	}
	return -1
}

// shardOfWait is shardOf once client's connection is registered (the handshake's
// answer, and what came with the handshake, may be served before that).
func (t *Transport) shardOfWait(tb *testing.T, client net.Conn) int {
	tb.Helper()
	k := -1
	transporttest.WaitFor(tb, client.LocalAddr().String()+" registered in a shard", func() bool {
		k = t.shardOf(client)
		return k >= 0
	})
	return k
}

var joinRoom = transporttest.ClientFrame(true, 0x1, []byte(`{"type":"join","room":"r"}`))

// joined dials user into room r and reads up to its joined answer.
func joined(s *transporttest.Server, t *testing.T, user string) *transporttest.Raw {
	t.Helper()
	r := s.DialRaw("/ws?user="+user, joinRoom, nil)
	for r.ReadJSON()["type"] != "joined" {
	}
	return r
}

func chat(content string) []byte {
	return transporttest.ClientFrame(true, 0x1, []byte(`{"type":"chat","room":"r","content":"`+content+`"}`))
}

// nextChat reads r's frames up to the next chat (presence frames come in between) and
// returns its content.
func nextChat(t *testing.T, r *transporttest.Raw) string {
	t.Helper()
	for {
		m := r.ReadJSON()
		if m["type"] == "chat" {
			s, _ := m["content"].(string)
			return s
		}
	}
}

// TestShardsDeliverEveryFrameInOrder: members spread over three shards each receive
// every chat of a burst, in the order sent, and every shard's worker wrote.
func TestShardsDeliverEveryFrameInOrder(t *testing.T) {
	const shards, members, chats = 3, 24, 200
	s, tr := shardedServer(t, shards, node.Options{})
	if len(tr.shards) != shards {
		t.Fatalf("%d shards, want %d", len(tr.shards), shards)
	}
	rs := make([]*transporttest.Raw, members)
	used := make(map[int]bool)
	for i := range rs {
		user := "m" + strconv.Itoa(i)
		rs[i] = joined(s, t, user)
		used[tr.shardOfWait(t, rs[i].Conn)] = true
	}
	if len(used) != shards {
		t.Fatalf("members in shards %v, want all %d", used, shards)
	}
	sender := joined(s, t, "sender")
	var burst []byte
	for i := range chats {
		burst = append(burst, chat(strconv.Itoa(i))...)
	}
	sender.Write(burst) // one write: the node sees them back to back, writers fall behind
	for _, r := range rs {
		for i := range chats {
			if got := nextChat(t, r); got != strconv.Itoa(i) {
				t.Fatalf("chat %d read %q", i, got)
			}
		}
	}
	for i, sh := range tr.shards {
		if sh.writevs.Load() == 0 {
			t.Errorf("shard %d never wrote", i)
		}
	}
}

// TestCloseStopsEveryShard: with connections in every shard, Close ends every poller
// and worker and every connection's socket.
func TestCloseStopsEveryShard(t *testing.T) {
	const shards = 4
	n := node.New(node.Options{})
	tr, err := New(n, Shards(shards))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: tr}
	go srv.Serve(ln)
	defer func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	}()

	var clients []net.Conn
	for i := range 2 * shards {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		nc.Write([]byte(transporttest.Handshake("/ws?user=u" + strconv.Itoa(i))))
		var buf [512]byte
		if k, err := nc.Read(buf[:]); err != nil || !strings.HasPrefix(string(buf[:k]), "HTTP/1.1 101") {
			t.Fatalf("handshake: %q %v", buf[:k], err)
		}
		clients = append(clients, nc)
	}
	transporttest.WaitFor(t, "connections registered in every shard", func() bool {
		used := map[int]bool{}
		for i := range clients {
			used[tr.shardOf(clients[i])] = true
		}
		return len(used) == shards && !used[-1]
	})
	if p, w := shardGoroutines(); p != shards || w != shards {
		t.Fatalf("%d pollers and %d workers running, want %d each", p, w, shards)
	}

	if err := tr.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if p, w := shardGoroutines(); p != 0 || w != 0 {
		t.Fatalf("after Close: %d pollers and %d workers", p, w)
	}
	for i, nc := range clients {
		// What the handshake's answer left unread (the connected frame), then the end.
		_, err := io.Copy(io.Discard, nc)
		if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("client %d: socket not closed: %v", i, err)
		}
	}
}

// shardGoroutines counts the goroutines running a shard's poller and worker.
func shardGoroutines() (pollers, workers int) {
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	return strings.Count(stacks, "epoll.(*shard).poll("), strings.Count(stacks, "epoll.(*shard).work(")
}

// closes is what the node's metrics say of connections closed with code: the
// switchboard_closes_total series an operator scrapes.
func closes(t *testing.T, m *metrics.Metrics, code uint16) int {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "switchboard_closes_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == strconv.Itoa(int(code)) {
					return int(s.GetCounter().GetValue())
				}
			}
		}
	}
	return 0
}

// TestVanishedPeerOnOneShard: a connection whose peer resets without a close handshake
// is finished 1006 by its shard, while the members on every shard keep being served.
func TestVanishedPeerOnOneShard(t *testing.T) {
	const shards = 3
	m := metrics.New()
	s, tr := shardedServer(t, shards, node.Options{Metrics: m})
	var rs []*transporttest.Raw
	for i := range 2 * shards {
		rs = append(rs, joined(s, t, "m"+strconv.Itoa(i)))
	}
	victim := joined(s, t, "victim")
	k := tr.shardOfWait(t, victim.Conn)
	neighbours := 0
	for i := range rs {
		if tr.shardOfWait(t, rs[i].Conn) == k {
			neighbours++
		}
	}
	if k < 0 || neighbours == 0 || neighbours == len(rs) {
		t.Fatalf("victim in shard %d with %d of %d members: want some in it and some not", k, neighbours, len(rs))
	}
	for _, r := range rs {
		for m := r.ReadJSON(); m["type"] != "user_joined" || m["user_id"] != "victim"; m = r.ReadJSON() {
		}
	}
	victim.Conn.(*net.TCPConn).SetLinger(0) // close sends a reset: no close frame, no FIN
	victim.Conn.Close()

	transporttest.WaitFor(t, "the victim's connection to be finished 1006", func() bool {
		return closes(t, m, core.CloseAbnormal) == 1
	})
	for i, r := range rs {
		if m := r.ReadJSON(); m["type"] != "user_left" || m["user_id"] != "victim" {
			t.Fatalf("member %d (shard %d) read %v, want the victim's user_left", i, tr.shardOf(rs[i].Conn), m)
		}
	}
	rs[0].Write(chat("still here"))
	for i, r := range rs {
		if got := nextChat(t, r); got != "still here" {
			t.Fatalf("member %d read %q", i, got)
		}
	}
	if got := s.Admin(core.AdminRequest{Op: core.AdminStats}).Stats.TotalConnections; got != len(rs) {
		t.Fatalf("%d connections, want %d", got, len(rs))
	}
	if closes(t, m, core.CloseAbnormal) != 1 {
		t.Fatalf("%d connections closed 1006, want 1", closes(t, m, core.CloseAbnormal))
	}
}
