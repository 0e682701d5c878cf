package main

import (
	"bytes"
	"errors"
	"flag"
	"runtime"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	cfg, err := parseConfig(nil, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		Addr: "127.0.0.1:8080", Transport: "epoll", MaxConns: 10000, MaxPerUser: 5,
		MaxRoomsPerConn: 100, MaxMessageBytes: 65536, SendQueueBytes: 1048576,
		Rate: 50, Burst: 100, PingInterval: 25 * time.Second, IdleTimeout: 60 * time.Second,
		Auth: "none", AllowClientBroadcast: true, History: 100,
		HistoryTTL: 10 * time.Minute, HistoryMemory: 256 << 20, DedupeWindow: 2 * time.Minute,
		MessageTimeout: 10 * time.Second, DrainRate: 1000,
		AuthTimeout: 10 * time.Second, JWKSRefresh: time.Hour,
		ProxyTimeout: 2 * time.Second, ProxyConcurrency: 64, OfflineGrace: 5 * time.Second,
		WebhookRetry: 10 * time.Minute, WebhookQueue: 100000,
	}
	if runtime.GOOS != "linux" {
		want.Transport = "goroutine"
	}
	if !strings.Contains(cfg.NodeID, "-") {
		t.Errorf("node id %q, want host name + pid", cfg.NodeID)
	}
	cfg.NodeID = ""
	if cfg != want {
		t.Errorf("defaults\n got %+v\nwant %+v", cfg, want)
	}
}

func TestFlagsAndEnv(t *testing.T) {
	args := []string{"--addr", ":0", "--transport=goroutine", "--max-conns", "7", "--max-per-user", "1",
		"--max-rooms-per-conn", "3", "--max-message-bytes", "1000", "--send-queue-bytes", "5000",
		"--rate", "2.5", "--burst", "4", "--ping-interval", "1s", "--idle-timeout", "3s",
		"--auth", "jwt", "--jwt-secret", "k", "--admin-token", "t", "--allow-client-broadcast=false",
		"--history", "0", "--node-id", "n1", "--allowed-origins", "https://*.example.com",
		"--history-ttl", "90s", "--history-memory", "3KiB", "--data-dir", "/tmp/sb", "--dedupe-window", "1m",
		"--message-timeout", "2s", "--max-conns-per-ip", "20", "--accept-rate", "150.5", "--drain-rate", "300",
		"--auth-timeout", "2s", "--jwt-public-key", "k.pem", "--jwks-url", "http://127.0.0.1:1/jwks", "--jwks-refresh", "5m",
		"--proxy-url", "http://127.0.0.1:9/sb", "--proxy-timeout", "3s", "--proxy-concurrency", "8",
		"--webhook-url", "http://127.0.0.1:9/wh", "--webhook-secret", "ws", "--offline-grace", "7s",
		"--webhook-retry", "1m", "--webhook-queue", "50", "--debug-addr", "127.0.0.1:6061"}
	cfg, err := parseConfig(args, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := config{Addr: ":0", Transport: "goroutine", MaxConns: 7, MaxPerUser: 1, MaxRoomsPerConn: 3,
		MaxMessageBytes: 1000, SendQueueBytes: 5000, Rate: 2.5, Burst: 4, PingInterval: time.Second,
		IdleTimeout: 3 * time.Second, Auth: "jwt", JWTSecret: "k", AdminToken: "t",
		AllowClientBroadcast: false, History: 0, NodeID: "n1", AllowedOrigins: "https://*.example.com",
		HistoryTTL: 90 * time.Second, HistoryMemory: 3 << 10, DataDir: "/tmp/sb", DedupeWindow: time.Minute,
		MessageTimeout: 2 * time.Second, MaxConnsPerIP: 20, AcceptRate: 150.5, DrainRate: 300,
		AuthTimeout: 2 * time.Second, JWTPublicKey: "k.pem", JWKSURL: "http://127.0.0.1:1/jwks", JWKSRefresh: 5 * time.Minute,
		ProxyURL: "http://127.0.0.1:9/sb", ProxyTimeout: 3 * time.Second, ProxyConcurrency: 8,
		WebhookURL: "http://127.0.0.1:9/wh", WebhookSecret: "ws", OfflineGrace: 7 * time.Second,
		WebhookRetry: time.Minute, WebhookQueue: 50, DebugAddr: "127.0.0.1:6061"}
	if cfg != want {
		t.Errorf("flags\n got %+v\nwant %+v", cfg, want)
	}

	env := map[string]string{}
	for _, fi := range flagOrder {
		env[envName(fi.name)] = "" // every flag has a variable …
	}
	env["SWITCHBOARD_ADDR"] = ":0"
	env["SWITCHBOARD_TRANSPORT"] = "goroutine"
	env["SWITCHBOARD_MAX_CONNS"] = "7"
	env["SWITCHBOARD_MAX_PER_USER"] = "1"
	env["SWITCHBOARD_MAX_ROOMS_PER_CONN"] = "3"
	env["SWITCHBOARD_MAX_MESSAGE_BYTES"] = "1000"
	env["SWITCHBOARD_SEND_QUEUE_BYTES"] = "5000"
	env["SWITCHBOARD_RATE"] = "2.5"
	env["SWITCHBOARD_BURST"] = "4"
	env["SWITCHBOARD_PING_INTERVAL"] = "1s"
	env["SWITCHBOARD_IDLE_TIMEOUT"] = "3s"
	env["SWITCHBOARD_AUTH"] = "jwt"
	env["SWITCHBOARD_JWT_SECRET"] = "k"
	env["SWITCHBOARD_ADMIN_TOKEN"] = "t"
	env["SWITCHBOARD_ALLOW_CLIENT_BROADCAST"] = "false"
	env["SWITCHBOARD_HISTORY"] = "0"
	env["SWITCHBOARD_NODE_ID"] = "n1"
	env["SWITCHBOARD_ALLOWED_ORIGINS"] = "https://*.example.com"
	env["SWITCHBOARD_HISTORY_TTL"] = "90s"
	env["SWITCHBOARD_HISTORY_MEMORY"] = "3KiB"
	env["SWITCHBOARD_DATA_DIR"] = "/tmp/sb"
	env["SWITCHBOARD_DEDUPE_WINDOW"] = "1m"
	env["SWITCHBOARD_MESSAGE_TIMEOUT"] = "2s"
	env["SWITCHBOARD_MAX_CONNS_PER_IP"] = "20"
	env["SWITCHBOARD_ACCEPT_RATE"] = "150.5"
	env["SWITCHBOARD_DRAIN_RATE"] = "300"
	env["SWITCHBOARD_AUTH_TIMEOUT"] = "2s"
	env["SWITCHBOARD_JWT_PUBLIC_KEY"] = "k.pem"
	env["SWITCHBOARD_JWKS_URL"] = "http://127.0.0.1:1/jwks"
	env["SWITCHBOARD_JWKS_REFRESH"] = "5m"
	env["SWITCHBOARD_PROXY_URL"] = "http://127.0.0.1:9/sb"
	env["SWITCHBOARD_PROXY_TIMEOUT"] = "3s"
	env["SWITCHBOARD_PROXY_CONCURRENCY"] = "8"
	env["SWITCHBOARD_WEBHOOK_URL"] = "http://127.0.0.1:9/wh"
	env["SWITCHBOARD_WEBHOOK_SECRET"] = "ws"
	env["SWITCHBOARD_OFFLINE_GRACE"] = "7s"
	env["SWITCHBOARD_WEBHOOK_RETRY"] = "1m"
	env["SWITCHBOARD_WEBHOOK_QUEUE"] = "50"
	env["SWITCHBOARD_DEBUG_ADDR"] = "127.0.0.1:6061"
	if len(env) != len(flagOrder) {
		t.Fatalf("%d variables for %d flags", len(env), len(flagOrder))
	}
	cfg, err = parseConfig(nil, envOf(env), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg != want {
		t.Errorf("env\n got %+v\nwant %+v", cfg, want)
	}

	// The command line wins over the environment.
	cfg, err = parseConfig([]string{"--max-conns", "9", "--history=5"}, envOf(env), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 9 || cfg.History != 5 || cfg.MaxPerUser != 1 {
		t.Errorf("command line vs env: max-conns %d history %d max-per-user %d", cfg.MaxConns, cfg.History, cfg.MaxPerUser)
	}
}

// Every bad value stops with exit 2 and one line naming the flag.
func TestBadValues(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		flag string // must appear in the message
	}{
		{args: []string{"--max-conns", "many"}, flag: "--max-conns"},
		{args: []string{"--max-conns", "0"}, flag: "--max-conns"},
		{args: []string{"--max-per-user", "-1"}, flag: "--max-per-user"},
		{args: []string{"--max-rooms-per-conn", "0"}, flag: "--max-rooms-per-conn"},
		{args: []string{"--max-message-bytes", "0"}, flag: "--max-message-bytes"},
		{args: []string{"--send-queue-bytes", "1.5"}, flag: "--send-queue-bytes"},
		{args: []string{"--rate", "0"}, flag: "--rate"},
		{args: []string{"--rate", "NaN"}, flag: "--rate"},
		{args: []string{"--burst", "0"}, flag: "--burst"},
		{args: []string{"--ping-interval", "soon"}, flag: "--ping-interval"},
		{args: []string{"--ping-interval", "0s"}, flag: "--ping-interval"},
		{args: []string{"--idle-timeout", "-5s"}, flag: "--idle-timeout"},
		{args: []string{"--history-ttl", "-1s"}, flag: "--history-ttl"},
		{args: []string{"--history-memory", "12XB"}, flag: "--history-memory"},
		{args: []string{"--history-memory", "-1"}, flag: "--history-memory"},
		{args: []string{"--dedupe-window", "soon"}, flag: "--dedupe-window"},
		{args: []string{"--history", "-1"}, flag: "--history"},
		{args: []string{"--addr", "8080"}, flag: "--addr"},
		{args: []string{"--addr", "127.0.0.1:99999"}, flag: "--addr"},
		{args: []string{"--addr", "127.0.0.1:http"}, flag: "--addr"},
		{args: []string{"--debug-addr", "6061"}, flag: "--debug-addr"},
		{args: []string{"--transport", "threads"}, flag: "--transport"},
		{args: []string{"--auth", "basic"}, flag: "--auth"},
		{args: []string{"--auth", "jwt"}, flag: "--jwt-secret"},
		{args: []string{"--auth-timeout", "0s"}, flag: "--auth-timeout"},
		{args: []string{"--jwks-refresh", "never"}, flag: "--jwks-refresh"},
		{args: []string{"--config", "/nonexistent/switchboard.yaml"}, flag: "/nonexistent/switchboard.yaml"},
		{args: []string{"--allow-client-broadcast=maybe"}, flag: "--allow-client-broadcast"},
		{args: []string{"--no-such-flag"}, flag: "--no-such-flag"},
		{args: []string{"--max-conns"}, flag: "--max-conns"},
		{args: []string{"stray"}, flag: "stray"},
		{args: []string{"--nats", "127.0.0.1:4222"}, flag: "--nats"},
		{args: []string{"--message-timeout", "0s"}, flag: "--message-timeout"},
		{args: []string{"--message-timeout", "later"}, flag: "--message-timeout"},
		{args: []string{"--max-conns-per-ip", "-1"}, flag: "--max-conns-per-ip"},
		{args: []string{"--accept-rate", "-2"}, flag: "--accept-rate"},
		{args: []string{"--accept-rate", "NaN"}, flag: "--accept-rate"},
		{args: []string{"--drain-rate", "0"}, flag: "--drain-rate"},
		{args: []string{"--auth", "proxy"}, flag: "--proxy-url"},
		{args: []string{"--proxy-url", "127.0.0.1:9000"}, flag: "--proxy-url"},
		{args: []string{"--proxy-timeout", "0s"}, flag: "--proxy-timeout"},
		{args: []string{"--proxy-concurrency", "0"}, flag: "--proxy-concurrency"},
		{args: []string{"--webhook-url", "http://127.0.0.1:9/wh"}, flag: "--webhook-secret"},
		{args: []string{"--webhook-url", "ftp://x/wh", "--webhook-secret", "s"}, flag: "--webhook-url"},
		{args: []string{"--offline-grace", "-1s"}, flag: "--offline-grace"},
		{args: []string{"--webhook-retry", "0s"}, flag: "--webhook-retry"},
		{args: []string{"--webhook-queue", "0"}, flag: "--webhook-queue"},
		{env: map[string]string{"SWITCHBOARD_MAX_CONNS": "lots"}, flag: "SWITCHBOARD_MAX_CONNS"},
		{env: map[string]string{"SWITCHBOARD_IDLE_TIMEOUT": "0s"}, flag: "--idle-timeout"},
		{env: map[string]string{"SWITCHBOARD_TRANSPORT": "threads"}, flag: "--transport"},
		{env: map[string]string{"SWITCHBOARD_AUTH": "jwt"}, flag: "--jwt-secret"},
		{env: map[string]string{"SWITCHBOARD_ALLOW_CLIENT_BROADCAST": "perhaps"}, flag: "--allow-client-broadcast"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+fmtEnv(tt.env), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, envOf(tt.env), &stdout, &stderr)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, stderr.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
				t.Errorf("want exactly one line, got %q", msg)
			}
			if !strings.Contains(msg, tt.flag) {
				t.Errorf("message %q does not name %s", msg, tt.flag)
			}
			if strings.Contains(msg, "---") || strings.Contains(msg, " -"+strings.TrimLeft(tt.flag, "-")) {
				t.Errorf("message %q spells the flag wrong", msg)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
}

func fmtEnv(env map[string]string) string {
	var s []string
	for k, v := range env {
		s = append(s, k+"="+v)
	}
	return strings.Join(s, " ")
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{arg}, envOf(nil), &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d (%s)", arg, code, stderr.String())
		}
		out := stdout.String()
		var cfg config
		fs := newFlagSet(&cfg)
		n := 0
		fs.VisitAll(func(f *flag.Flag) {
			n++
			var line string
			for l := range strings.SplitSeq(out, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "--"+f.Name+" ") {
					line = l
				}
			}
			if line == "" {
				t.Errorf("%s: --%s not listed", arg, f.Name)
				return
			}
			if !strings.Contains(line, "(default ") || !strings.Contains(line, "$"+envName(f.Name)) {
				t.Errorf("%s: line for --%s lacks its default or variable: %q", arg, f.Name, line)
			}
			if f.DefValue != "" && !strings.Contains(line, "(default "+f.DefValue+")") {
				t.Errorf("%s: line for --%s does not show default %q: %q", arg, f.Name, f.DefValue, line)
			}
		})
		if n != len(flagOrder) {
			t.Errorf("flag set has %d flags, help order lists %d", n, len(flagOrder))
		}
	}
}

func TestParseHelpIsErrHelp(t *testing.T) {
	if _, err := parseConfig([]string{"--help"}, envOf(nil), &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v", err)
	}
}
