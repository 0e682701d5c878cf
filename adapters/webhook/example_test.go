package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/webhook"
	"github.com/switchboard-ws/switchboard/core"
)

// A webhook receiver: it checks X-Switchboard-Signature (the hex HMAC-SHA256 of the body
// with --webhook-secret) before trusting a batch, and answers 2xx once it has taken it;
// anything else is retried with the same event ids, so ids are what to deduplicate on.
func checkingReceiver(secret []byte, handle func(webhook.Event)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable", http.StatusBadRequest)
			return
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(r.Header.Get("X-Switchboard-Signature")), []byte(want)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var batch struct {
			Events []webhook.Event `json:"events"`
		}
		if err := json.Unmarshal(body, &batch); err != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		for _, ev := range batch.Events {
			handle(ev)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func Example_receiver() {
	got := make(chan webhook.Event, 10)
	srv := httptest.NewServer(checkingReceiver([]byte("s3cret"), func(ev webhook.Event) { got <- ev }))
	defer srv.Close()

	// What --webhook-url and --webhook-secret make the server do.
	s := webhook.New(webhook.Options{URL: srv.URL, Secret: "s3cret", Node: "n1"})
	at := time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)
	s.Add(core.AppEvent{Type: core.UserOnline, User: "ann", Time: at})
	s.Add(core.AppEvent{Type: core.MemberAdded, User: "ann", Room: "lobby", Time: at})
	s.Close(context.Background()) // delivers what is queued
	for range 2 {
		ev := <-got
		fmt.Println(ev.Type, ev.UserID, ev.Room, ev.Time, ev.Node)
	}
	// Output:
	// user_online ann  2026-11-27T19:00:00.000Z n1
	// member_added ann lobby 2026-11-27T19:00:00.000Z n1
}
