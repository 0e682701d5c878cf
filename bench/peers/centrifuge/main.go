// Command centrifuge is the centrifugal/centrifuge peer: a Node with its in-memory broker,
// clients that may subscribe to any channel and publish into it, and the WebSocket
// handler at /ws. It speaks Centrifuge's own JSON client protocol (connect, subscribe,
// publish; publications carry {"content":…}), which loadgen --proto centrifuge maps from
// the room chat: a room is a channel, a private message goes to the partner's channel.
//
// Two configurations run as separate systems:
//
//   - default (system "centrifuge"): the library's defaults — the client writer sends as
//     soon as it can, at most 16 messages per frame.
//   - batched (system "centrifuge-batched", --write-delay 10ms --max-messages-in-frame -1):
//     the per-connection write delay and messages-per-frame limit that Centrifugo
//     documents for high message rates (client.write_delay, client.max_messages_in_frame;
//     ConnectReply.WriteDelay and MaxMessagesInFrame in the Go API): the writer collects
//     for 10 ms and sends everything queued in one frame of newline-separated messages.
//     10 ms keeps the added latency at a fifth of the bench's 50 ms p99 SLO.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"

	"github.com/centrifugal/centrifuge"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/peerhost"
)

func main() {
	writeDelay := flag.Duration("write-delay", 0, "ConnectReply.WriteDelay (Centrifugo's client.write_delay); 0: write at once")
	perFrame := flag.Int("max-messages-in-frame", 0, "ConnectReply.MaxMessagesInFrame (client.max_messages_in_frame); 0: the default 16, -1: no limit")
	ln := peerhost.Listen()
	node, err := centrifuge.New(centrifuge.Config{LogLevel: centrifuge.LogLevelError})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	node.OnConnecting(func(ctx context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		// Credentials come from the ?user= middleware below.
		return centrifuge.ConnectReply{WriteDelay: *writeDelay, MaxMessagesInFrame: *perFrame}, nil
	})
	node.OnConnect(func(c *centrifuge.Client) {
		c.OnSubscribe(func(e centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			cb(centrifuge.SubscribeReply{}, nil)
		})
		c.OnPublish(func(e centrifuge.PublishEvent, cb centrifuge.PublishCallback) {
			cb(centrifuge.PublishReply{}, nil)
		})
	})
	if err := node.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ws := centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{MessageSizeLimit: 65536})
	// Identity, as the other servers take it: ?user=ID.
	auth := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := centrifuge.SetCredentials(r.Context(), &centrifuge.Credentials{UserID: r.URL.Query().Get("user")})
			h.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	mux := http.NewServeMux()
	peerhost.Mount(mux)
	mux.Handle("/ws", auth(ws))
	srv := &http.Server{Handler: mux}
	srv.Serve(ln)
	node.Shutdown(context.Background())
}
