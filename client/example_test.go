package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-ws/switchboard/adapters/auth"
	"github.com/switchboard-ws/switchboard/adapters/nethttp"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/client"
)

// exampleServer serves a node on a loopback port for the examples, which have no
// *testing.T; stop shuts it down (1001).
func exampleServer(a *auth.Authenticator) (wsURL string, stop func()) {
	opts := defaultOptions()
	if a != nil {
		opts = withAuth(opts, a)
	}
	n := node.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: nethttp.New(n)}
	go srv.Serve(ln)
	return "ws://" + ln.Addr().String() + "/ws", func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		n.Shutdown(ctx)
		srv.Close()
	}
}

// Connect, join a room, chat, and read the room's messages from Events.
func Example() {
	url, stop := exampleServer(nil)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.Dial(ctx, url+"?user=ann", client.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if _, err := c.Join(ctx, "lobby"); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Chat(ctx, "lobby", "hello"); err != nil {
		fmt.Println(err)
		return
	}
	for ev := range c.Events() {
		if ev.Type == "chat" {
			fmt.Printf("#%s %s: %s (offset %d)\n", ev.Room, ev.Sender, ev.Content, ev.Offset)
			break
		}
	}
	// Output: #lobby ann: hello (offset 1)
}

// A refused request is an *Error with the protocol's code.
func ExampleError() {
	url, stop := exampleServer(nil)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url+"?user=ann", client.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	_, err = c.Chat(ctx, "lobby", "not a member yet")
	fmt.Println(errors.Is(err, client.ErrNotMember))
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code)
	}
	// Output:
	// true
	// not_member
}

// The token provider is asked for a token before every connection (and before the
// token's exp, to refresh it); a refused token stops the client at once.
func ExampleTokenFunc() {
	secret := []byte("example-secret")
	a, _ := auth.New(auth.Config{Mode: auth.ModeJWT, Secret: secret})
	defer a.Close()
	url, stop := exampleServer(a)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	token := func(context.Context) (string, error) { // in real life: ask your backend
		claims := jwt.MapClaims{"sub": "ann", "exp": time.Now().Add(time.Hour).Unix()}
		return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	}
	c, err := client.Dial(ctx, url, client.Options{Token: token})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("connected as", c.UserID())
	c.Close()

	forged := func(context.Context) (string, error) { return "forged", nil }
	_, err = client.Dial(ctx, url, client.Options{Token: forged})
	var ce *client.ClosedError
	fmt.Println(errors.As(err, &ce), ce.Status)
	// Output:
	// connected as ann
	// true 401
}

// Events reports the connection's life: a server restart, the reconnect, and the
// rejoin of every room with whether its missed messages were recovered.
func ExampleClient_Events() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	serve := func() func() {
		n := node.New(defaultOptions())
		l, err := net.Listen("tcp", addr)
		for i := 0; err != nil && i < 100; i++ {
			time.Sleep(20 * time.Millisecond)
			l, err = net.Listen("tcp", addr)
		}
		srv := &http.Server{Handler: nethttp.New(n)}
		go srv.Serve(l)
		return func() {
			n.Shutdown(context.Background())
			srv.Close()
		}
	}
	stop := serve()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "ws://"+addr+"/ws?user=ann", client.Options{MinDelay: 50 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Join(ctx, "lobby")

	stop() // the operator restarts the server
	stop = serve()
	defer func() { stop() }()
	reconnecting := false
	for ev := range c.Events() {
		switch ev.Type {
		case client.EventState:
			if ev.State == client.Reconnecting && !reconnecting { // later attempts may find no server yet
				reconnecting = true
				fmt.Println("reconnecting:", ev.Err)
			}
			if ev.State == client.Connected {
				fmt.Println("connected")
			}
		case client.EventRejoined:
			// A restart without --data-dir loses the room's stream: not recovered.
			fmt.Println("rejoined", ev.Room, "recovered:", ev.Recovered)
			return
		}
	}
	// Output:
	// connected
	// reconnecting: switchboard: closed by the server: 1001 Server shutting down
	// connected
	// rejoined lobby recovered: false
}
