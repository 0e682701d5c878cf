package core

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// TestClusterTranscripts runs every core/testdata/cluster_*.txt: several hubs, each a
// node of one cluster, on the in-memory bus (cluster_test.go), which sequences room
// chats as the cluster's stream does. Nothing travels between nodes until the transcript
// says so, so every interleaving can be written down. Directives:
//
//	config history=3 max-per-user=2     every node's configuration (before node)
//	node a b                            start nodes a and b
//	connect a ann user=ann              connection ann on node a (grants as in transcripts)
//	recv ann                            ann sends each input line
//	disconnect ann
//	admin a op=publish room=r content=x an operator request to node a
//	pending                             what is on its way, in order
//	deliver [count=N]                   deliver what is on its way now (or its first N)
//	stabilize                           deliver until nothing is on its way
//	heartbeat                           every node tells every other it is alive
//	epoch E                             the cluster's stream is E (a new one: it was lost)
//	kill b                              node b dies: it says and hears nothing more
//	expire b                            the others' links report b gone and drop its presence
//	tick 5s                             the clock moves on 5s; every live node ticks
//	sync c                              c (started late) gets every other node's snapshot
//
// App events print as `a app user_online user=ann id=user_online-1a2b3c4d at=5.004s`
// (the emitting node, the first 8 hex digits of the ID, the time since the start).
//
// Each prints what the hubs did: frames (`ann bob <- {…}`, without timestamps), closes,
// admin replies (`a reply 200 {…}`) and what a node tells the cluster (`a -> Publish
// room=r …`). Regenerate with `go test ./core -run TestClusterTranscripts -rewrite`.
func TestClusterTranscripts(t *testing.T) {
	files, err := fs.Glob(transcripts, "testdata/cluster_*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cluster transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(file, "testdata/"), ".txt"), func(t *testing.T) {
			s := &clusterScript{}
			s.reset(t, defaultConfig())
			if rewriting() && runtime.GOOS != "js" {
				datadriven.RunTest(t, file, s.run)
				return
			}
			data, err := transcripts.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			datadriven.RunTestFromString(t, string(data), s.run)
		})
	}
}

// clusterScript is the state of one cluster transcript: the bus and the names the file
// gives to connections ("node/id" ↔ name).
type clusterScript struct {
	bus   *bus
	w     *strings.Builder
	ids   map[string]nodeConn
	names map[nodeConn]string
	next  map[string]ConnID
	ref   uint64
}

func (s *clusterScript) reset(t *testing.T, cfg Config) {
	s.bus = newBus(t, cfg)
	s.bus.print = s.print
	s.ids, s.names, s.next = map[string]nodeConn{}, map[nodeConn]string{}, map[string]ConnID{}
}

func (s *clusterScript) run(t *testing.T, td *datadriven.TestData) string {
	var w strings.Builder
	s.w = &w
	b := s.bus
	b.t = t
	arg := func(i int) string {
		if len(td.CmdArgs) <= i {
			td.Fatalf(t, "%s: missing argument %d", td.Cmd, i+1)
		}
		return td.CmdArgs[i].Key
	}
	conn := func(name string) nodeConn {
		k, ok := s.ids[name]
		if !ok {
			td.Fatalf(t, "no connection %q", name)
		}
		return k
	}
	node := func(name string) string {
		if b.hubs[name] == nil {
			td.Fatalf(t, "no node %q", name)
		}
		return name
	}
	switch td.Cmd {
	case "config":
		s.reset(t, scanConfig(t, td))
		return "ok"
	case "node":
		for _, a := range td.CmdArgs {
			b.addNode(a.Key)
		}
		return "ok"
	case "connect":
		n, name := node(arg(0)), arg(1)
		s.next[n]++
		k := nodeConn{n, s.next[n]}
		s.ids[name], s.names[k] = k, name
		ident := scanIdentity(t, td)
		b.step(n, Event{Kind: EventConnect, Conn: k.conn, Identity: ident, Format: proto.JSON})
	case "recv":
		k := conn(arg(0))
		for _, line := range strings.Split(td.Input, "\n") {
			b.step(k.node, Event{Kind: EventFrame, Conn: k.conn, Payload: []byte(line)})
		}
	case "disconnect":
		k := conn(arg(0))
		b.step(k.node, Event{Kind: EventDisconnect, Conn: k.conn, Code: CloseNormal})
	case "admin":
		s.ref++
		b.step(node(arg(0)), Event{Kind: EventAdmin, Admin: scanAdmin(t, td, s.ref)})
	case "pending":
		for _, q := range b.queue {
			about := q.from // whose connections the message names
			if about == "js" {
				about = q.node // an answer about the receiver's own
			}
			fmt.Fprintf(&w, "%s -> %s: %s\n", q.from, q.node, s.describe(about, q.ev))
		}
	case "deliver":
		n := len(b.queue)
		td.MaybeScanArgs(t, "count", &n)
		for ; n > 0 && len(b.queue) > 0; n-- {
			b.deliverAt(0)
		}
	case "stabilize":
		b.settle()
	case "heartbeat":
		for _, from := range b.names {
			for _, n := range b.names {
				if n != from {
					b.queue = append(b.queue, queued{n, from, RemoteAlive{Node: from}})
				}
			}
		}
	case "epoch":
		b.seq, b.log, b.dedupe = 0, map[string][]ClusterChat{}, map[string]uint64{}
		for _, n := range b.names {
			b.step(n, Event{Kind: EventCluster, Cluster: RemoteEpoch{Epoch: arg(0)}})
		}
	case "kill":
		dead := node(arg(0))
		b.names = slices.DeleteFunc(b.names, func(n string) bool { return n == dead })
		b.queue = slices.DeleteFunc(b.queue, func(q queued) bool { return q.node == dead || q.from == dead })
	case "expire":
		s.expire(t, node(arg(0)))
	case "sync":
		s.sync(node(arg(0)))
	case "tick":
		d, err := time.ParseDuration(arg(0))
		if err != nil {
			td.Fatalf(t, "tick: %v", err)
		}
		b.now = b.now.Add(d)
		for _, n := range b.names {
			b.step(n, Event{Kind: EventTick})
		}
	default:
		td.Fatalf(t, "unknown command %q", td.Cmd)
	}
	if w.Len() == 0 {
		return "(nothing)"
	}
	return w.String()
}

// expire tells every other node's link that dead is gone, as the broker does once a node
// was silent past its expiry: RemoteGone, then its room counts drop to zero, then its
// connections close.
func (s *clusterScript) expire(t *testing.T, dead string) {
	b, h := s.bus, s.bus.hubs[dead]
	evs := []ClusterEvent{RemoteGone{Node: dead}} // first, as the broker's dropNode
	for _, name := range h.sortedRooms() {
		r := h.rooms[name]
		var users []string
		for _, c := range r.members.slots {
			if c != nil && !slices.Contains(users, c.user.id) {
				users = append(users, c.user.id)
			}
		}
		slices.Sort(users)
		for _, u := range users {
			evs = append(evs, RemoteRoomPresence{Node: dead, Room: name, User: u})
		}
	}
	ids := make([]ConnID, 0, len(h.conns))
	for id := range h.conns {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		evs = append(evs, RemoteConn{Node: dead, User: h.conns[id].user.id, Conn: id})
	}
	for _, n := range b.names {
		if n == dead {
			t.Fatalf("expire %s: kill it first", dead)
		}
		for _, ev := range evs {
			b.step(n, Event{Kind: EventCluster, Cluster: ev})
		}
	}
}

// sync gives node what the link gives a node that starts: each other live node's
// presence, as its snapshot (alive, then its connections, then its room counts).
func (s *clusterScript) sync(node string) {
	b := s.bus
	for _, from := range b.names {
		if from == node {
			continue
		}
		h := b.hubs[from]
		p := h.peers.(*cluster)
		evs := []ClusterEvent{RemoteAlive{Node: from}}
		ids := make([]ConnID, 0, len(h.conns))
		for id := range h.conns {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			evs = append(evs, RemoteConn{Node: from, User: h.conns[id].user.id, Conn: id, Order: p.opened[id], Open: true})
		}
		var rooms []nodeRoomUser
		for k := range p.since {
			if k.node == from {
				rooms = append(rooms, k)
			}
		}
		slices.SortFunc(rooms, func(x, y nodeRoomUser) int { return strings.Compare(x.room+"\x00"+x.user, y.room+"\x00"+y.user) })
		for _, k := range rooms {
			n := 0
			for _, c := range h.users[k.user].conns {
				if c.roomIndex(h.rooms[k.room]) >= 0 {
					n++
				}
			}
			evs = append(evs, RemoteRoomPresence{Node: from, Room: k.room, User: k.user, Count: n, Began: p.since[k]})
		}
		for _, ev := range evs {
			b.step(node, Event{Kind: EventCluster, Cluster: ev})
		}
	}
}

// print writes one action of node's hub.
func (s *clusterScript) print(node string, a *Action) {
	switch a.Kind {
	case ActionDeliver:
		var w strings.Builder
		writeDeliver(s.bus.t, &w, a, func(id ConnID) (string, proto.Format) {
			return s.names[nodeConn{node, id}], proto.JSON
		})
		s.w.WriteString(timestamp.ReplaceAllString(w.String(), ""))
	case ActionClose:
		fmt.Fprintf(s.w, "close %s %d %q\n", s.names[nodeConn{node, a.Conn}], a.Code, a.Reason)
	case ActionAdminReply:
		fmt.Fprintf(s.w, "%s reply %d %s\n", node, a.Reply.Status, adminBody(s.bus.t, a.Reply))
	case ActionCluster:
		fmt.Fprintf(s.w, "%s -> %s\n", node, s.describe(node, a.Cluster))
	case ActionAppEvent:
		ev := a.App
		fmt.Fprintf(s.w, "%s app %s", node, ev.Type)
		if ev.User != "" {
			fmt.Fprintf(s.w, " user=%s", ev.User)
		}
		if ev.Room != "" {
			fmt.Fprintf(s.w, " room=%s", ev.Room)
		}
		id := ev.ID
		if i := strings.LastIndexByte(id, '-'); i >= 0 && len(id) >= i+9 {
			id = id[:i+9]
		}
		fmt.Fprintf(s.w, " id=%s at=%s\n", id, ev.Time.Sub(start))
	}
}

// describe renders a cluster message as its type and its non-zero fields; times and
// connection orders (clock readings) are left out, connections are named.
func (s *clusterScript) describe(from string, msg any) string {
	v := reflect.ValueOf(msg)
	name := strings.TrimPrefix(strings.TrimPrefix(v.Type().Name(), "Cluster"), "Remote")
	parts := []string{name}
	for i := 0; i < v.NumField(); i++ {
		f, fv := v.Type().Field(i), v.Field(i)
		if fv.IsZero() || f.Name == "Time" || f.Name == "Order" || f.Name == "Began" {
			continue
		}
		var val string
		switch x := fv.Interface().(type) {
		case []byte:
			val = fmt.Sprintf("%q", x)
		case ConnID:
			node := from
			if n := v.FieldByName("Node"); n.IsValid() && n.String() != "" {
				node = n.String()
			}
			if name, ok := s.names[nodeConn{node, x}]; ok {
				val = name
			} else {
				val = fmt.Sprint(x)
			}
		case []ClusterChat:
			var offs []string
			for _, c := range x {
				offs = append(offs, fmt.Sprint(c.Offset))
			}
			val = "[" + strings.Join(offs, " ") + "]"
		case string:
			val = fmt.Sprintf("%q", x)
			if !strings.ContainsAny(x, " \"\x00") {
				val = x
			}
		case bool:
			parts = append(parts, strings.ToLower(f.Name))
			continue
		case uint64:
			val = fmt.Sprint(x)
			if f.Name == "Ref" && x&chatRef != 0 {
				val = fmt.Sprintf("chat-%d", x&^chatRef) // a client chat's, not an admin's
			}
		default:
			val = fmt.Sprint(x)
		}
		parts = append(parts, strings.ToLower(f.Name)+"="+val)
	}
	return strings.Join(parts, " ")
}

// adminBody is an admin reply's body as the HTTP API sends it.
func adminBody(t tb, rep *AdminReply) string {
	body, err := json.Marshal(rep.Body())
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
