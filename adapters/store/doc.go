// Package store owns Switchboard's durable room streams (--data-dir, PROTOCOL.md §10.2):
// one bbolt file in the data directory that holds, per room, the stream's epoch, its
// last offset and its newest held messages, written from the hub's core.ActionStore
// actions and read back at start as core.StreamState for core.EventRestore.
//
// It must never decide anything about streams: what to keep, when a stream expires or is
// dropped and which epoch is current are the hub's decisions, carried by the actions; the
// store only carries them out (trimming a stream to the Keep its action names). It never
// runs goroutines of its own, and its Write is called on the node's owner goroutine, so
// it must stay one short transaction per call.
//
// Durability: a Write returns once bbolt has written the transaction's pages to the
// file, that is to the operating system's page cache, which survives the process being
// killed (kill -9): the node acks a chat only after that. The database is opened with
// NoSync, so there is no fsync per write; a power loss or an operating-system crash may
// lose the last writes and, since bbolt orders its meta page against its data pages
// with fsync, may leave the file unopenable (Open then fails, naming the file, and the
// operator moves it away to start with empty streams). fsync per chat was measured with
// BenchmarkWrite on this project's 2-core test machine (ext4 on a virtual disk): 0.3 to
// 1.4 ms per chat with fsync against 25 to 45 µs without. Write runs on the node's owner
// goroutine, which every connection's step goes through, so an fsync per chat would cap
// a whole node at 700 to 3,000 chats a second and stall every other client behind
// each disk flush; losing the last moment of chat on power loss is the usual trade of a
// chat server (Redis with appendfsync everysec makes the same one).
//
// Why bbolt: the streams are a small key/value layout (a bucket per room, keys ordered
// by offset, so trimming is a cursor from the front) written in small transactions from
// one goroutine, which is what bbolt does with a single file, a file lock that keeps a
// second process off the same directory, no background compaction and no goroutines.
// Pebble (an LSM tree) brings write-ahead log and compaction goroutines, many files and
// tuning for write volumes far above a chat's; the embedded NATS JetStream file store is
// what the cluster uses, but embedding it means running a NATS server inside every
// single node, with its own limits and expiry that would compete with the hub's.
//
//	st, err := store.Open(dir) // fails when another process has dir open
//	streams, err := st.Load()
//	n := node.New(node.Options{Store: st, Restore: streams, …})
//	… n.Shutdown(ctx); st.Close()
package store
