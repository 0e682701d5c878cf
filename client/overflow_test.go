package client_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/client"
)

// chats sends n chats from bob to room and waits for their acks.
func chats(t *testing.T, bob *client.Client, room string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if _, err := bob.Chat(ctxT(t), room, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// drain reads the chats waiting in Events now.
func drain(c *client.Client) (got []string) {
	for {
		select {
		case ev := <-c.Events():
			if ev.Type == "chat" {
				got = append(got, ev.Content)
			}
		case <-time.After(200 * time.Millisecond):
			return got
		}
	}
}

// A reader that falls behind never stalls the connection: with DropOldest it finds the
// newest events, with DropNewest the oldest, and Dropped counts the rest.
func TestOverflowDrops(t *testing.T) {
	srv := startServer(t, nil)
	bob := dial(t, srv.url("?user=bob"), client.Options{})
	if _, err := bob.Join(ctxT(t), "r"); err != nil {
		t.Fatal(err)
	}
	for policy, want := range map[client.Overflow]string{client.DropOldest: "[4 5 6]", client.DropNewest: "[1 2 3]"} {
		ann := dial(t, srv.url("?user=ann"), client.Options{EventBuffer: 3, Overflow: policy})
		if _, err := ann.Join(ctxT(t), "r"); err != nil {
			t.Fatal(err)
		}
		drain(ann) // an empty channel of 3 before the 6 chats
		chats(t, bob, "r", 1, 6)
		if err := ann.Ping(ctxT(t)); err != nil { // every chat was read off the wire by now
			t.Fatal(err)
		}
		if got := fmt.Sprint(drain(ann)); got != want {
			t.Errorf("policy %d: ann read %s, want %s (dropped %d)", policy, got, want, ann.Dropped())
		}
		if ann.Dropped() == 0 {
			t.Errorf("policy %d: nothing counted as dropped", policy)
		}
		ann.Close()
	}
}

// With Reconnect, a full channel costs a reconnect instead of chats: the rejoin's since
// is the last chat that went into the channel, so the reader gets every chat once, in
// order, however far behind it was.
func TestOverflowReconnectLosesNoChat(t *testing.T) {
	srv := startServer(t, nil)
	bob := dial(t, srv.url("?user=bob"), client.Options{})
	ann := dial(t, srv.url("?user=ann"), client.Options{EventBuffer: 4, Overflow: client.Reconnect})
	for _, c := range []*client.Client{ann, bob} {
		if _, err := c.Join(ctxT(t), "r"); err != nil {
			t.Fatal(err)
		}
	}
	chats(t, bob, "r", 1, 20)
	var got []string
	reconnects := 0
	deadline := time.After(wait)
	for len(got) < 20 {
		select {
		case ev := <-ann.Events():
			switch {
			case ev.Type == "chat":
				got = append(got, ev.Content)
			case ev.Type == client.EventState && ev.State == client.Reconnecting:
				reconnects++
			}
			time.Sleep(5 * time.Millisecond) // a slow reader
		case <-deadline:
			t.Fatalf("ann got %v", got)
		}
	}
	want := fmt.Sprint([]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	if fmt.Sprint(got) != want {
		t.Fatalf("ann got %v", got)
	}
	if reconnects == 0 {
		t.Fatal("the channel never overflowed: the test proves nothing")
	}
}
