package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
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

// TestReadmeExampleBuilds type-checks README.md's embedding example against the current
// packages: the snippet is laid over a package directory that exists only in a
// `go build -overlay`, so nothing is written into the tree.
func TestReadmeExampleBuilds(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	// The example is the first ```go block that is a whole program (others are snippets).
	_, rest, ok := strings.Cut(string(b), "```go\npackage ")
	code, _, ok2 := strings.Cut(rest, "```")
	code = "package " + code
	if !ok || !ok2 {
		t.Fatal("README.md has no ```go block holding a package")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	pkgDir, err := filepath.Abs("readmeexample")
	if err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(pkgDir, "main.go"): src}})
	overlayPath := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayPath, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	// go test puts its own GOROOT/bin first on the PATH, so "go" is the go running us.
	out, err := exec.Command("go", "build", "-overlay", overlayPath, "-o", os.DevNull, "./readmeexample").CombinedOutput()
	if err != nil {
		t.Fatalf("README example does not build: %v\n%s", err, out)
	}
}
