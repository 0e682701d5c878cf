package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// The --config file (PROTOCOL.md §8): YAML whose top-level keys are the flags' names
// with _ for - (max_conns: 500), plus `namespaces`, the access rules. Flags and
// environment variables win over it. Every error names the file, the line and the key.

// accessRules is what the file says beyond flags. A pointer in config, so that config
// stays comparable; nil without --config.
type accessRules struct {
	Namespaces map[string]core.Namespace
}

// namespaces returns the rules for core.Config (nil: every room public).
func (a *accessRules) namespaces() map[string]core.Namespace {
	if a == nil {
		return nil
	}
	return a.Namespaces
}

// fileError is a bad config file: where, which key, what is wrong.
type fileError struct {
	file string
	line int
	key  string
	msg  string
}

func (e *fileError) Error() string {
	if e.line == 0 {
		return e.file + ": " + e.msg
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.file, e.line, e.key, e.msg)
}

// loadConfigFile reads path and sets, through fs, every flag it names that keep does not
// (those set on the command line or from the environment). It returns the access rules
// and, for each flag it set, the line it came from (to name it in later errors).
func loadConfigFile(path string, fs *flag.FlagSet, keep map[string]bool) (*accessRules, map[string]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, &fileError{file: path, msg: err.Error()}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, &fileError{file: path, msg: err.Error()}
	}
	rules := &accessRules{}
	lines := map[string]int{}
	if len(doc.Content) == 0 { // an empty file sets nothing
		return rules, lines, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, nil, &fileError{file: path, line: top.Line, key: "(top level)", msg: "want a mapping of settings"}
	}
	bad := func(n *yaml.Node, key, format string, args ...any) error {
		return &fileError{file: path, line: n.Line, key: key, msg: fmt.Sprintf(format, args...)}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		key := k.Value
		if seen[key] {
			return nil, nil, bad(k, key, "set twice")
		}
		seen[key] = true
		if key == "namespaces" {
			if rules.Namespaces, err = namespacesOf(v, bad); err != nil {
				return nil, nil, err
			}
			continue
		}
		name := strings.ReplaceAll(key, "_", "-")
		if fs.Lookup(name) == nil || name == "config" || strings.Contains(key, "-") {
			return nil, nil, bad(k, key, "unknown key (flags are written with _ for -, e.g. max_conns)")
		}
		if v.Kind != yaml.ScalarNode {
			return nil, nil, bad(v, key, "want a single value")
		}
		if keep[name] {
			continue
		}
		if err := fs.Set(name, v.Value); err != nil {
			return nil, nil, bad(v, key, "invalid value %q: %v", v.Value, err)
		}
		lines[name] = v.Line
	}
	return rules, lines, nil
}

// namespacesOf reads the `namespaces` block: a mapping of namespace names (`""` for
// rooms without ':') to their options.
func namespacesOf(n *yaml.Node, bad func(*yaml.Node, string, string, ...any) error) (map[string]core.Namespace, error) {
	if n.Kind != yaml.MappingNode {
		return nil, bad(n, "namespaces", "want a mapping of namespace names to options")
	}
	out := map[string]core.Namespace{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		where := "namespaces." + strconv.Quote(name)
		if _, dup := out[name]; dup {
			return nil, bad(k, where, "declared twice")
		}
		if strings.Contains(name, ":") || (name != "" && !proto.ValidRoom([]byte(name))) {
			return nil, bad(k, where, "a namespace name is a room name's part before ':' (A-Z a-z 0-9 _ . @ / -)")
		}
		var ns core.Namespace
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			out[name] = ns // `team:` alone: every option at its default
			continue
		}
		if v.Kind != yaml.MappingNode {
			return nil, bad(v, where, "want a mapping of options (join, publish, history, history_ttl, presence, client_events)")
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			ok, ov := v.Content[j], v.Content[j+1]
			key := where + "." + ok.Value
			if ov.Kind != yaml.ScalarNode {
				return nil, bad(ov, key, "want a single value")
			}
			if err := setOption(&ns, ok.Value, ov.Value); err != nil {
				if errors.Is(err, errUnknownOption) {
					return nil, bad(ok, key, "%v", err)
				}
				return nil, bad(ov, key, "%v", err)
			}
		}
		out[name] = ns
	}
	return out, nil
}

var errUnknownOption = errors.New("unknown option (want join, publish, history, history_ttl, presence or client_events)")

// setOption sets one namespace option from its YAML text.
func setOption(ns *core.Namespace, key, val string) (err error) {
	onOff := func() (core.Switch, error) {
		switch val {
		case "true":
			return core.On, nil
		case "false":
			return core.Off, nil
		}
		return 0, fmt.Errorf("invalid value %q: want true or false", val)
	}
	switch key {
	case "join":
		ns.Join, err = core.ParseJoinRule(val)
	case "publish":
		ns.Publish, err = core.ParsePublishRule(val)
	case "history":
		n, perr := strconv.Atoi(val)
		if perr != nil || n < 0 {
			return fmt.Errorf("invalid value %q: want a number of messages, 0 or more", val)
		}
		ns.History = n
		if n == 0 {
			ns.History = core.NoHistory
		}
	case "history_ttl":
		d, perr := time.ParseDuration(val)
		if perr != nil || d <= 0 {
			return fmt.Errorf("invalid value %q: want a positive duration such as 10m", val)
		}
		ns.HistoryTTL = d
	case "presence":
		ns.Presence, err = onOff()
	case "client_events":
		ns.ClientEvents, err = onOff()
	default:
		return errUnknownOption
	}
	return err
}
