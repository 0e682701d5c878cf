package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchboard-ws/switchboard/adapters/webhook"
	"github.com/switchboard-ws/switchboard/core"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "s3cret"

// receiver is the application's webhook endpoint, served by the test: it checks every
// signature, answers failures while fail says so, and records what it took.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	attempts []webhook.Batch // every POST, taken or not
	taken    []webhook.Batch
	fail     atomic.Int32 // answer 500 to this many more POSTs
	badSigs  atomic.Int32
	count    atomic.Int64 // events taken
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(webhook.SignatureHeader) != webhook.Sign([]byte(secret), body) {
			rc.badSigs.Add(1)
		}
		var b webhook.Batch
		if err := json.Unmarshal(body, &b); err != nil {
			t.Errorf("bad batch %s: %v", body, err)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.attempts = append(rc.attempts, b)
		if rc.fail.Load() > 0 {
			rc.fail.Add(-1)
			w.WriteHeader(500)
			return
		}
		rc.taken = append(rc.taken, b)
		rc.count.Add(int64(len(b.Events)))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) events() (taken []webhook.Event, attempts int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, b := range rc.taken {
		taken = append(taken, b.Events...)
	}
	return taken, len(rc.attempts)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func closeSender(t *testing.T, s *webhook.Sender) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

var t0 = time.Date(2026, 11, 27, 19, 0, 0, 123e6, time.UTC)

func online(user string) core.AppEvent {
	return core.AppEvent{Type: core.UserOnline, User: user, Time: t0}
}

func TestBatchesSignedAndShaped(t *testing.T) {
	rc := newReceiver(t)
	s := webhook.New(webhook.Options{URL: rc.URL, Secret: secret, Node: "n1", Wait: 50 * time.Millisecond})
	defer closeSender(t, s)
	for i := range 250 {
		s.Add(online("u" + string(rune('a'+i%26))))
	}
	s.Add(core.AppEvent{Type: core.RoomOccupied, Room: "lobby", Time: t0})
	waitFor(t, "251 events", func() bool { ev, _ := rc.events(); return len(ev) == 251 })
	rc.mu.Lock()
	sizes := []int{}
	for _, b := range rc.taken {
		sizes = append(sizes, len(b.Events))
	}
	rc.mu.Unlock()
	if len(sizes) != 3 || sizes[0] != 100 || sizes[1] != 100 || sizes[2] != 51 {
		t.Errorf("batch sizes %v, want 100 100 51", sizes)
	}
	ev, _ := rc.events()
	ids := map[string]bool{}
	for _, e := range ev {
		if ids[e.ID] || e.ID == "" {
			t.Fatalf("id %q twice or empty", e.ID)
		}
		ids[e.ID] = true
	}
	last, _ := json.Marshal(ev[250])
	if !strings.HasPrefix(string(last), `{"type":"room_occupied","id":"n1-`) || !strings.HasSuffix(string(last), `","time":"2026-11-27T19:00:00.123Z","node":"n1","room":"lobby"}`) {
		t.Errorf("event %s", last)
	}
	if first, _ := json.Marshal(ev[0]); !strings.Contains(string(first), `"user_id":"ua"`) || strings.Contains(string(first), "room") {
		t.Errorf("event %s", first)
	}
	if rc.badSigs.Load() != 0 {
		t.Errorf("%d bad signatures", rc.badSigs.Load())
	}
}

// A receiver that fails, then recovers: the same batch (same ids) is retried with
// backoff, and later batches wait behind it, in order.
func TestRetriedWithSameIDsInOrder(t *testing.T) {
	rc := newReceiver(t)
	rc.fail.Store(3)
	s := webhook.New(webhook.Options{URL: rc.URL, Secret: secret, Node: "n1", Wait: 20 * time.Millisecond, Backoff: 50 * time.Millisecond})
	defer closeSender(t, s)
	start := time.Now()
	s.Add(online("ann"))
	time.Sleep(100 * time.Millisecond) // the first batch is in its retries
	s.Add(online("bob"))
	waitFor(t, "both taken", func() bool { ev, _ := rc.events(); return len(ev) == 2 })
	took := time.Since(start)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.attempts) != 5 {
		t.Fatalf("%d attempts, want 4 of the first batch and 1 of the second", len(rc.attempts))
	}
	id := rc.attempts[0].Events[0].ID
	for i := 1; i < 4; i++ {
		if got := rc.attempts[i].Events[0].ID; got != id || len(rc.attempts[i].Events) != 1 {
			t.Errorf("retry %d carried %v, want the same event %s", i, rc.attempts[i].Events, id)
		}
	}
	if rc.taken[0].Events[0].UserID != "ann" || rc.taken[1].Events[0].UserID != "bob" {
		t.Errorf("order: %v", rc.taken)
	}
	// Backoff 50ms, 100ms, 200ms: at least 350ms before the first batch was taken.
	if took < 350*time.Millisecond {
		t.Errorf("taken after %v: no backoff", took)
	}
}

// The queue's bound drops the oldest; a batch whose retry time ran out is dropped; both
// are reported by events_dropped in a later batch.
func TestDropsReported(t *testing.T) {
	rc := newReceiver(t)
	rc.fail.Store(1000)
	s := webhook.New(webhook.Options{URL: rc.URL, Secret: secret, Node: "n1", Queue: 10, Wait: 10 * time.Millisecond,
		Backoff: 20 * time.Millisecond, Retry: 150 * time.Millisecond})
	defer closeSender(t, s)
	s.Add(online("first")) // in flight, failing
	waitFor(t, "first attempt", func() bool { _, n := rc.events(); return n >= 1 })
	for i := range 15 { // 9 fit beside the one in flight: 6 oldest dropped
		s.Add(online("q" + string(rune('a'+i))))
	}
	time.Sleep(200 * time.Millisecond) // the first batch's retry runs out
	rc.fail.Store(0)
	waitFor(t, "the rest taken", func() bool { ev, _ := rc.events(); return len(ev) == 10 })
	ev, _ := rc.events()
	if ev[0].Type != "events_dropped" || ev[0].Count != 7 {
		t.Fatalf("first taken event %+v, want events_dropped count 7 (6 queued + the expired batch)", ev[0])
	}
	if ev[1].UserID != "qg" || ev[9].UserID != "qo" {
		t.Errorf("kept %v .. %v, want qg .. qo", ev[1].UserID, ev[9].UserID)
	}
}

// An event the core named (a cluster's, the same on every node that may send it) keeps
// its id, so a receiver can drop a repeat; others are numbered by the sender.
func TestCoreIDKept(t *testing.T) {
	rc := newReceiver(t)
	s := webhook.New(webhook.Options{URL: rc.URL, Secret: secret, Node: "n1", Wait: 20 * time.Millisecond})
	defer closeSender(t, s)
	named := online("ann")
	named.ID = "user_online-0123456789abcdef"
	s.Add(named)
	s.Add(online("bob"))
	waitFor(t, "2 events", func() bool { ev, _ := rc.events(); return len(ev) == 2 })
	ev, _ := rc.events()
	if ev[0].ID != named.ID || ev[0].Node != "n1" {
		t.Errorf("named event %+v", ev[0])
	}
	if !strings.HasPrefix(ev[1].ID, "n1-") {
		t.Errorf("numbered event %+v", ev[1])
	}
}
