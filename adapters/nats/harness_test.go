package natsbroker

import (
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/switchboard-ws/switchboard/core"
)

const waitLong = 15 * time.Second // only to avoid hangs; never a performance claim

// natsServer is an embedded NATS server with JetStream in a temp dir, restartable on the
// same port and store.
type natsServer struct {
	t    testing.TB
	dir  string
	port int
	srv  *server.Server
}

func startNATS(t testing.TB) *natsServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ns := &natsServer{t: t, dir: t.TempDir(), port: port}
	ns.start()
	t.Cleanup(ns.stop)
	return ns
}

func (ns *natsServer) start() {
	ns.t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: ns.port, JetStream: true,
		StoreDir: ns.dir, NoLog: true, NoSigs: true})
	if err != nil {
		ns.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(waitLong) {
		ns.t.Fatal("nats server not ready")
	}
	ns.srv = srv
}

func (ns *natsServer) stop() {
	if ns.srv != nil {
		ns.srv.Shutdown()
		ns.srv.WaitForShutdown()
		ns.srv = nil
	}
}

// wipe empties the stopped server's store, as a NATS server that restarts on a new disk.
func (ns *natsServer) wipe() {
	ns.t.Helper()
	if err := os.RemoveAll(ns.dir); err != nil {
		ns.t.Fatal(err)
	}
	if err := os.MkdirAll(ns.dir, 0o755); err != nil {
		ns.t.Fatal(err)
	}
}

func (ns *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", ns.port) }

// inbox collects what a broker delivers.
type inbox struct {
	mu   sync.Mutex
	got  []core.ClusterEvent
	cond chan struct{}
}

func newInbox() *inbox { return &inbox{cond: make(chan struct{}, 1)} }

func (ib *inbox) deliver(ev core.ClusterEvent) {
	ib.mu.Lock()
	ib.got = append(ib.got, ev)
	ib.mu.Unlock()
	select {
	case ib.cond <- struct{}{}:
	default:
	}
}

// waitFor returns the events so far once pred holds for them, or fails.
func (ib *inbox) waitFor(t *testing.T, what string, pred func([]core.ClusterEvent) bool) []core.ClusterEvent {
	t.Helper()
	deadline := time.After(waitLong)
	for {
		ib.mu.Lock()
		got := append([]core.ClusterEvent(nil), ib.got...)
		ib.mu.Unlock()
		if pred(got) {
			return got
		}
		select {
		case <-ib.cond:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %d events: %s", what, len(got), summary(got))
		}
	}
}

func summary(got []core.ClusterEvent) string {
	s := ""
	for i, ev := range got {
		if i == 40 {
			return s + " …"
		}
		s += fmt.Sprintf(" %T%+v", ev, ev)
	}
	return s
}

// only returns the events of type T among got, in order.
func only[T core.ClusterEvent](got []core.ClusterEvent) []T {
	var out []T
	for _, ev := range got {
		if x, ok := ev.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

type testNode struct {
	*Broker
	in *inbox
}

// testExpiry is how long a silent node stays in presence in tests that do not kill one:
// long enough that a test binary starved of CPU never expires a live node.
const testExpiry = 5 * time.Second

func connectNode(t *testing.T, ns *natsServer, name string, history int, extra ...nats.Option) *testNode {
	t.Helper()
	return connectNodeExpiry(t, ns, name, history, testExpiry, extra...)
}

func connectNodeExpiry(t *testing.T, ns *natsServer, name string, history int, expiry time.Duration, extra ...nats.Option) *testNode {
	t.Helper()
	ib := newInbox()
	b, err := Connect(Options{URL: ns.url(), NodeID: name, History: history,
		Heartbeat: 100 * time.Millisecond, Expiry: expiry, RequestTimeout: 2 * time.Second, NATS: extra}, ib.deliver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	n := &testNode{b, ib}
	ib.waitFor(t, name+" link up", func([]core.ClusterEvent) bool { return !b.Degraded() })
	return n
}

// knownNodes is how many other nodes b has a synced presence view of.
func (b *Broker) knownNodes() int {
	ch := make(chan int, 1)
	b.post(func() {
		n := 0
		for _, r := range b.remotes {
			if r.synced {
				n++
			}
		}
		ch <- n
	})
	select {
	case n := <-ch:
		return n
	case <-time.After(waitLong):
		return -1
	}
}
