package proto

import (
	"testing"
)

// Realistic chat traffic: a client's chat request with an id, a little non-ASCII text
// and (in the escaped variant) the quotes and newlines browsers' JSON.stringify emits.
var (
	chatJSON        = []byte(`{"type":"chat","room":"team:blue/general","content":"Good morning everyone! Standup moved to 10:30 today, same room as usual ☕","id":"msg-000042"}`)
	chatJSONEscaped = []byte(`{"type":"chat","room":"team:blue/general","content":"He said \"ship it\"\nand left \u2014 see you tomorrow \ud83d\ude00","id":"msg-000043"}`)
)

func BenchmarkParseJSON(b *testing.B) {
	for _, bc := range []struct {
		name    string
		payload []byte
	}{{"chat", chatJSON}, {"chat-escaped", chatJSONEscaped}} {
		b.Run(bc.name, func(b *testing.B) {
			var r Request
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.payload)))
			for b.Loop() {
				if err := Parse(JSON, bc.payload, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseMsgpack(b *testing.B) {
	payload, err := jsonToMsgpack(string(chatJSON))
	if err != nil {
		b.Fatal(err)
	}
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if err := Parse(Msgpack, payload, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// The hub's hot path: a pooled chat message, filled, framed once, released.
func benchmarkFrame(b *testing.B, f Format) {
	content := []byte("Good morning everyone! Standup moved to 10:30 today, same room as usual ☕")
	b.ReportAllocs()
	var n int
	for b.Loop() {
		m := NewMessage(MsgChat)
		m.Room, m.Sender, m.Offset, m.Time = "team:blue/general", "ann", 42, time0
		m.Content = append(m.Content[:0], content...)
		n = len(m.Frame(testFraming{header: "HD"}, f))
		m.Release()
	}
	b.SetBytes(int64(n))
}

func BenchmarkFrameJSON(b *testing.B)    { benchmarkFrame(b, JSON) }
func BenchmarkFrameMsgpack(b *testing.B) { benchmarkFrame(b, Msgpack) }
