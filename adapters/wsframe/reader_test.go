package wsframe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/adapters/wsframe/wsframetest"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// clientFrame and rawFrame are the shared test frame builders, under local names.
var (
	clientFrame = wsframetest.Client
	rawFrame    = wsframetest.Raw
)

func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// recorder writes down everything a Reader reports, one line each.
type recorder struct{ log []string }

func (r *recorder) Message(p []byte) { r.log = append(r.log, "msg "+string(p)) }
func (r *recorder) Ping(p []byte)    { r.log = append(r.log, "ping "+string(p)) }
func (r *recorder) Pong(p []byte)    { r.log = append(r.log, "pong "+string(p)) }

// run feeds stream in the given chunks (copies, since Feed unmasks in place) and returns
// the log, ending with the close it stopped at, if any.
func run(f proto.Format, max int, stream []byte, cuts ...int) []string {
	var r Reader
	r.Init(f, max, nil)
	var rec recorder
	prev := 0
	cuts = append(cuts, len(stream))
	for _, c := range cuts {
		chunk := append([]byte(nil), stream[prev:c]...)
		prev = c
		if err := r.Feed(chunk, &rec); err != nil {
			var ce *CloseError
			if !errors.As(err, &ce) {
				return append(rec.log, "bad error "+err.Error())
			}
			return append(rec.log, fmt.Sprintf("close %d peer=%v %s", ce.Code, ce.FromPeer, reasonIfPeer(ce)))
		}
	}
	if r.Partial() {
		rec.log = append(rec.log, "partial")
	}
	r.Reset()
	return rec.log
}

func reasonIfPeer(ce *CloseError) string {
	if ce.FromPeer {
		return ce.Reason
	}
	return ""
}

func cat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

var big = strings.Repeat("abcdefgh", 40) // 320 bytes: a 16-bit length

type readerCase struct {
	name   string
	format proto.Format
	max    int
	stream []byte
	want   []string
}

func readerCases() []readerCase {
	text := func(s string) []byte { return clientFrame(true, ws.OpText, []byte(s)) }
	return []readerCase{
		{"one text message", proto.JSON, 1024, text(`{"type":"ping"}`), []string{`msg {"type":"ping"}`}},
		{"two messages in one read", proto.JSON, 1024, cat(text("a"), text("bc")), []string{"msg a", "msg bc"}},
		{"16-bit length", proto.JSON, 1024, text(big), []string{"msg " + big}},
		{"64-bit length", proto.JSON, 1 << 17, text(strings.Repeat("x", 70000)), []string{"msg " + strings.Repeat("x", 70000)}},
		{"empty text", proto.JSON, 1024, text(""), []string{"msg "}},
		{"binary on msgpack", proto.Msgpack, 1024, clientFrame(true, ws.OpBinary, []byte{0x81, 0xa1}), []string{"msg \x81\xa1"}},
		{"fragmented with ping between", proto.JSON, 1024, cat(
			clientFrame(false, ws.OpText, []byte("hel")),
			clientFrame(true, ws.OpPing, []byte("p1")),
			clientFrame(false, ws.OpContinuation, []byte("")),
			clientFrame(false, ws.OpContinuation, []byte("lo ")),
			clientFrame(true, ws.OpContinuation, []byte(big)),
		), []string{"ping p1", "msg hello " + big}},
		{"fragmented ending in empty fragment", proto.JSON, 1024, cat(
			clientFrame(false, ws.OpText, []byte("ab")),
			clientFrame(true, ws.OpContinuation, nil),
			text("c"),
		), []string{"msg ab", "msg c"}},
		{"all fragments empty", proto.JSON, 1024, cat(
			clientFrame(false, ws.OpText, nil),
			clientFrame(true, ws.OpContinuation, nil),
		), []string{"msg "}},
		{"ping and pong", proto.JSON, 1024, cat(clientFrame(true, ws.OpPing, []byte("hi")), clientFrame(true, ws.OpPong, []byte("yo"))), []string{"ping hi", "pong yo"}},
		{"ping of 125 bytes", proto.JSON, 1024, clientFrame(true, ws.OpPing, []byte(big[:125])), []string{"ping " + big[:125]}},
		{"close with code", proto.JSON, 1024, cat(text("a"), clientFrame(true, ws.OpClose, closePayload(1000, "bye")), text("after")), []string{"msg a", "close 1000 peer=true bye"}},
		{"close without code", proto.JSON, 1024, clientFrame(true, ws.OpClose, nil), []string{"close 1005 peer=true "}},
		{"close with 1-byte payload", proto.JSON, 1024, clientFrame(true, ws.OpClose, []byte{3}), []string{"close 1002 peer=false "}},
		{"close with reserved code", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(1005, "")), []string{"close 1002 peer=false "}},
		{"close 1003", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(1003, "")), []string{"close 1003 peer=true "}},
		{"close 1007", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(1007, "")), []string{"close 1007 peer=true "}},
		{"close 1011", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(1011, "x")), []string{"close 1011 peer=true x"}},
		{"close 3000", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(3000, "")), []string{"close 3000 peer=true "}},
		{"close 4999", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(4999, "")), []string{"close 4999 peer=true "}},
		{"close 999", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(999, "")), []string{"close 1002 peer=false "}},
		{"close 1004", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(1004, "")), []string{"close 1002 peer=false "}},
		{"close 1006", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(1006, "")), []string{"close 1002 peer=false "}},
		{"close 1012", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(1012, "")), []string{"close 1002 peer=false "}},
		{"close 1015", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(1015, "")), []string{"close 1002 peer=false "}},
		{"close 2999", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(2999, "")), []string{"close 1002 peer=false "}},
		{"close 5000", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(5000, "")), []string{"close 1002 peer=false "}},
		{"close 65535", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(65535, "")), []string{"close 1002 peer=false "}},
		{"close with bad UTF-8 reason", proto.JSON, 1024, clientFrame(true, ws.OpClose, closePayload(1000, "\xff")), []string{"close 1007 peer=false "}},
		{"unmasked", proto.JSON, 1024, cat(text("a"), rawFrame(true, 0, ws.OpText, false, []byte("b"))), []string{"msg a", "close 1002 peer=false "}},
		{"reserved bits", proto.JSON, 1024, rawFrame(true, 4, ws.OpText, true, []byte("b")), []string{"close 1002 peer=false "}},
		{"reserved opcode", proto.JSON, 1024, rawFrame(true, 0, 3, true, []byte("b")), []string{"close 1002 peer=false "}},
		{"control opcode reserved", proto.JSON, 1024, rawFrame(true, 0, 0xb, true, nil), []string{"close 1002 peer=false "}},
		{"fragmented ping", proto.JSON, 1024, clientFrame(false, ws.OpPing, []byte("x")), []string{"close 1002 peer=false "}},
		{"ping over 125", proto.JSON, 1024, clientFrame(true, ws.OpPing, []byte(big[:126])), []string{"close 1002 peer=false "}},
		{"continuation first", proto.JSON, 1024, clientFrame(true, ws.OpContinuation, []byte("x")), []string{"close 1002 peer=false "}},
		{"new message inside fragmented", proto.JSON, 1024, cat(clientFrame(false, ws.OpText, []byte("a")), text("b")), []string{"close 1002 peer=false "}},
		{"binary on json", proto.JSON, 1024, clientFrame(true, ws.OpBinary, []byte("x")), []string{"close 1003 peer=false "}},
		{"text on msgpack", proto.Msgpack, 1024, clientFrame(true, ws.OpText, []byte("x")), []string{"close 1003 peer=false "}},
		{"bad UTF-8", proto.JSON, 1024, text("ok\xc3\x28"), []string{"close 1007 peer=false "}},
		{"bad UTF-8 split over fragments is judged whole", proto.JSON, 1024, cat(
			clientFrame(false, ws.OpText, []byte("\xc3")),
			clientFrame(true, ws.OpContinuation, []byte("\xa9")),
		), []string{"msg é"}},
		{"bad UTF-8 across fragments", proto.JSON, 1024, cat(
			clientFrame(false, ws.OpText, []byte("\xc3")),
			clientFrame(true, ws.OpContinuation, []byte("(")),
		), []string{"close 1007 peer=false "}},
		{"binary need not be UTF-8", proto.Msgpack, 1024, clientFrame(true, ws.OpBinary, []byte{0xff}), []string{"msg \xff"}},
		{"at the limit", proto.JSON, 8, text("12345678"), []string{"msg 12345678"}},
		{"over the limit", proto.JSON, 8, cat(text("1"), text("123456789")), []string{"msg 1", "close 1009 peer=false "}},
		{"over the limit once reassembled", proto.JSON, 8, cat(
			clientFrame(false, ws.OpText, []byte("12345")),
			clientFrame(true, ws.OpContinuation, []byte("6789")),
		), []string{"close 1009 peer=false "}},
		{"huge declared length refused from the header", proto.JSON, 8, clientFrame(true, ws.OpText, []byte(big))[:8], []string{"close 1009 peer=false "}},
		{"64-bit length with top bit", proto.JSON, 8, []byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, []string{"close 1002 peer=false "}},
		{"multi-chunk message", proto.JSON, 1 << 16, cat(
			clientFrame(false, ws.OpText, []byte(strings.Repeat("a", 3000))),
			clientFrame(true, ws.OpPing, nil),
			clientFrame(true, ws.OpContinuation, []byte(strings.Repeat("b", 9000))),
		), []string{"ping ", "msg " + strings.Repeat("a", 3000) + strings.Repeat("b", 9000)}},
		{"partial frame kept", proto.JSON, 1024, clientFrame(true, ws.OpText, []byte("abc"))[:7], []string{"partial"}},
		{"partial header kept", proto.JSON, 1024, cat(text("a"), text(big)[:3]), []string{"msg a", "partial"}},
	}
}

func TestReader(t *testing.T) {
	for _, tc := range readerCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := run(tc.format, tc.max, tc.stream)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// TestReaderSplitAnywhere holds the reader to one rule: the result never depends on how
// the bytes were split across reads — at every single position, and byte by byte.
func TestReaderSplitAnywhere(t *testing.T) {
	for _, tc := range readerCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkSplits(t, tc.format, tc.max, tc.stream)
		})
	}
}

func checkSplits(t *testing.T, f proto.Format, max int, stream []byte) {
	t.Helper()
	whole := strings.Join(run(f, max, stream), "\n")
	for i := 0; i <= len(stream); i++ {
		if len(stream) > 4096 && i > 300 && i < len(stream)-300 && i%97 != 0 {
			continue // long streams: every cut near the frame edges, a sample in between
		}
		if got := strings.Join(run(f, max, stream, i), "\n"); got != whole {
			t.Fatalf("split at %d:\n%q\nwhole:\n%q", i, got, whole)
		}
	}
	cuts := make([]int, 0, len(stream))
	for i := 1; i < len(stream); i++ {
		cuts = append(cuts, i)
	}
	if got := strings.Join(run(f, max, stream, cuts...), "\n"); got != whole {
		t.Fatalf("byte by byte:\n%q\nwhole:\n%q", got, whole)
	}
}

func TestReaderFeedAfterCloseKeepsError(t *testing.T) {
	var r Reader
	r.Init(proto.JSON, 100, nil)
	var rec recorder
	err1 := r.Feed(clientFrame(true, ws.OpClose, closePayload(1001, "")), &rec)
	err2 := r.Feed(clientFrame(true, ws.OpText, []byte("late")), &rec)
	if err1 == nil || err1 != err2 || len(rec.log) != 0 {
		t.Fatalf("err1=%v err2=%v log=%q", err1, err2, rec.log)
	}
}

// TestReaderHoldsNoBufferBetweenFrames: a connection between frames keeps no buffer.
func TestReaderHoldsNoBufferBetweenFrames(t *testing.T) {
	var r Reader
	r.Init(proto.JSON, 1<<20, nil)
	var rec recorder
	f := clientFrame(true, ws.OpText, []byte(big))
	if err := r.Feed(append([]byte(nil), f[:10]...), &rec); err != nil {
		t.Fatal(err)
	}
	if r.Held() == 0 || !r.Partial() {
		t.Fatal("a partial frame should be held in a buffer")
	}
	if err := r.Feed(append([]byte(nil), f[10:]...), &rec); err != nil {
		t.Fatal(err)
	}
	if r.Held() != 0 || r.Partial() {
		t.Fatal("buffer kept after the frame completed")
	}
}

func TestReaderWholeFrameAllocatesNothing(t *testing.T) {
	var r Reader
	r.Init(proto.JSON, 1<<20, nil)
	frame := clientFrame(true, ws.OpText, []byte(`{"type":"chat","room":"lobby","content":"hello"}`))
	buf := make([]byte, len(frame))
	var rec nopHandler
	allocs := testing.AllocsPerRun(1000, func() {
		copy(buf, frame)
		if err := r.Feed(buf, rec); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
}

type nopHandler struct{}

func (nopHandler) Message([]byte) {}
func (nopHandler) Ping([]byte)    {}
func (nopHandler) Pong([]byte)    {}

func TestAppendClose(t *testing.T) {
	got := AppendClose(nil, 4008, "Slow consumer")
	want := append([]byte{0x88, 15, 0x0f, 0xa8}, "Slow consumer"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("%x, want %x", got, want)
	}
	if got := AppendClose(nil, ws.StatusNoStatusRcvd, ""); !bytes.Equal(got, []byte{0x88, 0}) {
		t.Fatalf("echo of no code: %x", got)
	}
	if got := AppendClose(nil, 1000, strings.Repeat("r", 200)); len(got) != 2+125 {
		t.Fatalf("long reason not cut: %d bytes", len(got))
	}
}

func TestAppendFrame(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		p := bytes.Repeat([]byte{'x'}, n)
		f := AppendFrame(nil, ws.OpPong, p)
		h, err := ws.ReadHeader(bytes.NewReader(f))
		if err != nil || h.Length != int64(n) || h.OpCode != ws.OpPong || !h.Fin || h.Masked {
			t.Fatalf("n=%d: %+v %v", n, h, err)
		}
	}
}

// TestReaderHoldsOnlyWhatArrived: a header announcing a large frame commits nothing, and
// while the payload trickles in the reader never holds more than what came plus one
// chunk (PROTOCOL.md §11).
func TestReaderHoldsOnlyWhatArrived(t *testing.T) {
	const size = 60000
	payload := strings.Repeat("x", size)
	frame := clientFrame(true, ws.OpText, []byte(payload))
	var r Reader
	budget := NewBudget(1 << 20)
	r.Init(proto.JSON, 65536, budget)
	var rec recorder
	hdr := len(frame) - size
	if err := r.Feed(append([]byte(nil), frame[:hdr]...), &rec); err != nil {
		t.Fatal(err)
	}
	if r.Held() != 0 || budget.Used() != 0 || !r.Partial() {
		t.Fatalf("a bare header of a %d-byte frame holds %d bytes (budget %d)", size, r.Held(), budget.Used())
	}
	for off := hdr; off < len(frame); off += 777 {
		end := min(off+777, len(frame))
		if err := r.Feed(append([]byte(nil), frame[off:end]...), &rec); err != nil {
			t.Fatal(err)
		}
		got := end - hdr
		if end < len(frame) && (r.Held() > got+4096 || int64(r.Held()) != budget.Used()) {
			t.Fatalf("after %d payload bytes the reader holds %d (budget says %d)", got, r.Held(), budget.Used())
		}
	}
	if len(rec.log) != 1 || rec.log[0] != "msg "+payload {
		t.Fatalf("message not delivered whole: %d entries", len(rec.log))
	}
	if r.Held() != 0 || budget.Used() != 0 {
		t.Fatalf("after the message: held %d, budget %d", r.Held(), budget.Used())
	}
}

// TestReaderBudgetSpent: readers sharing a spent budget close 1009; what they held goes
// back to the budget when they end.
func TestReaderBudgetSpent(t *testing.T) {
	budget := NewBudget(8 << 10)
	frame := clientFrame(true, ws.OpText, []byte(strings.Repeat("y", 6000)))
	var a, b Reader
	a.Init(proto.JSON, 65536, budget)
	b.Init(proto.JSON, 65536, budget)
	var rec recorder
	if err := a.Feed(append([]byte(nil), frame[:len(frame)-1]...), &rec); err != nil {
		t.Fatal(err)
	}
	err := b.Feed(append([]byte(nil), frame[:len(frame)-1]...), &rec)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != ws.StatusMessageTooBig || ce.FromPeer {
		t.Fatalf("over the budget: %v", err)
	}
	if b.Held() != 0 {
		t.Fatalf("the refused reader still holds %d bytes", b.Held())
	}
	if budget.Used() != int64(a.Held()) {
		t.Fatalf("budget %d, held %d", budget.Used(), a.Held())
	}
	a.Reset()
	if budget.Used() != 0 {
		t.Fatalf("budget %d after Reset", budget.Used())
	}
}
