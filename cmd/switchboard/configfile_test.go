package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-ws/switchboard/core"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const sampleConfig = `# every flag under its name with _ for -
max_conns: 500
ping_interval: 5s
allow_client_broadcast: false
history: 50
namespaces:
  "":
    join: public
  team:
    join: grant
    history: 200
    history_ttl: 1h
  user:
    join: user
  news:
    publish: none
    presence: false
  support:
    join: proxy
    publish: proxy
  live:
    client_events: false
    history: 0
  plain:
`

func TestConfigFile(t *testing.T) {
	path := writeConfig(t, sampleConfig)
	cfg, err := parseConfig([]string{"--config", path}, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 500 || cfg.PingInterval != 5*time.Second || cfg.AllowClientBroadcast || cfg.History != 50 {
		t.Errorf("flags from the file: %+v", cfg)
	}
	want := map[string]core.Namespace{
		"":        {},
		"team":    {Join: core.JoinGrant, History: 200, HistoryTTL: time.Hour},
		"user":    {Join: core.JoinUser},
		"news":    {Publish: core.PublishNone, Presence: core.Off},
		"support": {Join: core.JoinProxy, Publish: core.PublishProxy},
		"live":    {ClientEvents: core.Off, History: core.NoHistory},
		"plain":   {},
	}
	if cfg.Access == nil {
		t.Fatal("no access rules")
	}
	if diff := cmp.Diff(want, cfg.Access.Namespaces); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}

	// Flags and environment variables win over the file; the file over the defaults.
	cfg, err = parseConfig([]string{"--max-conns", "7"}, envOf(map[string]string{
		"SWITCHBOARD_CONFIG": path, "SWITCHBOARD_HISTORY": "3",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 7 || cfg.History != 3 || cfg.PingInterval != 5*time.Second || cfg.MaxPerUser != 5 {
		t.Errorf("precedence: max-conns %d history %d ping %v max-per-user %d", cfg.MaxConns, cfg.History, cfg.PingInterval, cfg.MaxPerUser)
	}

	// Without --config, no access rules: v1 behaviour.
	if cfg, err := parseConfig(nil, envOf(nil), &bytes.Buffer{}); err != nil || cfg.Access != nil {
		t.Errorf("no config: %v, %+v", err, cfg.Access)
	}
}

// A bad config file stops the program with exit 2 and one line naming the file, the
// line and the key.
func TestBadConfigFile(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // in the message, besides the file name
	}{
		{"unknown key", "max_conns: 5\nmax_cons: 6\n", []string{":2:", "max_cons", "unknown key"}},
		{"dash instead of underscore", "max-conns: 5\n", []string{":1:", "max-conns"}},
		{"config inside config", "config: other.yaml\n", []string{":1:", "config"}},
		{"bad flag value", "\nmax_conns: many\n", []string{":2:", "max_conns", "many"}},
		{"value the server refuses", "burst: 0\n", []string{":1:", "burst", "at least 1"}},
		{"list for a flag", "addr:\n  - a\n", []string{":2:", "addr", "single value"}},
		{"not YAML", "max_conns: [\n", []string{"yaml"}},
		{"not a mapping", "- a\n- b\n", []string{":1:", "mapping"}},
		{"set twice", "history: 1\nhistory: 2\n", []string{":2:", "history", "twice"}},
		{"unknown namespace option", "namespaces:\n  team:\n    joins: grant\n", []string{":3:", `namespaces."team".joins`, "unknown option"}},
		{"bad join", "namespaces:\n  team:\n    join: invite\n", []string{":3:", `namespaces."team".join`, "invite"}},
		{"bad publish", "namespaces:\n  team:\n    publish: everyone\n", []string{":3:", "publish", "everyone"}},
		{"bad presence", "namespaces:\n  news:\n\n    presence: maybe\n", []string{":4:", "presence", "maybe"}},
		{"bad history", "namespaces:\n  a:\n    history: -3\n", []string{":3:", "history"}},
		{"bad history_ttl", "namespaces:\n  a:\n    history_ttl: forever\n", []string{":3:", "history_ttl"}},
		{"namespace with colon", "namespaces:\n  \"a:b\":\n    join: public\n", []string{":2:", "a:b"}},
		{"namespaces not a mapping", "namespaces: all\n", []string{":1:", "namespaces"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.text)
			var stdout, stderr bytes.Buffer
			if code := run([]string{"--config", path}, envOf(nil), &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, stderr.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 {
				t.Errorf("want one line, got %q", msg)
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
		})
	}
}
