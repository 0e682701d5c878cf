package main

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the flags table in README.md")

const (
	readmePath = "../../README.md"
	tableBegin = "<!-- flags:begin -->\n"
	tableEnd   = "<!-- flags:end -->"
)

// TestReadmeFlags keeps README.md's flags table equal to the flag set.
func TestReadmeFlags(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, tableBegin), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", tableBegin, tableEnd)
	}
	want := markdownFlags()
	if got := readme[i+len(tableBegin) : j]; got != want {
		if *update {
			readme = readme[:i+len(tableBegin)] + want + readme[j:]
			if err := os.WriteFile(readmePath, []byte(readme), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md flags table is stale; run go test ./cmd/switchboard -run TestReadmeFlags -update\nwant:\n%s", want)
	}
}
