package epoll

// Option configures New.
type Option func(*config)

type config struct {
	shards int
}

// Shards sets how many shards New starts: each is one epoll set with its own poller
// goroutine and read buffer, and one write worker with its own run queue. A connection
// lives in one shard (its reads and writes stay on that poller and worker), so shards
// share nothing on the hot path. The default, taken when k < 1 or Shards is not given,
// is runtime.GOMAXPROCS(0) at New: one poller and one writer per P the scheduler runs,
// enough to keep every core busy and no more (tests set it to spread a few connections
// over several sets).
func Shards(k int) Option { return func(c *config) { c.shards = k } }
