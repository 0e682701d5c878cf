package main

import (
	"os"
	"os/signal"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" { // a child started by startChild: be the program
		os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	}
	// The end-to-end tests stop servers with a real SIGTERM or SIGINT. This subscription keeps the
	// signal from killing the test binary should it ever arrive when no server listens.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM, syscall.SIGINT)
	goleak.VerifyTestMain(m)
}
