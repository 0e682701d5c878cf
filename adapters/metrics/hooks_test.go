package metrics

import (
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/webhook"
)

var (
	_ node.HookMetrics = (*Metrics)(nil)
	_ webhook.Metrics  = (*Metrics)(nil)
)

func TestHookAndWebhookCounts(t *testing.T) {
	m := New()
	m.HookCall("join", node.HookAllowed, 3*time.Millisecond)
	m.HookCall("join", node.HookAllowed, 30*time.Millisecond)
	m.HookCall("rpc", node.HookTimeout, 2*time.Second)
	m.HookQueue(7)
	m.WebhookDelivered(100)
	m.WebhookDelivered(5)
	m.WebhookRetried()
	m.WebhookDropped(3)
	m.WebhookQueue(42)
	wantLines(t, scrape(t, m),
		`switchboard_hook_calls_total{hook="join",outcome="allowed"} 2`,
		`switchboard_hook_calls_total{hook="rpc",outcome="timeout"} 1`,
		`switchboard_hook_seconds_bucket{hook="join",le="0.005"} 1`,
		`switchboard_hook_seconds_bucket{hook="join",le="0.05"} 2`,
		`switchboard_hook_seconds_count{hook="rpc"} 1`,
		`switchboard_hook_queue 7`,
		`switchboard_webhook_events_delivered_total 105`,
		`switchboard_webhook_retries_total 1`,
		`switchboard_webhook_events_dropped_total 3`,
		`switchboard_webhook_queue 42`,
	)
}
