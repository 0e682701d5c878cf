package wsframe

import (
	"sync"
	"sync/atomic"
)

// A partial message is held in a chain of chunks whose sizes climb a short ladder (512 B,
// 1 KiB, 2 KiB, then 4 KiB each): a connection holds at most what it has sent of its
// message plus one chunk, never what a frame header merely announces (PROTOCOL.md §11).
var chunkClasses = [...]int{512, 1 << 10, 2 << 10, 4 << 10}

// chunk is one link of a partial message (or a partial control frame's only link).
type chunk struct {
	b     []byte // len: bytes held; cap: the class size
	next  *chunk
	class uint8
}

var chunkPools [len(chunkClasses)]sync.Pool

// nextClass is the class of the chunk that follows last in a message (nil: the first).
func nextClass(last *chunk) int {
	if last == nil {
		return 0
	}
	return min(int(last.class)+1, len(chunkClasses)-1)
}

func getChunk(class int) *chunk {
	if c, ok := chunkPools[class].Get().(*chunk); ok {
		return c
	}
	return &chunk{b: make([]byte, 0, chunkClasses[class]), class: uint8(class)}
}

func putChunk(c *chunk) {
	c.b, c.next = c.b[:0], nil
	chunkPools[c.class].Put(c)
}

// A complete message that spans chunks is joined into one contiguous buffer for the
// Handler's call only, then given back: pooled by powers of two up to maxPooled; bigger
// ones (rare, huge messages) are left to the garbage collector rather than pinned.
const (
	minJoined = 8 << 10
	maxPooled = 1 << 20
)

var joinedPools [21 - 13 + 1]sync.Pool // 8 KiB … 1 MiB

func joinedClass(n int) int {
	class, size := 0, minJoined
	for size < n {
		size <<= 1
		class++
	}
	return class
}

func getJoined(n int) *[]byte {
	if n > maxPooled {
		b := make([]byte, 0, n)
		return &b
	}
	class := joinedClass(n)
	if b, ok := joinedPools[class].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, minJoined<<class)
	return &b
}

func putJoined(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	*b = (*b)[:0]
	joinedPools[joinedClass(cap(*b))].Put(b)
}

// Budget bounds the bytes that every Reader sharing it holds for partial messages and
// control frames, so that many stalled peers together cannot take more than Limit (a
// connection that would pass it is closed 1009: the server cannot take a message that
// large now). A nil *Budget is no limit. Safe for concurrent use.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Used is the number of bytes held now.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

func (b *Budget) take(n int) bool {
	if b == nil {
		return true
	}
	if b.used.Add(int64(n)) > b.limit {
		b.used.Add(-int64(n))
		return false
	}
	return true
}

func (b *Budget) give(n int) {
	if b != nil {
		b.used.Add(-int64(n))
	}
}
