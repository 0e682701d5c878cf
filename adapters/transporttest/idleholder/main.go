// Command idleholder opens many WebSocket connections to a Switchboard server and keeps
// them idle — or, with -announce, stalled in the middle of a frame — so that the server's
// memory and goroutines per connection can be read from another process (its /metrics,
// /proc/PID/status).
//
// It must never send anything after the handshake but, with -announce N, the header of
// one text frame announcing N payload bytes and the first -send bytes of it: the point
// is connections that do nothing more. With -reconnect it follows a drain instead: each
// connection the server closes reconnects to another server at once.
//
//	switchboard --addr 127.0.0.1:8080 --max-conns 20000 --idle-timeout 1h --ping-interval 1h &
//	go run ./adapters/transporttest/idleholder -addr 127.0.0.1:8080 -n 10000
//	go run ./adapters/transporttest/idleholder -addr 127.0.0.1:8080 -n 2000 -announce 65000 -send 100
//	go run ./adapters/transporttest/idleholder -addr 127.0.0.1:8080 -n 19900 -reconnect 127.0.0.1:8081 # then SIGTERM the first
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server host:port")
	n := flag.Int("n", 10000, "connections to hold")
	path := flag.String("path", "/ws", "WebSocket path")
	hold := flag.Duration("hold", 0, "how long to hold them (0: until SIGINT/SIGTERM)")
	announce := flag.Int("announce", 0, "stall each connection in a text frame announcing this many payload bytes (0: idle; at most 65535)")
	send := flag.Int("send", 0, "with -announce: payload bytes of the frame sent before stalling")
	reconnect := flag.String("reconnect", "", "host:port: wait until the server closes every connection (a drain), reconnect each there at once, report and exit")
	flag.Parse()
	var stall []byte
	if *announce > 0 {
		// A masked text frame's header with a 16-bit length, then the first bytes.
		stall = append([]byte{0x81, 0x80 | 126, byte(*announce >> 8), byte(*announce), 1, 2, 3, 4}, make([]byte, min(*send, *announce))...)
	}

	conns := make([]net.Conn, 0, *n)
	start := time.Now()
	for i := range *n {
		c, err := dial(*addr, *path+"?user=idle"+strconv.Itoa(i))
		if err == nil && stall != nil {
			_, err = c.Write(stall)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "idleholder: connection %d: %v\n", i, err)
			os.Exit(1)
		}
		conns = append(conns, c)
	}
	state := "idle"
	if stall != nil {
		state = "stalled"
	}
	fmt.Printf("holding %d %s connections (opened in %v)\n", len(conns), state, time.Since(start).Round(time.Millisecond))
	if *reconnect != "" {
		followDrain(conns, *reconnect, *path)
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	if *hold > 0 {
		select {
		case <-sig:
		case <-time.After(*hold):
		}
	} else {
		<-sig
	}
	for _, c := range conns {
		c.Close()
	}
}

// dial does the handshake by hand and reads the 101 answer; the connected frame stays
// unread in the socket (reading it would change nothing on the server).
func dial(addr, path string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 512), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("handshake answered %s", resp.Status)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
