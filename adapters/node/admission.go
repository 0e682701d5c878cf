package node

import (
	"math"
	"net/netip"
	"strconv"
	"time"
)

// Admission decides whether a new WebSocket handshake may proceed (PROTOCOL.md §11): at
// most MaxPerIP connections open per client address and at most Rate new handshakes per
// second over all clients (a token bucket holding up to one second's worth). Other HTTP
// requests never reach it. It is pure — time comes in as an argument — and not safe for
// concurrent use: the node serializes its calls.
type Admission struct {
	maxPerIP int     // 0: no limit
	rate     float64 // handshakes per second; 0: no limit
	tokens   float64
	last     time.Time
	perIP    map[netip.Addr]int
}

// Retry-After values for a refused handshake: a client over its address's limit waits
// for one of its connections to end, which nothing here can predict.
const perIPRetryAfter = 5 * time.Second

// NewAdmission returns the decision for maxPerIP open connections per address and rate
// new handshakes per second (0: no limit on that count).
func NewAdmission(maxPerIP int, rate float64) *Admission {
	return &Admission{maxPerIP: maxPerIP, rate: rate, tokens: burst(rate), perIP: make(map[netip.Addr]int)}
}

func burst(rate float64) float64 { return math.Max(1, rate) }

// Admit decides a handshake from ip at now. Admitted (ok), it counts toward ip's open
// connections until Release; refused, retryAfter says when to come back.
func (a *Admission) Admit(ip netip.Addr, now time.Time) (retryAfter time.Duration, ok bool) {
	if a.maxPerIP > 0 && a.perIP[ip] >= a.maxPerIP {
		return perIPRetryAfter, false
	}
	if a.rate > 0 {
		if !a.last.IsZero() && now.After(a.last) {
			a.tokens = math.Min(burst(a.rate), a.tokens+now.Sub(a.last).Seconds()*a.rate)
		}
		if a.last.IsZero() || now.After(a.last) {
			a.last = now
		}
		if a.tokens < 1 {
			return time.Duration((1 - a.tokens) / a.rate * float64(time.Second)), false
		}
		a.tokens--
	}
	if a.maxPerIP > 0 {
		a.perIP[ip]++
	}
	return 0, true
}

// Release ends a connection Admit admitted from ip.
func (a *Admission) Release(ip netip.Addr) {
	if a.maxPerIP <= 0 {
		return
	}
	if k := a.perIP[ip]; k > 1 {
		a.perIP[ip] = k - 1
	} else {
		delete(a.perIP, ip)
	}
}

// RetryAfterHeader is the Retry-After value for d: whole seconds, at least 1.
func RetryAfterHeader(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	return strconv.FormatInt(max(s, 1), 10)
}
