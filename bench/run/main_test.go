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
