package natsbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/switchboard-ws/switchboard/adapters/epoll"
	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
)

// Three switchboard nodes in one process, each a node.Node behind a transport (epoll for
// the first, net/http for the others) on 127.0.0.1:0, joined through one embedded NATS server; clients are real
// WebSocket clients. What is asserted is what those clients see.

type clusterNode struct {
	name string
	link *Link
	node *node.Node
	srv  *httptest.Server
}

func defaultCore() core.Config {
	return core.Config{MaxConns: 10000, MaxPerUser: 5, MaxRoomsPerConn: 100, MaxMessageBytes: 65536,
		Rate: 1000, Burst: 1000, AllowClientBroadcast: true, History: 100, DedupeWindow: 2 * time.Minute}
}

func startCluster(t *testing.T, ns *natsServer, cfg core.Config, names ...string) []*clusterNode {
	t.Helper()
	return startClusterExpiry(t, ns, cfg, testExpiry, names...)
}

func startClusterExpiry(t *testing.T, ns *natsServer, cfg core.Config, expiry time.Duration, names ...string) []*clusterNode {
	t.Helper()
	return startClusterWith(t, cfg, func(name string) Options {
		return Options{URL: ns.url(), NodeID: name, History: cfg.History,
			Heartbeat: 100 * time.Millisecond, Expiry: expiry, RequestTimeout: 2 * time.Second}
	}, names...)
}

// startClusterWith starts a node for each name, its link set up by opts(name).
func startClusterWith(t *testing.T, cfg core.Config, opts func(name string) Options, names ...string) []*clusterNode {
	t.Helper()
	return startClusterNodes(t, cfg, opts, names, nil)
}

// startClusterNodes is startClusterWith with more(name, options) adjusting each node's
// options (e.g. an Events consumer) when set.
func startClusterNodes(t *testing.T, cfg core.Config, opts func(name string) Options, names []string, more func(name string, o *node.Options)) []*clusterNode {
	t.Helper()
	var nodes []*clusterNode
	for i, name := range names {
		link, err := Dial(opts(name))
		if err != nil {
			t.Fatal(err)
		}
		c := cfg
		c.NodeID = name
		o := node.Options{Core: c, Cluster: link}
		if more != nil {
			more(name, &o)
		}
		n := node.New(o)
		// the first node serves through the epoll transport (where there is one), the
		// others through net/http: a cluster does not care
		var ws http.Handler = nethttp.New(n)
		closeWS := func() {}
		if i == 0 {
			if tr, err := epoll.New(n); err == nil {
				ws, closeWS = tr, func() { tr.Close() }
			}
		}
		mux := http.NewServeMux()
		mux.Handle("/ws", ws)
		srv := httptest.NewServer(mux)
		cn := &clusterNode{name: name, link: link, node: n, srv: srv}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			n.Shutdown(ctx)
			srv.Close()
			closeWS()
			link.Close()
		})
		nodes = append(nodes, cn)
	}
	// every node knows every other before the test begins (they send nothing yet, so a
	// heartbeat round is enough)
	for _, cn := range nodes {
		deadline := time.Now().Add(waitLong)
		for cn.link.Degraded() || cn.link.knownNodes() < len(nodes)-1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s knows %d nodes", cn.name, cn.link.knownNodes())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nodes
}

// client is one WebSocket client; what it receives is queued as decoded JSON objects.
type client struct {
	t    *testing.T
	name string
	ws   *websocket.Conn
	in   chan map[string]any
	done chan struct{}
	err  error // the read error that ended it (a close code), valid after done
}

func dial(t *testing.T, cn *clusterNode, user string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	url := "ws" + strings.TrimPrefix(cn.srv.URL, "http") + "/ws?user=" + user
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"switchboard.json"}})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	c := &client{t: t, name: user + "@" + cn.name, ws: ws, in: make(chan map[string]any, 4096), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				c.err = err
				return
			}
			c.in <- m
		}
	}()
	t.Cleanup(func() {
		ws.Close(websocket.StatusNormalClosure, "")
		<-c.done
	})
	c.next("connected")
	return c
}

func (c *client) send(format string, args ...any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, fmt.Appendf(nil, format, args...)); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// next returns the next message of type typ, skipping others of the kinds in skip.
func (c *client) next(typ string, skip ...string) map[string]any {
	c.t.Helper()
	timeout := time.After(waitLong)
	for {
		select {
		case m := <-c.in:
			if m["type"] == typ {
				return m
			}
			if !slices.Contains(skip, m["type"].(string)) {
				c.t.Fatalf("%s: got %v while waiting for %s", c.name, m, typ)
			}
		case <-c.done:
			c.t.Fatalf("%s: closed (%v) while waiting for %s", c.name, c.err, typ)
		case <-timeout:
			c.t.Fatalf("%s: no %s", c.name, typ)
		}
	}
}

// closed waits for the server to close the connection and returns code and reason.
func (c *client) closed() (websocket.StatusCode, string) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitLong):
		c.t.Fatalf("%s: still open", c.name)
	}
	var ce websocket.CloseError
	if !errors.As(c.err, &ce) {
		c.t.Fatalf("%s: ended without a close frame: %v", c.name, c.err)
	}
	return ce.Code, ce.Reason
}

func (c *client) join(room string) {
	c.t.Helper()
	c.send(`{"type":"join","room":%q,"id":"j"}`, room)
	if m := c.next("joined", "user_joined"); m["room"] != room || m["epoch"] == "" {
		c.t.Fatalf("%s: joined %v", c.name, m)
	}
	c.next("ack", "user_joined")
}

// waitMembers polls members until room lists want (presence travels asynchronously).
func (c *client) waitMembers(room string, want ...string) {
	c.t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		c.send(`{"type":"members","room":%q}`, room)
		m := c.next("members", "user_joined", "user_left")
		got := []string{}
		for _, u := range m["members"].([]any) {
			got = append(got, u.(string))
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: members of %s %v, want %v", c.name, room, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClusterThreeNodesChatPresencePrivateBroadcast(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, defaultCore(), "n0", "n1", "n2")
	ann, bob, cat := dial(t, nodes[0], "ann"), dial(t, nodes[1], "bob"), dial(t, nodes[2], "cat")
	ann.join("lobby")
	// ann hears of bob and cat arriving on other nodes, with the cluster's member list
	bob.join("lobby")
	if m := ann.next("user_joined"); m["user_id"] != "bob" || fmt.Sprint(m["members"]) != "[ann bob]" {
		t.Fatalf("ann: %v", m)
	}
	cat.join("lobby")
	if m := ann.next("user_joined"); m["user_id"] != "cat" || fmt.Sprint(m["members"]) != "[ann bob cat]" {
		t.Fatalf("ann: %v", m)
	}
	for _, c := range []*client{bob, cat} {
		c.waitMembers("lobby", "ann", "bob", "cat")
	}

	const per = 30
	var wg sync.WaitGroup
	for _, c := range []*client{ann, bob, cat} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				c.send(`{"type":"chat","room":"lobby","content":"%s-%d"}`, c.name, i)
			}
		}()
	}
	wg.Wait()
	var orders [][]string
	for _, c := range []*client{ann, bob, cat} {
		var order []string
		last := 0.0
		for len(order) < 3*per {
			m := c.next("chat", "user_joined", "members")
			if off := m["offset"].(float64); off <= last {
				t.Fatalf("%s: offset %v after %v", c.name, off, last)
			} else {
				last = off
			}
			order = append(order, fmt.Sprint(m["offset"], m["sender"], m["content"]))
		}
		orders = append(orders, order)
	}
	if !slices.Equal(orders[0], orders[1]) || !slices.Equal(orders[0], orders[2]) {
		t.Fatalf("nodes saw different orders:\n%v\n%v\n%v", orders[0][:5], orders[1][:5], orders[2][:5])
	}

	// a chat's ack follows the chat, once it came back sequenced, as on a single node
	ann.send(`{"type":"chat","room":"lobby","content":"with id","id":"c1"}`)
	if m := ann.next("chat"); m["content"] != "with id" {
		t.Fatalf("ann: %v", m)
	}
	if m := ann.next("ack"); m["id"] != "c1" {
		t.Fatalf("ann: %v", m)
	}
	bob.next("chat")
	cat.next("chat")

	ann.send(`{"type":"online"}`)
	if m := ann.next("online"); m["total"].(float64) != 3 {
		t.Fatalf("online %v", m)
	}
	ann.send(`{"type":"private","to":"cat","content":"psst"}`)
	if m := cat.next("private"); m["sender"] != "ann" || m["content"] != "psst" {
		t.Fatalf("private %v", m)
	}
	bob.send(`{"type":"broadcast","content":"hey all"}`)
	for _, c := range []*client{ann, bob, cat} {
		if m := c.next("broadcast"); m["sender"] != "bob" || m["content"] != "hey all" {
			t.Fatalf("%s: broadcast %v", c.name, m)
		}
	}

	// cluster-wide admin: stats from any node; publish reaches every node with an offset
	rep, err := nodes[2].node.Admin(context.Background(), core.AdminRequest{Op: core.AdminStats})
	if err != nil || rep.Stats.TotalConnections != 3 || rep.Stats.UniqueUsers != 3 || rep.Stats.Rooms != 1 {
		t.Fatalf("stats %+v %v", rep.Stats, err)
	}
	rep, err = nodes[1].node.Admin(context.Background(), core.AdminRequest{Op: core.AdminPublish, Room: "lobby", Content: "from ops"})
	if err != nil || rep.Status != 200 || rep.Delivered != 3 || rep.Offset == 0 {
		t.Fatalf("publish %+v %v", rep, err)
	}
	for _, c := range []*client{ann, bob, cat} {
		if m := c.next("chat"); m["sender"] != "server" || uint64(m["offset"].(float64)) != rep.Offset {
			t.Fatalf("%s: published %v, reply offset %d", c.name, m, rep.Offset)
		}
	}

	rep, err = nodes[0].node.Admin(context.Background(), core.AdminRequest{Op: core.AdminSendUser, User: "cat", Content: "to cat"})
	if err != nil || rep.Status != 200 || rep.Delivered != 1 {
		t.Fatalf("send %+v %v", rep, err)
	}
	if m := cat.next("private"); m["sender"] != "server" || m["content"] != "to cat" {
		t.Fatalf("cat: %v", m)
	}
	rep, err = nodes[0].node.Admin(context.Background(), core.AdminRequest{Op: core.AdminSendUser, User: "nobody", Content: "x"})
	if err != nil || rep.Status != 404 {
		t.Fatalf("send to nobody %+v %v", rep, err)
	}

	// bob leaves: the others hear it once
	bob.send(`{"type":"leave","room":"lobby"}`)
	for _, c := range []*client{ann, cat} {
		if m := c.next("user_left"); m["user_id"] != "bob" {
			t.Fatalf("%s: %v", c.name, m)
		}
	}
	// kick from n2 closes ann's connection on n0
	rep, err = nodes[2].node.Admin(context.Background(), core.AdminRequest{Op: core.AdminDisconnect, User: "ann"})
	if err != nil || rep.Closed != 1 {
		t.Fatalf("kick %+v %v", rep, err)
	}
	if code, reason := ann.closed(); code != 4009 || reason != "Kicked" {
		t.Fatalf("ann closed %d %q", code, reason)
	}
}

func TestClusterPerUserLimitAcrossNodes(t *testing.T) {
	ns := startNATS(t)
	cfg := defaultCore()
	cfg.MaxPerUser = 1
	nodes := startCluster(t, ns, cfg, "n0", "n1")
	first := dial(t, nodes[0], "dan")
	// whichever node learns of the other connection first, the older one is closed by
	// its own node
	second := dial(t, nodes[1], "dan")
	if code, reason := first.closed(); code != 4000 || reason != "Replaced by new connection" {
		t.Fatalf("first closed %d %q", code, reason)
	}
	second.send(`{"type":"ping"}`)
	second.next("pong")
}

func TestClusterRecoveryOnAnotherNode(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, defaultCore(), "n0", "n1")
	ann := dial(t, nodes[0], "ann")
	ann.join("r")
	var offsets []uint64
	for i := 1; i <= 5; i++ {
		ann.send(`{"type":"chat","room":"r","content":"%d"}`, i)
		offsets = append(offsets, uint64(ann.next("chat")["offset"].(float64)))
	}
	// eve had seen chat 2 on n0; she comes back on n1
	eve := dial(t, nodes[1], "eve")
	eve.send(`{"type":"join","room":"r","since":%d}`, offsets[1])
	// joined before anything else about the room (§10.1), her own user_joined after the replay
	if m := eve.next("joined"); m["recovered"] != true || uint64(m["offset"].(float64)) != offsets[4] {
		t.Fatalf("eve's joined %v, want recovered at offset %d", m, offsets[4])
	}
	for i := 3; i <= 5; i++ {
		if m := eve.next("chat"); m["content"] != fmt.Sprint(i) || uint64(m["offset"].(float64)) != offsets[i-1] {
			t.Fatalf("recovered %v, want chat %d", m, i)
		}
	}
	if m := eve.next("user_joined"); m["user_id"] != "eve" {
		t.Fatalf("eve: %v", m)
	}
	ann.send(`{"type":"chat","room":"r","content":"live"}`)
	if m := eve.next("chat"); m["content"] != "live" {
		t.Fatalf("live %v", m)
	}
}

func TestClusterDeadNodeLeavesPresence(t *testing.T) {
	ns := startNATS(t)
	nodes := startClusterExpiry(t, ns, defaultCore(), time.Second, "n0", "n1")
	ann, bob := dial(t, nodes[0], "ann"), dial(t, nodes[1], "bob")
	ann.join("r")
	bob.join("r")
	ann.waitMembers("r", "ann", "bob")
	began := time.Now()
	nodes[1].link.kill() // n1's NATS link dies without a word, as with kill -9
	if m := ann.next("user_left", "user_joined"); m["user_id"] != "bob" {
		t.Fatalf("%v", m)
	}
	t.Logf("dead node gone from presence after %v (expiry 1s)", time.Since(began).Round(10*time.Millisecond))
	ann.send(`{"type":"online"}`)
	if m := ann.next("online"); m["total"].(float64) != 1 {
		t.Fatalf("online %v", m)
	}
}

func TestClusterNATSRestartMidTraffic(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, defaultCore(), "n0", "n1")
	ann, bob := dial(t, nodes[0], "ann"), dial(t, nodes[1], "bob")
	ann.join("r")
	bob.join("r")
	// once n0 has heard of bob's join, n1's room subscription is in place at the server
	// (n1 subscribes before it announces): from then on no chat of the room can miss bob
	ann.waitMembers("r", "ann", "bob")
	bob.waitMembers("r", "ann", "bob")
	ann.send(`{"type":"chat","room":"r","content":"before"}`)
	before := bob.next("chat", "user_joined")

	ns.stop()
	for _, cn := range nodes {
		deadline := time.Now().Add(waitLong)
		for !cn.link.Degraded() {
			if time.Now().After(deadline) {
				t.Fatal("not degraded")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// local service goes on
	ann.send(`{"type":"ping"}`)
	ann.next("pong", "chat", "user_joined")
	ns.start()
	for _, cn := range nodes {
		deadline := time.Now().Add(waitLong)
		for cn.link.Degraded() {
			if time.Now().After(deadline) {
				t.Fatal("still degraded")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for i := range 20 {
		c := ann
		if i%2 == 1 {
			c = bob
		}
		c.send(`{"type":"chat","room":"r","content":"after-%d"}`, i)
	}
	for _, c := range []*client{ann, bob} {
		last := before["offset"].(float64)
		seen := map[string]bool{}
		for len(seen) < 20 {
			m := c.next("chat", "user_joined", "pong")
			if m["content"] == "before" {
				continue // ann's own copy of the chat before the outage
			}
			if off := m["offset"].(float64); off <= last {
				t.Fatalf("%s: offset %v after %v", c.name, off, last)
			} else {
				last = off
			}
			if seen[m["content"].(string)] {
				t.Fatalf("%s: %v twice", c.name, m)
			}
			seen[m["content"].(string)] = true
		}
	}
	bob.send(`{"type":"members","room":"r"}`)
	if m := bob.next("members", "user_joined", "user_left"); len(m["members"].([]any)) != 2 {
		t.Fatalf("presence lost across the restart: %v", m)
	}
}

// Server-side membership (PROTOCOL.md §8.3) asked of one node reaches the user's
// connections on every node.
func TestClusterServerSideMembership(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, defaultCore(), "n0", "n1")
	ann0, ann1 := dial(t, nodes[0], "ann"), dial(t, nodes[1], "ann")
	// Until n1 has heard of ann's tab on n0, n0's subscription to ann's subject may not
	// be at the NATS server yet (it is subscribed before the presence news is sent).
	for deadline := time.Now().Add(waitLong); ; time.Sleep(10 * time.Millisecond) {
		st, err := nodes[1].node.Admin(context.Background(), core.AdminRequest{Op: core.AdminStats})
		if err == nil && st.Stats.TotalConnections == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n1 never counted ann's two tabs: %+v %v", st.Stats, err)
		}
	}
	rep, err := nodes[1].node.Admin(context.Background(), core.AdminRequest{Op: core.AdminJoinRoom, User: "ann", Room: "ops"})
	if err != nil || rep.Status != 200 || rep.Joined < 1 {
		t.Fatalf("join %+v %v", rep, err)
	}
	for _, c := range []*client{ann0, ann1} {
		if m := c.next("joined", "user_joined"); m["room"] != "ops" {
			t.Fatalf("%s: %v", c.name, m)
		}
	}
	ann0.send(`{"type":"chat","room":"ops","content":"both tabs"}`)
	for _, c := range []*client{ann0, ann1} {
		if m := c.next("chat", "user_joined"); m["content"] != "both tabs" {
			t.Fatalf("%s: %v", c.name, m)
		}
	}
	rep, err = nodes[0].node.Admin(context.Background(), core.AdminRequest{Op: core.AdminLeaveRoom, User: "ann", Room: "ops"})
	if err != nil || rep.Status != 200 || rep.Left < 1 { // 2 once n1's presence news reached n0
		t.Fatalf("leave %+v %v", rep, err)
	}
	for _, c := range []*client{ann0, ann1} {
		if m := c.next("left", "user_joined", "user_left"); m["room"] != "ops" || m["reason"] != "removed" {
			t.Fatalf("%s: %v", c.name, m)
		}
	}
}
