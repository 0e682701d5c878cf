// Package client owns Switchboard's Go client: one logical session over a succession of
// WebSocket connections. It dials, identifies (a token provider called on every
// connect, and again to `refresh` before the token's `exp`), reconnects with full-jitter
// backoff by close code, rejoins every room with `since` and `epoch` and reports
// whether the room was recovered, resends unacknowledged chats with their original id
// (the server drops the duplicate, PROTOCOL.md §10.4), and answers every request through
// its context: a server `error` becomes an *Error carrying the protocol's code.
//
// It must never call user code on its read loop, never block that loop on a slow
// reader (events go through a bounded channel with an explicit Overflow policy), never
// keep an unbounded queue, and never retry after the server said no (4000, 4001, 4009,
// HTTP 400/401/403/404): those end the client with a *ClosedError saying why.
//
//	c, err := client.Dial(ctx, "ws://127.0.0.1:8080/ws", client.Options{
//		Token: func(ctx context.Context) (string, error) { return myBackend.Token(ctx) },
//	})
//	if err != nil { … } // *ClosedError when refused, ctx.Err() when it never got through
//	defer c.Close()
//	if _, err := c.Join(ctx, "lobby"); err != nil { … } // *Error{Code: "forbidden"} …
//	go func() {
//		for ev := range c.Events() { // closed when the client stops
//			switch ev.Type {
//			case "chat":
//				fmt.Println(ev.Room, ev.Sender, ev.Content)
//			case client.EventRejoined:
//				fmt.Println(ev.Room, "recovered:", ev.Recovered)
//			}
//		}
//	}()
//	res, err := c.Chat(ctx, "lobby", "hello") // res.Offset: its place in the room
package client
