package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/auth"
	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/webhook"
	"github.com/switchboard-ws/switchboard/core"
)

// config is every setting of PROTOCOL.md §1, as parsed.
type config struct {
	Addr                 string
	Transport            string
	MaxConns             int
	MaxPerUser           int
	MaxRoomsPerConn      int
	MaxMessageBytes      int
	SendQueueBytes       int
	Rate                 float64
	Burst                int
	PingInterval         time.Duration
	IdleTimeout          time.Duration
	Auth                 string
	JWTSecret            string
	AdminToken           string
	AllowClientBroadcast bool
	History              int
	NATS                 string
	NodeID               string
	AllowedOrigins       string
	// Recovery (PROTOCOL.md §10).
	HistoryTTL    time.Duration
	HistoryMemory int64
	DataDir       string
	DedupeWindow  time.Duration
	// The edge (PROTOCOL.md §11).
	MessageTimeout time.Duration
	MaxConnsPerIP  int
	AcceptRate     float64
	DrainRate      int
	// Access control (PROTOCOL.md §8).
	ConfigFile   string
	AuthTimeout  time.Duration
	JWTPublicKey string
	JWKSURL      string
	JWKSRefresh  time.Duration
	Access       *accessRules // from ConfigFile; nil without one
	// Backend hooks and webhooks (PROTOCOL.md §9).
	ProxyURL         string
	ProxyTimeout     time.Duration
	ProxyConcurrency int
	WebhookURL       string
	WebhookSecret    string
	OfflineGrace     time.Duration
	WebhookRetry     time.Duration
	WebhookQueue     int
	// Diagnostics: net/http/pprof on its own listener (debug.go); off when empty.
	DebugAddr string
}

// flagInfo is what --help and the README say about one flag beyond the flag package:
// the value's name and, where the real default depends on the machine, how to describe it.
type flagInfo struct {
	name    string
	arg     string // placeholder in --help, e.g. HOST:PORT
	docDflt string // default as documented when it is not a constant
}

// flagOrder lists the flags in the order of PROTOCOL.md §1 (the flag package sorts).
var flagOrder = []flagInfo{
	{name: "addr", arg: "HOST:PORT"},
	{name: "transport", arg: "NAME", docDflt: "`epoll` on Linux, else `goroutine`"},
	{name: "max-conns", arg: "N"},
	{name: "max-per-user", arg: "N"},
	{name: "max-rooms-per-conn", arg: "N"},
	{name: "max-message-bytes", arg: "BYTES"},
	{name: "send-queue-bytes", arg: "BYTES"},
	{name: "rate", arg: "PER_SECOND"},
	{name: "burst", arg: "N"},
	{name: "ping-interval", arg: "DURATION"},
	{name: "idle-timeout", arg: "DURATION"},
	{name: "auth", arg: "MODE"},
	{name: "jwt-secret", arg: "KEY"},
	{name: "admin-token", arg: "TOKEN"},
	{name: "allow-client-broadcast", arg: "BOOL"},
	{name: "history", arg: "N"},
	{name: "nats", arg: "URL"},
	{name: "node-id", arg: "NAME", docDflt: "host name + pid"},
	{name: "allowed-origins", arg: "PATTERNS"},
	{name: "history-ttl", arg: "DURATION"},
	{name: "history-memory", arg: "BYTES"},
	{name: "data-dir", arg: "DIR"},
	{name: "dedupe-window", arg: "DURATION"},
	// The edge (PROTOCOL.md §11).
	{name: "message-timeout", arg: "DURATION"},
	{name: "max-conns-per-ip", arg: "N"},
	{name: "accept-rate", arg: "PER_SECOND"},
	{name: "drain-rate", arg: "PER_SECOND"},
	{name: "config", arg: "FILE"},
	{name: "auth-timeout", arg: "DURATION"},
	{name: "jwt-public-key", arg: "FILE"},
	{name: "jwks-url", arg: "URL"},
	{name: "jwks-refresh", arg: "DURATION"},
	// Backend hooks and webhooks (PROTOCOL.md §9).
	{name: "proxy-url", arg: "URL"},
	{name: "proxy-timeout", arg: "DURATION"},
	{name: "proxy-concurrency", arg: "N"},
	{name: "webhook-url", arg: "URL"},
	{name: "webhook-secret", arg: "KEY"},
	{name: "offline-grace", arg: "DURATION"},
	{name: "webhook-retry", arg: "DURATION"},
	{name: "webhook-queue", arg: "N"},
	{name: "debug-addr", arg: "HOST:PORT"},
}

func defaultTransport() string {
	if runtime.GOOS == "linux" {
		return "epoll"
	}
	return "goroutine"
}

// newFlagSet binds every flag to cfg with its default: the core's and the node's, written
// once there (core.DefaultConfig, node.Default*), the binary's own (address, transport,
// auth) here.
func newFlagSet(cfg *config) *flag.FlagSet {
	d := core.DefaultConfig()
	fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by run as one line; --help by usage
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "listen address (:0 picks a free port; the chosen one is printed)")
	fs.StringVar(&cfg.Transport, "transport", defaultTransport(), "epoll: no goroutine or buffer per idle connection (Linux); goroutine: portable net/http")
	fs.IntVar(&cfg.MaxConns, "max-conns", d.MaxConns, "connections over this are closed 4003 Server at capacity")
	fs.IntVar(&cfg.MaxPerUser, "max-per-user", d.MaxPerUser, "a user's connection over this closes the user's oldest one (4000)")
	fs.IntVar(&cfg.MaxRoomsPerConn, "max-rooms-per-conn", d.MaxRoomsPerConn, "a join over this gets error limit_exceeded")
	fs.IntVar(&cfg.MaxMessageBytes, "max-message-bytes", d.MaxMessageBytes, "a frame or reassembled message over this closes 1009")
	fs.IntVar(&cfg.SendQueueBytes, "send-queue-bytes", node.DefaultSendQueueBytes, "a connection with more unsent bytes is closed 4008 Slow consumer")
	fs.Float64Var(&cfg.Rate, "rate", d.Rate, "messages per second per connection (token bucket); excess gets rate_limited")
	fs.IntVar(&cfg.Burst, "burst", d.Burst, "token bucket size for --rate")
	cfg.PingInterval, cfg.IdleTimeout = node.DefaultPingInterval, node.DefaultIdleTimeout
	fs.Var((*seconds)(&cfg.PingInterval), "ping-interval", "how often the server pings each connection")
	fs.Var((*seconds)(&cfg.IdleTimeout), "idle-timeout", "a connection silent this long is closed 1001")
	fs.StringVar(&cfg.Auth, "auth", "none", "none: user from /ws?user=ID or /ws/ID (guest id when absent); jwt: a JWT (Bearer, ?token= or the auth message), user = sub; proxy: the backend's connect hook (--proxy-url)")
	fs.StringVar(&cfg.JWTSecret, "jwt-secret", "", "HS256 key for --auth jwt (it, --jwt-public-key or --jwks-url is required)")
	fs.StringVar(&cfg.AdminToken, "admin-token", "", "when set, /api/* needs Authorization: Bearer TOKEN; when empty, loopback clients only")
	fs.BoolVar(&cfg.AllowClientBroadcast, "allow-client-broadcast", d.AllowClientBroadcast, "whether clients may send broadcast")
	fs.IntVar(&cfg.History, "history", d.History, "chat messages kept per room for recovery (0: none)")
	fs.StringVar(&cfg.NATS, "nats", "", "NATS URL: join a cluster of switchboard nodes")
	fs.StringVar(&cfg.NodeID, "node-id", "", "this node's name in a cluster")
	fs.StringVar(&cfg.AllowedOrigins, "allowed-origins", "", "comma-separated browser Origin patterns allowed besides the same host, e.g. https://*.example.com")
	cfg.HistoryTTL, cfg.HistoryMemory, cfg.DedupeWindow = d.HistoryTTL, d.HistoryMemory, d.DedupeWindow
	fs.Var((*seconds)(&cfg.HistoryTTL), "history-ttl", "how long a room's stream (epoch, offsets, held messages) outlives its members after its last message")
	fs.Var((*byteSize)(&cfg.HistoryMemory), "history-memory", "bound on the bytes of held messages of all rooms (KiB/MiB/GiB suffixes); over it, whole streams are dropped, oldest first")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "keep room streams in this directory, so a restart (also kill -9) keeps epochs, offsets and messages")
	fs.Var((*seconds)(&cfg.DedupeWindow), "dedupe-window", "a chat id repeated by the same user to the same room within this is acked with its first offset and not delivered again")
	// The edge (PROTOCOL.md §11).
	cfg.MessageTimeout = node.DefaultMessageTimeout
	fs.Var((*seconds)(&cfg.MessageTimeout), "message-timeout", "a message not complete this long after its first byte closes 1008 Message timeout")
	fs.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", 0, "open WebSocket connections per client address; over it a handshake gets 503 with Retry-After (0: no limit)")
	fs.Float64Var(&cfg.AcceptRate, "accept-rate", 0, "new WebSocket handshakes per second; over it 503 with Retry-After (0: no limit)")
	fs.IntVar(&cfg.DrainRate, "drain-rate", node.DefaultDrainRate, "connections closed per second by a drain (SIGTERM or POST /api/drain)")
	// Access control (PROTOCOL.md §8).
	fs.StringVar(&cfg.ConfigFile, "config", "", "YAML file: any flag under its name with _ for -, and namespaces (access rules); flags and env win")
	cfg.AuthTimeout, cfg.JWKSRefresh = node.DefaultAuthTimeout, auth.DefaultJWKSRefresh
	fs.Var((*seconds)(&cfg.AuthTimeout), "auth-timeout", "with --auth jwt, a connection without a token must send auth within this, else 4001")
	fs.StringVar(&cfg.JWTPublicKey, "jwt-public-key", "", "PEM file (RSA, EC P-256 or Ed25519) verifying RS256, ES256 or EdDSA tokens")
	fs.StringVar(&cfg.JWKSURL, "jwks-url", "", "JWKS URL: tokens verified by kid with keys fetched from it")
	fs.Var((*seconds)(&cfg.JWKSRefresh), "jwks-refresh", "how often the JWKS is fetched again")
	// Backend hooks and webhooks (PROTOCOL.md §9).
	fs.StringVar(&cfg.ProxyURL, "proxy-url", "", "the application's backend: join: proxy, publish: proxy, rpc and --auth proxy POST JSON to URL/<hook>")
	cfg.ProxyTimeout, cfg.OfflineGrace, cfg.WebhookRetry = node.DefaultHookTimeout, d.OfflineGrace, webhook.DefaultRetry
	fs.Var((*seconds)(&cfg.ProxyTimeout), "proxy-timeout", "a backend call not answered within this (queue time included) is unavailable (connect: 503)")
	fs.IntVar(&cfg.ProxyConcurrency, "proxy-concurrency", node.DefaultHookConcurrency, "backend calls in flight at once; 1024 more wait, beyond that unavailable")
	fs.StringVar(&cfg.WebhookURL, "webhook-url", "", "POST signed batches of user_online/offline, room_occupied/vacated, member_added/removed here")
	fs.StringVar(&cfg.WebhookSecret, "webhook-secret", "", "HMAC-SHA256 key of X-Switchboard-Signature (required with --webhook-url)")
	fs.Var((*seconds)(&cfg.OfflineGrace), "offline-grace", "user_offline only after the user has had no connection this long")
	fs.Var((*seconds)(&cfg.WebhookRetry), "webhook-retry", "a batch not taken (2xx) is retried with backoff this long, then dropped")
	fs.IntVar(&cfg.WebhookQueue, "webhook-queue", webhook.DefaultQueue, "events waiting for delivery at most; over it the oldest are dropped (events_dropped)")
	fs.StringVar(&cfg.DebugAddr, "debug-addr", "", "serve net/http/pprof on this address, a listener of its own (GET /debug/pprof/heap?gc=1 forces a GC); empty: off")
	return fs
}

// byteSize is a byte count flag that takes KiB, MiB and GiB suffixes and prints the
// largest exact one (256MiB).
type byteSize int64

var byteUnits = []struct {
	suffix string
	n      int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

func (b *byteSize) String() string {
	if b == nil || *b == 0 {
		return "0"
	}
	for _, u := range byteUnits {
		if int64(*b)%u.n == 0 {
			return strconv.FormatInt(int64(*b)/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(*b), 10)
}

func (b *byteSize) Set(s string) error {
	mult := int64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = rest, u.n
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return errors.New("want a number of bytes, optionally with a KiB, MiB or GiB suffix, such as 256MiB")
	}
	*b = byteSize(v * mult)
	return nil
}

// seconds is a time.Duration flag that prints whole seconds as "60s" (as PROTOCOL.md
// writes the defaults) rather than Go's "1m0s"; it accepts any time.ParseDuration value.
type seconds time.Duration

func (d *seconds) String() string {
	if d == nil {
		return "0s"
	}
	v := time.Duration(*d)
	if v >= time.Hour && v%time.Hour == 0 { // 1h, as PROTOCOL.md writes --jwks-refresh
		return strconv.FormatInt(int64(v/time.Hour), 10) + "h"
	}
	if v > time.Minute && v%time.Minute == 0 { // 10m, as PROTOCOL.md writes it, but 60s stays
		return strconv.FormatInt(int64(v/time.Minute), 10) + "m"
	}
	if v%time.Second == 0 {
		return strconv.FormatInt(int64(v/time.Second), 10) + "s"
	}
	return v.String()
}

func (d *seconds) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 25s or 2m")
	}
	*d = seconds(v)
	return nil
}

// envName is the environment variable of a flag: SWITCHBOARD_MAX_CONNS for max-conns.
func envName(flagName string) string {
	return "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads args, then the environment for every flag the command line left
// unset, then checks the values. flag.ErrHelp means usage was written to stdout.
func parseConfig(args []string, env func(string) string, stdout io.Writer) (config, error) {
	var cfg config
	fs := newFlagSet(&cfg)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(fs, stdout)
			return cfg, err
		}
		return cfg, errors.New(dashDash(err.Error()))
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags only; see --help)", fs.Arg(0))
	}
	set := map[string]bool{} // on the command line or from the environment: the file does not change them
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, fi := range flagOrder {
		if set[fi.name] {
			continue
		}
		v := env(envName(fi.name))
		if v == "" {
			continue
		}
		if err := fs.Set(fi.name, v); err != nil {
			return cfg, fmt.Errorf("invalid value %q for --%s (from %s): %v", v, fi.name, envName(fi.name), err)
		}
		set[fi.name] = true
	}
	var fromFile map[string]int
	if cfg.ConfigFile != "" {
		var err error
		if cfg.Access, fromFile, err = loadConfigFile(cfg.ConfigFile, fs, set); err != nil {
			return cfg, err
		}
	}
	if err := cfg.check(); err != nil {
		return cfg, inFile(err, cfg.ConfigFile, fromFile)
	}
	if cfg.NodeID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "switchboard"
		}
		cfg.NodeID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	return cfg, nil
}

// inFile names the config file's line and key in err when the flag it names was set there.
func inFile(err error, file string, lines map[string]int) error {
	m := flagInErrRE.FindStringSubmatch(err.Error())
	if m == nil || lines[m[1]] == 0 {
		return err
	}
	return &fileError{file: file, line: lines[m[1]], key: strings.ReplaceAll(m[1], "-", "_"), msg: err.Error()}
}

var flagInErrRE = regexp.MustCompile(`--([a-z][a-z-]*)`)

// dashDash rewrites the flag package's "-name" to the "--name" this program documents.
func dashDash(msg string) string {
	msg = flagNameRE.ReplaceAllString(msg, "for --$2")
	msg = strings.Replace(msg, "flag provided but not defined: -", "unknown flag --", 1)
	return strings.Replace(msg, "flag needs an argument: -", "missing value for --", 1)
}

// flagNameRE finds the flag in `invalid value "x" for flag -name` and
// `invalid boolean value "x" for -name`.
var flagNameRE = regexp.MustCompile(`for (flag )?-([a-z])`)

// check validates values the flag package accepts but the server cannot use. Each
// error names its flag.
func (c *config) check() error {
	positive := []struct {
		name string
		v    int
	}{
		{"max-conns", c.MaxConns}, {"max-per-user", c.MaxPerUser},
		{"max-rooms-per-conn", c.MaxRoomsPerConn}, {"max-message-bytes", c.MaxMessageBytes},
		{"send-queue-bytes", c.SendQueueBytes}, {"burst", c.Burst},
	}
	for _, p := range positive {
		if p.v < 1 {
			return fmt.Errorf("invalid value %d for --%s: must be at least 1", p.v, p.name)
		}
	}
	if c.History < 0 {
		return fmt.Errorf("invalid value %d for --history: must be 0 or more", c.History)
	}
	if !(c.Rate > 0) || c.Rate > 1e9 {
		return fmt.Errorf("invalid value %v for --rate: must be a positive number of messages per second", c.Rate)
	}
	if c.PingInterval <= 0 {
		return fmt.Errorf("invalid value %v for --ping-interval: must be positive", c.PingInterval)
	}
	if c.IdleTimeout <= 0 {
		return fmt.Errorf("invalid value %v for --idle-timeout: must be positive", c.IdleTimeout)
	}
	if c.HistoryTTL < 0 {
		return fmt.Errorf("invalid value %v for --history-ttl: must be 0 or more", c.HistoryTTL)
	}
	if c.DedupeWindow < 0 {
		return fmt.Errorf("invalid value %v for --dedupe-window: must be 0 or more", c.DedupeWindow)
	}
	if c.MessageTimeout <= 0 {
		return fmt.Errorf("invalid value %v for --message-timeout: must be positive", c.MessageTimeout)
	}
	if c.MaxConnsPerIP < 0 {
		return fmt.Errorf("invalid value %d for --max-conns-per-ip: must be 0 (no limit) or more", c.MaxConnsPerIP)
	}
	if !(c.AcceptRate >= 0) || c.AcceptRate > 1e9 {
		return fmt.Errorf("invalid value %v for --accept-rate: must be 0 (no limit) or a positive number per second", c.AcceptRate)
	}
	if c.DrainRate < 1 {
		return fmt.Errorf("invalid value %d for --drain-rate: must be at least 1", c.DrainRate)
	}
	if err := checkListenAddr("addr", c.Addr); err != nil {
		return err
	}
	if c.DebugAddr != "" {
		if err := checkListenAddr("debug-addr", c.DebugAddr); err != nil {
			return err
		}
	}
	switch c.Transport {
	case "goroutine":
	case "epoll":
		if runtime.GOOS != "linux" {
			return fmt.Errorf("invalid value %q for --transport: epoll needs Linux; use goroutine", c.Transport)
		}
	default:
		return fmt.Errorf("invalid value %q for --transport: want epoll or goroutine", c.Transport)
	}
	if _, err := auth.ParseMode(c.Auth); err != nil && c.Auth != authProxy {
		return fmt.Errorf("invalid value %q for --auth: want none, jwt or proxy", c.Auth)
	}
	if err := c.validateHooks(); err != nil {
		return err
	}
	if c.Auth == string(auth.ModeJWT) && c.JWTSecret == "" && c.JWTPublicKey == "" && c.JWKSURL == "" {
		return errors.New("--auth jwt needs --jwt-secret, --jwt-public-key or --jwks-url")
	}
	if c.AuthTimeout <= 0 {
		return fmt.Errorf("invalid value %v for --auth-timeout: must be positive", c.AuthTimeout)
	}
	if c.JWKSRefresh <= 0 {
		return fmt.Errorf("invalid value %v for --jwks-refresh: must be positive", c.JWKSRefresh)
	}
	return nil
}

// checkListenAddr checks a HOST:PORT flag value (a port of 0 picks a free one).
func checkListenAddr(name, addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("invalid value %q for --%s: want HOST:PORT or :PORT", addr, name)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("invalid value %q for --%s: the port must be a number from 0 to 65535", addr, name)
	}
	return nil
}

// usage writes --help: every flag with its default and environment variable.
func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, `Switchboard: a WebSocket server for rooms, private messages, broadcast and presence.

Usage: switchboard [flags]

Each flag can also be set with the environment variable shown; the command line wins.

`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, fi := range flagOrder {
		f := fs.Lookup(fi.name)
		fmt.Fprintf(tw, "  --%s %s\t%s (default %s)\t$%s\n", f.Name, fi.arg, f.Usage, shownDefault(f, fi), envName(f.Name))
	}
	tw.Flush()
}

// shownDefault is the default as --help prints it: the real value, or its description
// when computed at start (the node id).
func shownDefault(f *flag.Flag, fi flagInfo) string {
	if f.DefValue == "" {
		if fi.docDflt != "" {
			return strings.ReplaceAll(fi.docDflt, "`", "")
		}
		return `""`
	}
	return f.DefValue
}

// markdownFlags renders the flags table of README.md.
func markdownFlags() string {
	var cfg config
	fs := newFlagSet(&cfg)
	var b strings.Builder
	b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
	for _, fi := range flagOrder {
		f := fs.Lookup(fi.name)
		dflt := "`" + f.DefValue + "`"
		switch {
		case fi.docDflt != "":
			dflt = fi.docDflt
		case f.DefValue == "":
			dflt = "empty"
		}
		fmt.Fprintf(&b, "| `--%s` | `%s` | %s | %s |\n", f.Name, envName(f.Name), dflt, strings.ReplaceAll(f.Usage, "|", `\|`))
	}
	return b.String()
}

// authProxy is --auth proxy: the backend's connect hook identifies handshakes.
const authProxy = "proxy"

// validateHooks checks the flags of PROTOCOL.md §9.
func (c *config) validateHooks() error {
	for _, u := range []struct{ flag, url string }{{"--proxy-url", c.ProxyURL}, {"--webhook-url", c.WebhookURL}} {
		if u.url == "" {
			continue
		}
		if p, err := url.Parse(u.url); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("invalid value %q for %s: want an http or https URL", u.url, u.flag)
		}
	}
	switch {
	case c.Auth == authProxy && c.ProxyURL == "":
		return errors.New("--auth proxy needs --proxy-url")
	case c.WebhookURL != "" && c.WebhookSecret == "":
		return errors.New("--webhook-url needs --webhook-secret")
	case c.ProxyTimeout <= 0:
		return fmt.Errorf("invalid value %v for --proxy-timeout: must be positive", c.ProxyTimeout)
	case c.ProxyConcurrency <= 0:
		return fmt.Errorf("invalid value %d for --proxy-concurrency: must be positive", c.ProxyConcurrency)
	case c.OfflineGrace < 0:
		return fmt.Errorf("invalid value %v for --offline-grace: must not be negative", c.OfflineGrace)
	case c.WebhookRetry <= 0:
		return fmt.Errorf("invalid value %v for --webhook-retry: must be positive", c.WebhookRetry)
	case c.WebhookQueue <= 0:
		return fmt.Errorf("invalid value %d for --webhook-queue: must be positive", c.WebhookQueue)
	}
	return nil
}
