package natsbroker

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/webhook"
)

// hookReceiver is the application's webhook endpoint, served by the test: it checks
// every signature and records every event taken, from whichever node sent it.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	events []webhook.Event
	bad    int
}

const hookSecret = "s3cret"

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var b webhook.Batch
		err := json.Unmarshal(body, &b)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err != nil || r.Header.Get(webhook.SignatureHeader) != webhook.Sign([]byte(hookSecret), body) {
			rc.bad++
			return
		}
		rc.events = append(rc.events, b.Events...)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// seen lists what was taken as "type user room@node", in order.
func (rc *hookReceiver) seen() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, e := range rc.events {
		fields := slices.DeleteFunc([]string{e.Type, e.UserID, e.Room}, func(f string) bool { return f == "" })
		out = append(out, strings.Join(fields, " ")+"@"+e.Node)
	}
	return out
}

// waitSeen waits until the events taken, without their nodes and sorted, are want, and
// returns them as taken (with nodes).
func (rc *hookReceiver) waitSeen(t *testing.T, what string, want ...string) []string {
	t.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(waitLong)
	for {
		got := rc.seen()
		bare := make([]string, len(got))
		for i, s := range got {
			bare[i] = s[:strings.LastIndexByte(s, '@')]
		}
		slices.Sort(bare)
		if slices.Equal(bare, want) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: events %q, want (in any order) %q", what, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two nodes on a real NATS, each with its own webhook sender to one receiver: each app
// event arrives once for the whole cluster (PROTOCOL.md §9.2), from its owner, with a
// unique id; a tab closed while another is open on the other node sends nothing; when a
// node dies, its users go offline, from the other node, the grace after its expiry.
// Among n0 and n1, n0 owns ann, n1 owns cat and room s: both nodes send.
func TestClusterWebhookEventsOnce(t *testing.T) {
	ns := startNATS(t)
	rc := newHookReceiver(t)
	const grace, expiry = 300 * time.Millisecond, time.Second
	senders := map[string]*webhook.Sender{}
	t.Cleanup(func() { // after the nodes' own cleanups: they stop adding first
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range senders {
			s.Close(ctx)
		}
	})
	cfg := defaultCore()
	cfg.OfflineGrace = grace
	nodes := startClusterNodes(t, cfg, func(name string) Options {
		return Options{URL: ns.url(), NodeID: name, History: cfg.History,
			Heartbeat: 100 * time.Millisecond, Expiry: expiry, RequestTimeout: 2 * time.Second}
	}, []string{"n0", "n1"}, func(name string, o *node.Options) {
		s := webhook.New(webhook.Options{URL: rc.URL, Secret: hookSecret, Node: name, Wait: 20 * time.Millisecond})
		senders[name] = s
		o.Events = s.Add
	})

	ann0, ann1, cat := dial(t, nodes[0], "ann"), dial(t, nodes[1], "ann"), dial(t, nodes[1], "cat")
	ann0.join("s")
	ann1.join("s")
	cat.join("s")
	ann0.waitMembers("s", "ann", "cat")
	rc.waitSeen(t, "arrivals", "user_online ann", "user_online cat", "room_occupied s",
		"member_added ann s", "member_added cat s")

	// ann's tab on n1 goes; her tab on n0 stays: nothing, not even past the grace.
	ann1.ws.CloseNow()
	<-ann1.done
	time.Sleep(3 * grace)
	arrived := rc.waitSeen(t, "after one of two tabs closed", "user_online ann", "user_online cat",
		"room_occupied s", "member_added ann s", "member_added cat s")

	// n1 dies without a word: cat, on it, leaves s and goes offline, said by n0 (the only
	// node left, the new owner of both) the grace after n1's expiry, once.
	died := time.Now()
	nodes[1].link.kill()
	final := rc.waitSeen(t, "after n1 died", "user_online ann", "user_online cat", "room_occupied s",
		"member_added ann s", "member_added cat s", "member_removed cat s", "user_offline cat")
	if d := time.Since(died); d < expiry+grace {
		t.Errorf("cat offline %v after n1 died, before its expiry (%v) and the grace (%v)", d, expiry, grace)
	}
	for _, s := range final[len(arrived):] {
		if !strings.HasSuffix(s, "@n0") {
			t.Errorf("%s: a dead node's users' events come from the living", s)
		}
	}
	owners := map[string]bool{}
	for _, s := range arrived {
		owners[s[strings.LastIndexByte(s, '@')+1:]] = true
	}
	if len(owners) != 2 {
		t.Errorf("arrivals sent by %v, want both nodes (each owns some)", owners)
	}
	time.Sleep(3 * grace) // nothing more comes: no repeat from the living node
	if got := rc.seen(); !slices.Equal(got, final) {
		t.Errorf("events %q after the last one expected, want %q", got, final)
	}
	t.Logf("events %q", final)

	rc.mu.Lock()
	defer rc.mu.Unlock()
	ids := map[string]bool{}
	for _, e := range rc.events {
		if ids[e.ID] || e.ID == "" {
			t.Errorf("id %q twice or empty", e.ID)
		}
		ids[e.ID] = true
	}
	if rc.bad != 0 {
		t.Errorf("%d batches with a bad signature", rc.bad)
	}
}
