// Package webhook delivers the app events of PROTOCOL.md §9.2 to the application: signed
// batches POSTed to --webhook-url, retried in order until they are taken, from a bounded
// queue.
//
// It owns the webhook wire format (batches, event ids, the HMAC signature), batching,
// retries with backoff, and the queue's bound with its events_dropped report. It must
// never block the caller of Add (the node's event goroutine) nor hold more than
// Options.Queue events, the batch in flight included. Which events happen, when a user
// is offline, and which node of a cluster sends each event (once for the cluster, with
// an id every node derives alike) is the core's (appevents.go, cluster_events.go).
//
//	s := webhook.New(webhook.Options{URL: url, Secret: secret, Node: nodeID})
//	n := node.New(node.Options{Core: cfg, Events: s.Add})
//	…
//	n.Shutdown(ctx)
//	s.Close(ctx) // what is still queued is sent until ctx ends
package webhook
