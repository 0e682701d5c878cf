package client_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/client"
)

// The token provider's next token is sent as `refresh` before the current one's exp:
// the connection outlives the first token, and nothing reconnects.
func TestRefreshBeforeExpiry(t *testing.T) {
	const secret = "s3cret"
	srv := startServer(t, jwtOptions(t, secret))
	var calls atomic.Int32
	ann := dial(t, srv.url(""), client.Options{Token: func(context.Context) (string, error) {
		calls.Add(1)
		return sign(t, secret, "ann", 2*time.Second), nil
	}})
	if _, err := ann.Join(ctxT(t), "lobby"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(3500 * time.Millisecond) // past the first token's exp
	for done := false; !done; {
		select {
		case ev := <-ann.Events():
			if ev.Type == client.EventState && ev.State >= client.Reconnecting || ev.Type == client.EventRefreshFailed {
				t.Fatalf("%s %v: %v", ev.Type, ev.State, ev.Err)
			}
		case <-deadline:
			done = true
		}
	}
	if calls.Load() < 2 {
		t.Fatalf("token provider called %d times: no refresh", calls.Load())
	}
	if _, err := ann.Chat(ctxT(t), "lobby", "still here"); err != nil {
		t.Fatal(err)
	}
}

// A refresh that fails is reported; the server then closes 4002 at exp, and the client
// comes straight back with a fresh token and its rooms.
func TestExpiredTokenReconnectsAtOnce(t *testing.T) {
	const secret = "s3cret"
	srv := startServer(t, jwtOptions(t, secret))
	var calls atomic.Int32
	ann := dial(t, srv.url(""), client.Options{MinDelay: time.Minute, Token: func(context.Context) (string, error) {
		if calls.Add(1) == 2 {
			return "", errors.New("backend down") // the refresh
		}
		return sign(t, secret, "ann", 2*time.Second), nil
	}})
	if _, err := ann.Join(ctxT(t), "lobby"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ann, client.EventRefreshFailed); ev.Err == nil {
		t.Fatal("refresh failure without its error")
	}
	ev := next(t, ann, client.EventState, state(client.Reconnecting))
	var ce *client.ClosedError
	if !errors.As(ev.Err, &ce) || ce.Code != 4002 || ev.RetryIn != 0 {
		t.Fatalf("reconnecting because %v after %v, want 4002 at once (MinDelay is a minute)", ev.Err, ev.RetryIn)
	}
	if rj := next(t, ann, client.EventRejoined); rj.Room != "lobby" || rj.Err != nil {
		t.Fatalf("rejoined %+v", rj)
	}
	if calls.Load() != 3 {
		t.Fatalf("token provider called %d times, want 3 (connect, refresh, reconnect)", calls.Load())
	}
}

// With AuthMessage the token travels in the `auth` first message (§8.2); a bad one is
// closed 4001 and the client stops there.
func TestAuthMessage(t *testing.T) {
	const secret = "s3cret"
	srv := startServer(t, jwtOptions(t, secret))
	ann := dial(t, srv.url(""), client.Options{AuthMessage: true, Token: func(context.Context) (string, error) {
		return sign(t, secret, "ann", time.Hour), nil
	}})
	if ann.UserID() != "ann" {
		t.Fatalf("user %q", ann.UserID())
	}
	var calls atomic.Int32
	_, err := client.Dial(ctxT(t), srv.url(""), fast(client.Options{AuthMessage: true, Token: func(context.Context) (string, error) {
		calls.Add(1)
		return sign(t, "another secret", "eve", time.Hour), nil
	}}))
	var ce *client.ClosedError
	if !errors.As(err, &ce) || ce.Code != 4001 || calls.Load() != 1 {
		t.Fatalf("forged token: %v after %d calls, want 4001 after 1", err, calls.Load())
	}
}
