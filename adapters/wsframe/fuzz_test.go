package wsframe

import (
	"errors"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/core/proto"
)

// FuzzFrameReader checks that decoding never depends on how the bytes were split across
// reads (two arbitrary cuts and byte by byte), for any bytes, and never panics; that a
// peer's close is echoed only with a code it may send; and that whatever lengths the
// headers announce, the reader holds no more than the bytes that came plus a chunk.
func FuzzFrameReader(f *testing.F) {
	for _, tc := range readerCases() {
		f.Add(tc.stream, uint16(len(tc.stream)/3), uint16(len(tc.stream)/2), tc.format == proto.Msgpack)
	}
	f.Fuzz(func(t *testing.T, stream []byte, a, b uint16, msgpack bool) {
		format := proto.JSON
		if msgpack {
			format = proto.Msgpack
		}
		const max = 300
		whole := strings.Join(run(format, max, stream), "\n")
		i, j := int(a)%(len(stream)+1), int(b)%(len(stream)+1)
		if i > j {
			i, j = j, i
		}
		if got := strings.Join(run(format, max, stream, i, j), "\n"); got != whole {
			t.Fatalf("cut at %d,%d:\n%q\nwhole:\n%q", i, j, got, whole)
		}
		if ce := lastClose(format, max, stream); ce != nil && ce.FromPeer && ce.Code != ws.StatusNoStatusRcvd && !PeerMaySend(ce.Code) {
			t.Fatalf("peer close %d accepted", ce.Code)
		}
		if len(stream) < 2000 {
			checkHeld(t, format, max, stream)
			cuts := make([]int, 0, len(stream))
			for k := 1; k < len(stream); k++ {
				cuts = append(cuts, k)
			}
			if got := strings.Join(run(format, max, stream, cuts...), "\n"); got != whole {
				t.Fatalf("byte by byte:\n%q\nwhole:\n%q", got, whole)
			}
		}
	})
}

// lastClose is the CloseError the whole stream ends with, if any.
func lastClose(f proto.Format, max int, stream []byte) *CloseError {
	var r Reader
	r.Init(f, max, nil)
	defer r.Reset()
	var ce *CloseError
	if err := r.Feed(append([]byte(nil), stream...), nopHandler{}); errors.As(err, &ce) {
		return ce
	}
	return nil
}

// msgCounter counts complete messages (not control frames: a ping inside a fragmented
// message leaves the message's bytes held).
type msgCounter struct{ n int }

func (m *msgCounter) Message([]byte) { m.n++ }
func (m *msgCounter) Ping([]byte)    {}
func (m *msgCounter) Pong([]byte)    {}

// checkHeld feeds stream byte by byte and checks that the reader never holds more than
// the bytes received since the last complete message, plus one chunk of data and one of
// a control frame.
func checkHeld(t *testing.T, f proto.Format, max int, stream []byte) {
	t.Helper()
	var r Reader
	budget := NewBudget(1 << 30)
	r.Init(f, max, budget)
	defer r.Reset()
	var h msgCounter
	since := 0
	for i := range stream {
		before := h.n
		if r.Feed([]byte{stream[i]}, &h) != nil {
			break
		}
		since++
		if h.n != before {
			since = 0
		}
		if held := r.Held(); held > since+chunkClasses[len(chunkClasses)-1]+chunkClasses[0] || int64(held) != budget.Used() {
			t.Fatalf("after byte %d: holds %d bytes (budget %d), %d received since the last message", i, held, budget.Used(), since)
		}
	}
}
