// Package proxy is the HTTP proxy of PROTOCOL.md §9.1: node.Hooks whose four decisions
// (connect, join, publish, rpc) are POSTs of JSON to the application's backend at
// URL/<hook>, over one keep-alive net/http client.
//
// It owns the hooks' wire format (request bodies, answers, status codes) and nothing
// else: concurrency, queueing and timeouts are the node's (node.Options.Hook*), which
// give every call a context that ends at --proxy-timeout. It must never retry a call
// (the node answers unavailable instead) nor keep state between calls.
//
//	hooks := proxy.New(proxy.Options{URL: "http://127.0.0.1:9000/switchboard", Connect: true})
//	n := node.New(node.Options{Core: cfg, Hooks: hooks}) // cfg's namespaces say join: proxy…
package proxy
