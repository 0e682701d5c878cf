package wsframe

import "sync"

// maxPooled is the largest buffer kept for reuse; bigger ones (rare, huge messages) are
// left to the garbage collector rather than pinned in the pool.
const maxPooled = 1 << 20

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// getBuffer returns an empty pooled buffer with room for n bytes.
func getBuffer(n int) *[]byte {
	b := buffers.Get().(*[]byte)
	if cap(*b) < n {
		*b = make([]byte, 0, max(n, 2*cap(*b)))
	}
	*b = (*b)[:0]
	return b
}

func putBuffer(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	*b = (*b)[:0]
	buffers.Put(b)
}
