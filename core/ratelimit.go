package core

// allow charges one token from c's bucket, refilled at Config.Rate per second of event
// time up to Config.Burst, and reports whether there was one. Time only comes from
// events, so a replayed transcript limits exactly as the live server did.
func (h *Hub) allow(c *conn, now int64) bool {
	if h.cfg.Rate <= 0 {
		return true
	}
	if now > c.last {
		c.tokens += float64(now-c.last) * h.cfg.Rate / 1e9
		if burst := float64(h.burst()); c.tokens > burst {
			c.tokens = burst
		}
		c.last = now
	}
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// burst is the bucket size: Config.Burst, at least one message.
func (h *Hub) burst() int {
	if h.cfg.Burst < 1 {
		return 1
	}
	return h.cfg.Burst
}
