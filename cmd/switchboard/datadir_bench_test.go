package main

import (
	"context"
	"strconv"
	"testing"

	"github.com/coder/websocket"
)

// BenchmarkChatAck is what a client sees of --data-dir: a chat sent over a real socket
// to the real program until its ack arrives, in memory and with a data dir. "latency"
// sends the next chat only after the ack (ns/op: the round trip); "pipelined" sends
// every chat at once from one connection and reads until the last ack (ns/op: the cost
// per chat at full speed). Client and server share the machine.
//
//	go test -run '^$' -bench ChatAck -benchtime 5000x ./cmd/switchboard/
func BenchmarkChatAck(b *testing.B) {
	for _, mode := range []string{"memory", "data-dir"} {
		for _, shape := range []string{"latency", "pipelined"} {
			b.Run(mode+"/"+shape, func(b *testing.B) {
				args := []string{"--rate", "1000000000", "--burst", "1000000000"}
				if mode == "data-dir" {
					args = append(args, "--data-dir", b.TempDir())
				}
				in := start(b, args...)
				ann, _ := in.connect("/ws?user=ann")
				joinFresh(ann, "bench")
				chat := func(i int) string {
					return `{"type":"chat","room":"bench","content":"hello, this is a chat message of about a hundred bytes, as in the fan-out benchmark.","id":"` + strconv.Itoa(i) + `"}`
				}
				// awaitAck reads ann's frames (its own chats' echoes) until the ack of chat i.
				awaitAck := func(i int) {
					want := strconv.Itoa(i)
					for {
						m := ann.next()
						if m["type"] == "ack" && m["id"] == want {
							return
						}
						if m["type"] != "chat" && m["type"] != "ack" {
							b.Fatalf("got %v while waiting for ack %s", m, want)
						}
					}
				}
				b.ResetTimer()
				switch shape {
				case "latency":
					for i := 0; i < b.N; i++ {
						ann.send(chat(i))
						awaitAck(i)
					}
				case "pipelined":
					sent := make(chan error, 1)
					go func() {
						for i := 0; i < b.N; i++ {
							if err := ann.c.Write(context.Background(), websocket.MessageText, []byte(chat(i))); err != nil {
								sent <- err
								return
							}
						}
						sent <- nil
					}()
					awaitAck(b.N - 1)
					if err := <-sent; err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				ann.c.CloseNow()
			})
		}
	}
}
