package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-ws/switchboard/core"
)

// otherCode is the label of every close code outside core.CloseReasons (a client may
// close with any of 3000–4999): clients never choose how many series there are
// (PROTOCOL.md §11).
const otherCode = "other"

// Metrics counts what the node reports. It implements node.Metrics and is safe for
// concurrent use.
type Metrics struct {
	reg       *prometheus.Registry
	conns     prometheus.Gauge
	rooms     prometheus.Gauge
	received  prometheus.Counter
	delivered prometheus.Counter
	closes    *prometheus.CounterVec
	// known holds the pre-made close-code counters and other the rest; read-only after
	// New, so the hot path needs no lock and no label hashing.
	known map[uint16]prometheus.Counter
	other prometheus.Counter
	hooks hookSeries // backend hooks and webhooks (hooks.go)
}

// New returns Metrics registered in a fresh registry together with the Go and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_connections",
			Help: "Open WebSocket connections on this node.",
		}),
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_rooms",
			Help: "Rooms that exist on this node.",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_messages_received_total",
			Help: "Messages received from clients.",
		}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_messages_delivered_total",
			Help: "Messages queued to clients (one per recipient connection).",
		}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_closes_total",
			Help: "Closed connections by WebSocket close code.",
		}, []string{"code"}),
		known: make(map[uint16]prometheus.Counter, len(core.CloseReasons)),
	}
	// The series of every protocol close code (core.CloseReasons: PROTOCOL.md §5, v2's
	// additions, and 1006, an abnormal close nobody sent) exist from the start, so a
	// scrape shows each switchboard_closes_total{code} at 0 before the first close.
	for c := range core.CloseReasons {
		m.known[c] = m.closes.WithLabelValues(strconv.Itoa(int(c)))
	}
	m.other = m.closes.WithLabelValues(otherCode)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.conns, m.rooms, m.received, m.delivered, m.closes,
	)
	m.hooks.register(m.reg)
	return m
}

// Registry is where the collectors live, for callers that add their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ConnOpened counts a connection that completed its handshake.
func (m *Metrics) ConnOpened() { m.conns.Inc() }

// ConnClosed counts a connection gone with the close code seen or sent.
func (m *Metrics) ConnClosed(code uint16) {
	m.conns.Dec()
	if c, ok := m.known[code]; ok {
		c.Inc()
		return
	}
	m.other.Inc()
}

// Received counts one message from a client.
func (m *Metrics) Received() { m.received.Inc() }

// Delivered counts n messages queued to connections.
func (m *Metrics) Delivered(n int) { m.delivered.Add(float64(n)) }

// Rooms sets the number of rooms.
func (m *Metrics) Rooms(n int) { m.rooms.Set(float64(n)) }
