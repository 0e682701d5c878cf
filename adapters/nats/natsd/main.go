// Command natsd runs a NATS server with JetStream for local Switchboard clusters (make
// cluster-demo, manual tests) where no nats-server binary is installed. It is the real
// nats-server/v2, embedded; it must never be more than that: no settings of its own
// beyond address and store directory.
//
//	go run ./adapters/nats/natsd --addr 127.0.0.1:4222 --store /tmp/sb-nats
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4222", "listen address")
	store := flag.String("store", "", "JetStream store directory (default: a new temp dir)")
	flag.Parse()
	host, portStr, err := net.SplitHostPort(*addr)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil {
		fmt.Fprintln(os.Stderr, "natsd: --addr: want HOST:PORT")
		os.Exit(2)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if *store == "" {
		if *store, err = os.MkdirTemp("", "natsd-"); err != nil {
			fmt.Fprintln(os.Stderr, "natsd:", err)
			os.Exit(1)
		}
	}
	srv, err := server.NewServer(&server.Options{Host: host, Port: port, JetStream: true, StoreDir: *store,
		MaxPayload: 8 << 20, NoSigs: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "natsd:", err)
		os.Exit(1)
	}
	srv.ConfigureLogger()
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		fmt.Fprintln(os.Stderr, "natsd: not ready")
		os.Exit(1)
	}
	fmt.Printf("nats listening on nats://%s (store %s)\n", srv.Addr(), *store)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Shutdown()
	srv.WaitForShutdown()
}
