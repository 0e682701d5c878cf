package main

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

const (
	protocolPath = "../../PROTOCOL.md"
	moduleRoot   = "../.."
	// closeCodesFile is the one file that may define close codes (core.CloseReasons).
	closeCodesFile = "core/hub.go"
)

// spec is what the tests below read from PROTOCOL.md: its close-code table (§5 plus the
// v2 "Close codes added" line), its error codes (§4's list, the v2 "Error codes added"
// line, and any code an example frame names, such as §7's history_gap) and its flags
// (§1's table, in any column, plus the v2 "Flags added" line).
type spec struct {
	closeReasons map[uint16][]string // "" for a code sent without a reason (— in §5)
	errorCodes   map[string]bool
	flags        map[string]bool
}

var (
	backticked = regexp.MustCompile("`([^`]*)`")
	flagName   = regexp.MustCompile(`--([a-z][a-z0-9-]*)`)
	codeInJSON = regexp.MustCompile(`"code":"([a-z_]+)"`)
	// v2Close matches one entry of the v2 line, e.g. `1008 Message timeout`.
	v2Close = regexp.MustCompile("`(\\d{4}) ([^`]+)`")
)

func readSpec(t *testing.T) spec {
	t.Helper()
	b, err := os.ReadFile(protocolPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	s := spec{closeReasons: map[uint16][]string{}, errorCodes: map[string]bool{}, flags: map[string]bool{}}

	for _, row := range tableRows(t, section(t, doc, "## 5. Close codes")) {
		code, err := strconv.ParseUint(row[0], 10, 16)
		if err != nil {
			t.Fatalf("§5 row %q: code: %v", row, err)
		}
		var reasons []string
		for r := range strings.SplitSeq(row[1], " / ") {
			r = strings.Trim(strings.TrimSpace(r), "`")
			if r == "—" {
				r = ""
			}
			reasons = append(reasons, r)
		}
		s.closeReasons[uint16(code)] = reasons
	}
	for _, m := range v2Close.FindAllStringSubmatch(sentence(t, doc, "Close codes added by v2:"), -1) {
		code, _ := strconv.ParseUint(m[1], 10, 16)
		s.closeReasons[uint16(code)] = append(s.closeReasons[uint16(code)], m[2])
	}

	for _, lead := range []string{"Error codes:", "Error codes added:"} {
		for _, m := range backticked.FindAllStringSubmatch(sentence(t, doc, lead), -1) {
			s.errorCodes[m[1]] = true
		}
	}
	for _, m := range codeInJSON.FindAllStringSubmatch(doc, -1) {
		s.errorCodes[m[1]] = true
	}

	for _, row := range tableRows(t, tableAfter(t, doc, "| flag | default | meaning |")) {
		// a flag's own row, or named in another's (--jwt-secret in --auth's)
		for _, m := range flagName.FindAllStringSubmatch(strings.Join(row, " "), -1) {
			s.flags[m[1]] = true
		}
	}
	for _, m := range flagName.FindAllStringSubmatch(sentence(t, doc, "Flags added:"), -1) {
		s.flags[m[1]] = true
	}

	// The parse itself must have worked: a reworded heading must fail here, not make
	// every check below vacuous.
	if r := s.closeReasons[core.CloseKicked]; !slices.Equal(r, []string{"Kicked"}) ||
		!s.errorCodes["bad_request"] || !s.errorCodes["unavailable"] ||
		!s.flags["addr"] || !s.flags["burst"] || !s.flags["drain-rate"] {
		t.Fatalf("PROTOCOL.md parsed into an unexpected shape: %+v", s)
	}
	return s
}

// section returns doc from the heading to the next heading of level 2.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, heading+"\n")
	if i < 0 {
		t.Fatalf("PROTOCOL.md has no %q", heading)
	}
	rest := doc[i+len(heading):]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// tableAfter returns doc from the table header line on.
func tableAfter(t *testing.T, doc, header string) string {
	t.Helper()
	i := strings.Index(doc, header)
	if i < 0 {
		t.Fatalf("PROTOCOL.md has no table %q", header)
	}
	return doc[i:]
}

// tableRows returns the cells of the first Markdown table in text, without its header
// and separator rows.
func tableRows(t *testing.T, text string) [][]string {
	t.Helper()
	var rows [][]string
	started := false
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(line, "|") {
			if started {
				break
			}
			continue
		}
		started = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if len(rows) < 3 {
		t.Fatalf("no table rows in %.80q", text)
	}
	return rows[2:]
}

// sentence returns the text from lead to the next period that ends a sentence.
func sentence(t *testing.T, doc, lead string) string {
	t.Helper()
	i := strings.Index(doc, lead)
	if i < 0 {
		t.Fatalf("PROTOCOL.md has no %q", lead)
	}
	rest := doc[i+len(lead):]
	if j := strings.Index(rest, ". "); j >= 0 {
		rest = rest[:j]
	} else if j := strings.Index(rest, ".\n"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// TestProtocolCloseCodes: every close code the code defines is in PROTOCOL.md with the
// very reasons the code sends with it (1006 excepted: RFC 6455 §7.4.1 forbids sending it,
// it only names a socket that broke).
func TestProtocolCloseCodes(t *testing.T) {
	s := readSpec(t)
	for code, reasons := range core.CloseReasons {
		if code == core.CloseAbnormal {
			continue
		}
		want, ok := s.closeReasons[code]
		if !ok {
			t.Errorf("close code %d is not in PROTOCOL.md §5 or the v2 additions", code)
			continue
		}
		got := slices.Sorted(slices.Values(reasons))
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("close code %d: the code sends reasons %q, PROTOCOL.md says %q", code, got, want)
		}
	}
}

// TestCloseCodesDefinedOnce: no package declares a close-code constant (Close… = 1000–4999)
// except closeCodesFile, and every one declared there is in core.CloseReasons.
func TestCloseCodesDefinedOnce(t *testing.T) {
	seen := 0
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(moduleRoot, path)
		if d.IsDir() {
			if rel != "." && (rel == "bench" || strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir // bench is its own module; the others hold no Go
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					code, ok := closeCodeConst(name.Name, vs.Values, i)
					if !ok {
						continue
					}
					seen++
					if filepath.ToSlash(rel) != closeCodesFile {
						t.Errorf("%s defines close code %s = %d: close codes live in %s only", rel, name.Name, code, closeCodesFile)
					} else if _, ok := core.CloseReasons[code]; !ok {
						t.Errorf("%s = %d is missing from core.CloseReasons", name.Name, code)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < len(core.CloseReasons) {
		t.Fatalf("found %d close-code constants, want at least %d: the scan is broken", seen, len(core.CloseReasons))
	}
}

// closeCodeConst reports whether the i-th name of a const spec is a close code: named
// Close… and given an integer literal from 1000 to 4999.
func closeCodeConst(name string, values []ast.Expr, i int) (uint16, bool) {
	if !strings.HasPrefix(name, "Close") || i >= len(values) {
		return 0, false
	}
	lit, ok := values[i].(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return 0, false
	}
	v, err := strconv.ParseUint(lit.Value, 0, 16)
	if err != nil || v < 1000 || v > 4999 {
		return 0, false
	}
	return uint16(v), true
}

// TestProtocolErrorCodes: every error code the core can send is one PROTOCOL.md names.
func TestProtocolErrorCodes(t *testing.T) {
	s := readSpec(t)
	n := 0
	for c := proto.BadRequest; c.String() != "unknown_code"; c++ {
		n++
		if !s.errorCodes[c.String()] {
			t.Errorf("error code %q is not in PROTOCOL.md", c)
		}
	}
	if n < 8 {
		t.Fatalf("only %d error codes found in proto: the enumeration walk is broken", n)
	}
}

// TestProtocolFlags: every flag the binary defines is documented in PROTOCOL.md.
func TestProtocolFlags(t *testing.T) {
	s := readSpec(t)
	var cfg config
	newFlagSet(&cfg).VisitAll(func(f *flag.Flag) {
		if !s.flags[f.Name] {
			t.Errorf("--%s is not documented in PROTOCOL.md (§1's table or the v2 \"Flags added\" line)", f.Name)
		}
	})
}

// TestProtocolFlagDefaults: the defaults the binary's flags take (from core.DefaultConfig,
// node's defaults and flags.go) are the ones §1's table documents.
func TestProtocolFlagDefaults(t *testing.T) {
	b, err := os.ReadFile(protocolPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg config
	fs := newFlagSet(&cfg)
	docDefault := map[string]string{}
	for _, fi := range flagOrder {
		docDefault[fi.name] = fi.docDflt
	}
	checked := 0
	for _, row := range tableRows(t, tableAfter(t, string(b), "| flag | default | meaning |")) {
		names := flagName.FindAllStringSubmatch(row[0], -1)
		dflts := strings.Split(row[1], " / ") // `--rate` / `--burst` | 50 / 100
		if len(names) != len(dflts) {
			t.Fatalf("§1 row %q: %d flags, %d defaults", row, len(names), len(dflts))
		}
		for i, m := range names {
			f := fs.Lookup(m[1])
			if f == nil {
				continue // documented, not defined yet (TestProtocolFlags checks the other way)
			}
			want := strings.TrimSpace(dflts[i])
			if strings.HasPrefix(want, "empty") {
				want = "" // "empty (same host only, …)"
			}
			got := f.DefValue
			if d := docDefault[m[1]]; d != "" {
				got = d // computed at start; flags.go says how
			} else {
				want = strings.Trim(want, "`")
			}
			if got != want {
				t.Errorf("--%s defaults to %q, PROTOCOL.md §1 says %q", m[1], got, want)
			}
			checked++
		}
	}
	if checked < 15 {
		t.Fatalf("checked only %d defaults: the §1 table did not parse", checked)
	}
}
