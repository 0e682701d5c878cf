// Command nbio is the lesismal/nbio peer in non-blocking mode: nbio's pollers read every
// connection (no goroutine per connection), handlers run on its executor, rooms live in a
// roster, and each room message is encoded once and written with Conn.WriteMessage to
// each member (nbio queues what the socket cannot take). Configuration: nbhttp.Config
// with IOMod IOModNonBlocking (its mode for many connections), everything else default;
// the Upgrader's MessageLengthLimit 64 KiB. It speaks bench/peers/internal/chatwire.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/peerhost"
	"github.com/switchboard-ws/switchboard/bench/peers/internal/roster"
)

func main() {
	flagAddr := peerhost.Addr
	rs := roster.New[*websocket.Conn]()
	userOf := func(c *websocket.Conn) string { s, _ := c.Session().(string); return s }
	write := func(c *websocket.Conn, b []byte) { c.WriteMessage(websocket.TextMessage, b) }

	up := websocket.NewUpgrader()
	up.MessageLengthLimit = 65536
	up.OnClose(func(c *websocket.Conn, err error) { rs.Disconnect(userOf(c), c) })
	up.OnMessage(func(c *websocket.Conn, _ websocket.MessageType, b []byte) { rs.Handle(b, c, userOf(c), write, nil) })

	mux := http.NewServeMux()
	peerhost.Mount(mux)
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		user := r.URL.Query().Get("user")
		c.SetSession(user)
		rs.Connect(user, c)
	})

	flag.Parse()
	eng := nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{*flagAddr},
		Handler: mux,
		IOMod:   nbhttp.IOModNonBlocking,
		Listen: func(network, addr string) (net.Listener, error) {
			ln, err := net.Listen(network, addr)
			if err == nil {
				peerhost.Announce(ln.Addr())
			}
			return ln, err
		},
	})
	if err := eng.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	eng.Stop()
}
