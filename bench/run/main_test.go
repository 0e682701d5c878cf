package main

import (
	"slices"
	"testing"
)

func TestKeepListed(t *testing.T) {
	jobs := []job{{scenario: "fanout"}, {scenario: "idle"}, {scenario: "storm"}, {scenario: "fanout"}}
	got := keepListed(jobs, "storm,fanout", func(j job) string { return j.scenario })
	var names []string
	for _, j := range got {
		names = append(names, j.scenario)
	}
	if want := []string{"fanout", "storm", "fanout"}; !slices.Equal(names, want) {
		t.Fatalf("kept %q, want %q", names, want)
	}
}

// Switchboard's idle runs serve pprof on a port of their own (--debug-addr) and loadgen
// forces its GCs there; every other run keeps the server's flags as they are.
func TestDebugArgsOnlyForSwitchboardIdle(t *testing.T) {
	var sw, peer system
	for _, s := range systems("bin") {
		switch s.name {
		case "switchboard-epoll":
			sw = s
		case "nbio":
			peer = s
		}
	}
	srv, lg, err := debugArgs(sw, job{scenario: "idle"})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(srv, "--debug-addr")
	if i < 0 || i+1 >= len(srv) || len(lg) != 2 || lg[0] != "--gc-url" || lg[1] != "http://"+srv[i+1]+"/debug/pprof/heap?gc=1" {
		t.Fatalf("switchboard idle: server %q loadgen %q", srv, lg)
	}
	for _, c := range []struct {
		s system
		j job
	}{{sw, job{scenario: "fanout"}}, {peer, job{scenario: "idle"}}} {
		srv, lg, err := debugArgs(c.s, c.j)
		if err != nil || slices.Contains(srv, "--debug-addr") || lg != nil {
			t.Errorf("%s %s: server %q loadgen %q err %v", c.s.name, c.j.scenario, srv, lg, err)
		}
		if want := append([]string{"--addr", "127.0.0.1:0"}, c.s.args...); !slices.Equal(srv, want) {
			t.Errorf("%s %s: server args %q, want %q", c.s.name, c.j.scenario, srv, want)
		}
	}
}
