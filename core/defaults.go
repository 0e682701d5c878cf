package core

import "time"

// DefaultMaxListed caps the `rooms` of connected and the `users` of online when
// Config.MaxListed is not set (PROTOCOL.md §4).
const DefaultMaxListed = 1000

// DefaultConfig returns the server's defaults of PROTOCOL.md §1: the one place they are
// written. The binary's flags, the playground and embedding programs start from it; New
// itself applies only DefaultMaxListed, since a zero limit there means no limit.
func DefaultConfig() Config {
	return Config{
		MaxConns:             10000,
		MaxPerUser:           5,
		MaxRoomsPerConn:      100,
		MaxMessageBytes:      65536,
		Rate:                 50,
		Burst:                100,
		AllowClientBroadcast: true,
		History:              100,
		HistoryTTL:           10 * time.Minute,
		HistoryMemory:        256 << 20,
		DedupeWindow:         2 * time.Minute,
		OfflineGrace:         5 * time.Second,
		MaxListed:            DefaultMaxListed,
	}
}
