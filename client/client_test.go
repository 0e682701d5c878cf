package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/client"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// fast are options for tests: quick backoff, no client pings unless asked.
func fast(o client.Options) client.Options {
	if o.MinDelay == 0 {
		o.MinDelay = 20 * time.Millisecond
	}
	if o.MaxDelay == 0 {
		o.MaxDelay = 100 * time.Millisecond
	}
	if o.PingInterval == 0 {
		o.PingInterval = -1
	}
	return o
}

func dial(t *testing.T, url string, o client.Options) *client.Client {
	t.Helper()
	c, err := client.Dial(ctxT(t), url, fast(o))
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// next reads events until one of type typ (and, when given, matching ok) and returns it.
func next(t *testing.T, c *client.Client, typ string, ok ...func(client.Event) bool) client.Event {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ev, open := <-c.Events():
			if !open {
				t.Fatalf("events closed while waiting for %s (err %v)", typ, c.Err())
			}
			if ev.Type == typ && (len(ok) == 0 || ok[0](ev)) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

func state(s client.State) func(client.Event) bool {
	return func(ev client.Event) bool { return ev.State == s }
}

// Both formats carry the whole conversation: join, chat with its offset, members,
// online, ping, private, broadcast; the sender's own chat comes back as an event.
func TestConversation(t *testing.T) {
	srv := startServer(t, nil)
	for _, f := range []client.Format{client.JSON, client.Msgpack} {
		t.Run(f.String(), func(t *testing.T) {
			ctx := ctxT(t)
			room := "lobby-" + f.String()
			ann := dial(t, srv.url("?user=ann"), client.Options{Format: f})
			bob := dial(t, srv.url("?user=bob"), client.Options{Format: f})
			if ann.UserID() != "ann" {
				t.Fatalf("user %q", ann.UserID())
			}
			for _, c := range []*client.Client{ann, bob} {
				j, err := c.Join(ctx, room)
				if err != nil {
					t.Fatal(err)
				}
				if j.Epoch == "" || j.Offset != 0 || j.Recovered {
					t.Fatalf("join of a new room: %+v, want an epoch, offset 0, not recovered", j)
				}
			}
			res, err := ann.Chat(ctx, room, "hello")
			if err != nil {
				t.Fatal(err)
			}
			got := next(t, bob, "chat")
			if got.Room != room || got.Sender != "ann" || got.Content != "hello" || got.Offset == 0 || got.Timestamp.IsZero() {
				t.Fatalf("bob got %+v", got)
			}
			if res.Offset != got.Offset {
				t.Fatalf("ack offset %d, delivered offset %d", res.Offset, got.Offset)
			}
			if mine := next(t, ann, "chat"); mine.Content != "hello" {
				t.Fatalf("ann's own chat: %+v", mine)
			}
			members, err := bob.Members(ctx, room)
			if err != nil || fmt.Sprint(members) != "[ann bob]" {
				t.Fatalf("members %v, %v", members, err)
			}
			users, total, err := bob.Online(ctx)
			if err != nil || fmt.Sprint(users) != "[ann bob]" || total != 2 {
				t.Fatalf("online %v %d, %v", users, total, err)
			}
			if err := ann.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			if err := ann.Private(ctx, "bob", "psst"); err != nil {
				t.Fatal(err)
			}
			if p := next(t, bob, "private"); p.Sender != "ann" || p.To != "bob" || p.Content != "psst" {
				t.Fatalf("private %+v", p)
			}
			if err := ann.Broadcast(ctx, "all hands"); err != nil {
				t.Fatal(err)
			}
			if b := next(t, bob, "broadcast"); b.Sender != "ann" || b.Content != "all hands" {
				t.Fatalf("broadcast %+v", b)
			}
			if err := ann.SendEvent(ctx, room, "typing", "…"); err != nil {
				t.Fatal(err)
			}
			if e := next(t, bob, "event"); e.Sender != "ann" || e.Event != "typing" || e.Room != room || e.Content != "…" || e.Offset != 0 {
				t.Fatalf("event %+v", e)
			}
			if err := bob.Leave(ctx, room); err != nil {
				t.Fatal(err)
			}
			if l := next(t, ann, "user_left"); l.UserID != "bob" || l.Room != room {
				t.Fatalf("user_left %+v", l)
			}
			if fmt.Sprint(bob.Rooms()) != "[]" || fmt.Sprint(ann.Rooms()) != "["+room+"]" {
				t.Fatalf("rooms: bob %v, ann %v", bob.Rooms(), ann.Rooms())
			}
		})
	}
}

// A refused request is an *Error with the protocol's code; a request that cannot be
// answered in time ends with its context.
func TestTypedErrors(t *testing.T) {
	srv := startServer(t, func() node.Options {
		o := defaultOptions()
		o.Core.AllowClientBroadcast = false
		return o
	})
	ctx := ctxT(t)
	ann := dial(t, srv.url("?user=ann"), client.Options{})
	_, err := ann.Chat(ctx, "nowhere", "hi")
	var e *client.Error
	if !errors.As(err, &e) || e.Code != "not_member" || !errors.Is(err, client.ErrNotMember) {
		t.Fatalf("chat outside the room: %v", err)
	}
	if err := ann.Private(ctx, "nobody", "hi"); !errors.Is(err, client.ErrUserOffline) {
		t.Fatalf("private to nobody: %v", err)
	}
	if err := ann.Broadcast(ctx, "hi"); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("broadcast when not allowed: %v", err)
	}
	if _, err := ann.Join(ctx, "bad room!"); !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("join with a bad name: %v", err)
	}
	if len(ann.Rooms()) != 0 {
		t.Fatalf("a refused join is remembered: %v", ann.Rooms())
	}
	// With the server gone, a request waits for a connection until its deadline.
	srv.down()
	next(t, ann, client.EventState, state(client.Reconnecting))
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := ann.Ping(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ping with the server down: %v", err)
	}
}

// The server restarts (1001 Server shutting down): the client reconnects by itself,
// joins its rooms again, says whether they were recovered (a restarted server without a
// data dir has a new epoch: not recovered), and hears the room on the new server.
func TestReconnectAcrossServerRestart(t *testing.T) {
	srv := startServer(t, nil)
	ctx := ctxT(t)
	ann := dial(t, srv.url("?user=ann"), client.Options{})
	if _, err := ann.Join(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	if _, err := ann.Chat(ctx, "lobby", "before"); err != nil {
		t.Fatal(err)
	}
	next(t, ann, "chat")

	srv.restart()
	ev := next(t, ann, client.EventState, state(client.Reconnecting))
	var ce *client.ClosedError
	if !errors.As(ev.Err, &ce) || ce.Code != 1001 || ce.Reason != "Server shutting down" {
		t.Fatalf("reconnecting because %v, want 1001 Server shutting down", ev.Err)
	}
	next(t, ann, client.EventState, state(client.Connected))
	rj := next(t, ann, client.EventRejoined)
	if rj.Room != "lobby" || rj.Err != nil || rj.Recovered {
		t.Fatalf("rejoined %+v: want lobby, not recovered (the new server lost the stream)", rj)
	}
	bob := dial(t, srv.url("?user=bob"), client.Options{})
	members, err := bob.Members(ctx, "lobby")
	if err != nil || fmt.Sprint(members) != "[ann]" {
		t.Fatalf("members on the new server %v, %v", members, err)
	}
	if _, err := bob.Join(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Chat(ctx, "lobby", "after"); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ann, "chat"); got.Content != "after" || got.Sender != "bob" {
		t.Fatalf("after the restart ann got %+v", got)
	}
}

// An rpc goes to the application's backend through the server (§9.1); with none
// configured the answer is the error `unavailable`, in either format, matched to the
// call by its id.
func TestRPCWithoutBackend(t *testing.T) {
	srv := startServer(t, nil)
	for _, f := range []client.Format{client.JSON, client.Msgpack} {
		ann := dial(t, srv.url("?user=ann"), client.Options{Format: f})
		_, err := ann.RPC(ctxT(t), "profile", map[string]any{"id": 7, "tags": []string{"a"}})
		var e *client.Error
		if !errors.As(err, &e) || e.Code != "unavailable" || e.ID == "" {
			t.Fatalf("%v: rpc without a backend: %v, want error unavailable with the request's id", f, err)
		}
		ann.Close()
	}
}

// An rpc reaches the application's backend (§9.1) with its data, in either format,
// and comes back with the backend's result as JSON; a refusal is an *Error with the
// backend's code.
func TestRPCToBackend(t *testing.T) {
	srv := startServer(t, func() node.Options {
		o := defaultOptions()
		o.Hooks = &node.Hooks{RPC: func(_ context.Context, q node.RPCQuery) (json.RawMessage, error) {
			if q.Method != "add" {
				return nil, &node.Refusal{Code: "forbidden", Message: "not for you"}
			}
			var in struct{ A, B int }
			if err := json.Unmarshal(q.Data, &in); err != nil {
				return nil, err
			}
			return json.Marshal(map[string]any{"sum": in.A + in.B, "user": q.User})
		}}
		return o
	})
	for _, f := range []client.Format{client.JSON, client.Msgpack} {
		ann := dial(t, srv.url("?user=ann"), client.Options{Format: f})
		res, err := ann.RPC(ctxT(t), "add", map[string]int{"a": 2, "b": 3})
		if err != nil || string(res) != `{"sum":5,"user":"ann"}` {
			t.Fatalf("%v: rpc add: %s, %v", f, res, err)
		}
		if _, err := ann.RPC(ctxT(t), "drop", nil); !errors.Is(err, client.ErrForbidden) {
			t.Fatalf("%v: refused rpc: %v", f, err)
		}
		ann.Close()
	}
}
