package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ws/switchboard/adapters/node"
)

// hookSeries are the series of PROTOCOL.md §9: backend hook calls by hook and outcome,
// their latency (queue time included) per hook, the hook queue's depth; webhook
// deliveries, retries, drops and queue depth.
type hookSeries struct {
	calls     *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	queue     prometheus.Gauge
	delivered prometheus.Counter
	retries   prometheus.Counter
	dropped   prometheus.Counter
	whQueue   prometheus.Gauge
}

func (h *hookSeries) register(reg *prometheus.Registry) {
	h.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_hook_calls_total",
		Help: "Backend hook calls by hook (connect, join, publish, rpc) and outcome (allowed, refused, failed, timeout, overflow).",
	}, []string{"hook", "outcome"})
	h.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchboard_hook_seconds",
		Help:    "Time from queueing a backend hook call to its answer, by hook.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2, 5},
	}, []string{"hook"})
	h.queue = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_hook_queue",
		Help: "Backend hook calls waiting for a worker.",
	})
	h.delivered = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_webhook_events_delivered_total",
		Help: "App events the webhook receiver took (2xx).",
	})
	h.retries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_webhook_retries_total",
		Help: "Webhook POSTs that failed and were retried.",
	})
	h.dropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_webhook_events_dropped_total",
		Help: "App events dropped: the queue was full, or their batch's retries ran out.",
	})
	h.whQueue = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_webhook_queue",
		Help: "App events waiting for webhook delivery, the batch in flight included.",
	})
	reg.MustRegister(h.calls, h.latency, h.queue, h.delivered, h.retries, h.dropped, h.whQueue)
}

// HookCall implements node.HookMetrics.
func (m *Metrics) HookCall(hook string, outcome node.HookOutcome, d time.Duration) {
	m.hooks.calls.WithLabelValues(hook, string(outcome)).Inc()
	m.hooks.latency.WithLabelValues(hook).Observe(d.Seconds())
}

// HookQueue implements node.HookMetrics.
func (m *Metrics) HookQueue(depth int) { m.hooks.queue.Set(float64(depth)) }

// WebhookDelivered, WebhookRetried, WebhookDropped and WebhookQueue implement
// webhook.Metrics.
func (m *Metrics) WebhookDelivered(events int) { m.hooks.delivered.Add(float64(events)) }
func (m *Metrics) WebhookRetried()             { m.hooks.retries.Inc() }
func (m *Metrics) WebhookDropped(events int)   { m.hooks.dropped.Add(float64(events)) }
func (m *Metrics) WebhookQueue(depth int)      { m.hooks.whQueue.Set(float64(depth)) }
