// Command centrifuge is the centrifugal/centrifuge peer: a Node with its in-memory broker,
// clients that may subscribe to any channel and publish into it, and the WebSocket
// handler at /ws. It speaks Centrifuge's own JSON client protocol (connect, subscribe,
// publish; publications carry {"content":…}), which loadgen --proto centrifuge maps from
// the room chat: a room is a channel, a private message goes to the partner's channel.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/centrifugal/centrifuge"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/peerhost"
)

func main() {
	ln := peerhost.Listen()
	node, err := centrifuge.New(centrifuge.Config{LogLevel: centrifuge.LogLevelError})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
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
