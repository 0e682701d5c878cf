// Command idleholder opens many WebSocket connections to a Switchboard server and keeps
// them idle, so that the server's memory and goroutines per idle connection can be read
// from another process (its /metrics, /proc/PID/status).
//
// It must never send anything after the handshake: the point is idle connections.
//
//	switchboard --addr 127.0.0.1:8080 --max-conns 20000 --idle-timeout 1h --ping-interval 1h &
//	go run ./adapters/transporttest/idleholder -addr 127.0.0.1:8080 -n 10000
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
	flag.Parse()

	conns := make([]net.Conn, 0, *n)
	start := time.Now()
	for i := range *n {
		c, err := dial(*addr, *path+"?user=idle"+strconv.Itoa(i))
		if err != nil {
			fmt.Fprintf(os.Stderr, "idleholder: connection %d: %v\n", i, err)
			os.Exit(1)
		}
		conns = append(conns, c)
	}
	fmt.Printf("holding %d idle connections (opened in %v)\n", len(conns), time.Since(start).Round(time.Millisecond))
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
