package transporttest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/wsframe/wsframetest"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Run runs every case of the suite against the transport newTransport builds.
func Run(t *testing.T, newTransport Factory) {
	cases := []struct {
		name string
		run  func(*testing.T, Factory)
	}{
		{"ConnectedFirst", testConnectedFirst},
		{"JoinAndChatAcrossClients", testJoinAndChat},
		{"MsgpackSubprotocol", testMsgpack},
		{"UnmaskedFrame1002", testUnmasked},
		{"Oversized1009", testOversized},
		{"FragmentedReassembled", testFragmented},
		{"BadUTF8_1007", testBadUTF8},
		{"WrongFrameType1003", testWrongType},
		{"PingAnsweredSamePayload", testPing},
		{"CloseEchoed", testCloseEchoed},
		{"IdleTimeout1001", testIdle},
		{"AtCapacity4003", testCapacity},
		{"PerUserReplace4000", testReplace},
		{"IdentifyRefusalsNeverUpgraded", testIdentify},
		{"BytesRightAfterHandshakeKept", testBytesAfterHandshake},
		{"HalfFrameStallBlocksNobody", testHalfFrame},
		{"ShutdownCloses1001", testShutdown},
		{"SlowConsumer4008", testSlowConsumer},
		{"FullSocketResumes", testFullSocketResumes},
		{"StalledFramesHoldOnlyWhatArrived", testStalledHeap},
		{"MessageTimeout1008", testMessageTimeout},
		{"TrickledFrameIsNotActivity", testTrickleIdle},
		{"HeadersOver16KiB431", testHeaderLimit},
		{"BadSecWebSocketKey400", testBadKey},
		{"CloseCodesFromClient", testCloseCodes},
		{"OriginRuleWhateverIdentifies", testOriginWithOwnIdentify},
		{"MaxConnsPerIP503", testMaxConnsPerIP},
		{"AcceptRate503", testAcceptRate},
		{"DrainInBatches", testDrain},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newTransport) })
	}
}

func testConnectedFirst(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	c := s.Dial("/ws?user=ann")
	m := Read(t, c)
	if m["type"] != "connected" || m["user_id"] != "ann" || m["conn_id"] == "" {
		t.Fatalf("first frame %v", m)
	}
	if c.Subprotocol() != "" && c.Subprotocol() != proto.SubprotocolJSON {
		t.Fatalf("subprotocol %q", c.Subprotocol())
	}
	c2 := s.Dial("/ws/bob", proto.SubprotocolJSON)
	if m := Read(t, c2); m["user_id"] != "bob" || c2.Subprotocol() != proto.SubprotocolJSON {
		t.Fatalf("path identity: %v, subprotocol %q", m, c2.Subprotocol())
	}
}

func testJoinAndChat(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	ann, bob := s.Dial("/ws?user=ann"), s.Dial("/ws?user=bob")
	Read(t, ann)
	Read(t, bob)
	Send(t, ann, `{"type":"join","room":"lobby"}`)
	if m := ReadType(t, ann, "joined"); m["room"] != "lobby" || m["offset"] != float64(0) || m["recovered"] != false {
		t.Fatalf("joined %v", m) // PROTOCOL.md §10.1: before anything else about the room
	}
	ReadType(t, ann, "user_joined", "joined")
	Send(t, bob, `{"type":"join","room":"lobby","id":"j1"}`)
	ReadType(t, bob, "ack", "joined", "user_joined")
	Send(t, bob, `{"type":"chat","room":"lobby","content":"hello ann"}`)
	for _, c := range []*websocket.Conn{ann, bob} {
		m := ReadType(t, c, "chat", "joined", "user_joined")
		if m["sender"] != "bob" || m["content"] != "hello ann" || m["room"] != "lobby" {
			t.Fatalf("chat %v", m)
		}
	}
}

func testMsgpack(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	c := s.Dial("/ws?user=mia", proto.SubprotocolJSON+"x", proto.SubprotocolMsgpack)
	if c.Subprotocol() != proto.SubprotocolMsgpack {
		t.Fatalf("subprotocol %q", c.Subprotocol())
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	readMsgpack := func() map[string]any {
		typ, p, err := c.Read(ctx)
		if err != nil || typ != websocket.MessageBinary {
			t.Fatalf("read %v %v", typ, err)
		}
		m, err := proto.DecodeMessage(proto.Msgpack, p)
		if err != nil {
			t.Fatalf("not MessagePack: %v", err)
		}
		return m
	}
	if m := readMsgpack(); m["type"] != "connected" || m["user_id"] != "mia" {
		t.Fatalf("first frame %v", m)
	}
	// {"type":"join","room":"r"} as a MessagePack map.
	join := []byte{0x82, 0xa4, 't', 'y', 'p', 'e', 0xa4, 'j', 'o', 'i', 'n', 0xa4, 'r', 'o', 'o', 'm', 0xa1, 'r'}
	if err := c.Write(ctx, websocket.MessageBinary, join); err != nil {
		t.Fatal(err)
	}
	if m := readMsgpack(); m["type"] != "joined" || m["room"] != "r" {
		t.Fatalf("join answer %v", m)
	}
	if m := readMsgpack(); m["type"] != "user_joined" || m["room"] != "r" {
		t.Fatalf("join answer %v", m)
	}
	// A text frame on switchboard.msgpack is refused 1003.
	c.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`))
	ExpectClose(t, c, websocket.StatusUnsupportedData, "")
}

func testUnmasked(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	r := s.DialRaw("/ws?user=u", nil, nil)
	r.ReadJSON()
	r.Write(wsframetest.Raw(true, 0, ws.OpText, false, []byte(`{"type":"ping"}`)))
	r.ExpectClose(1002, "-")
}

func testOversized(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{MaxMessageBytes: 1024})
	r := s.DialRaw("/ws?user=u", nil, nil)
	r.ReadJSON()
	r.Write(ClientFrame(true, 0x1, []byte(`{"type":"chat","room":"r","content":"`+strings.Repeat("x", 2000)+`"}`)))
	r.ExpectClose(1009, "-")

	// The limit applies to the reassembled message, not to each fragment.
	r = s.DialRaw("/ws?user=v", nil, nil)
	r.ReadJSON()
	r.Write(ClientFrame(false, 0x1, bytes.Repeat([]byte(" "), 700)))
	r.Write(ClientFrame(true, 0x0, bytes.Repeat([]byte(" "), 700)))
	r.ExpectClose(1009, "-")
}

func testFragmented(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	r := s.DialRaw("/ws?user=u", nil, nil)
	r.ReadJSON()
	msg := []byte(`{"type":"join","room":"frag","id":"f1"}`)
	r.Write(ClientFrame(false, 0x1, msg[:5]))
	r.Write(ClientFrame(true, 0x9, []byte("mid")))
	r.Write(ClientFrame(false, 0x0, msg[5:20]))
	r.Write(ClientFrame(true, 0x0, msg[20:]))
	pong, err := r.ReadFrame()
	if err != nil || pong.Op != 0xa || string(pong.Payload) != "mid" {
		t.Fatalf("pong inside a fragmented message: %v %q", err, pong.Payload)
	}
	if m := r.ReadJSON(); m["type"] != "joined" || m["room"] != "frag" {
		t.Fatalf("reassembled join answered %v", m)
	}
	if m := r.ReadJSON(); m["type"] != "user_joined" || m["room"] != "frag" {
		t.Fatalf("reassembled join answered %v", m)
	}
	if m := r.ReadJSON(); m["type"] != "ack" || m["id"] != "f1" {
		t.Fatalf("ack %v", m)
	}
}

func testBadUTF8(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	r := s.DialRaw("/ws?user=u", nil, nil)
	r.ReadJSON()
	r.Write(ClientFrame(true, 0x1, []byte("{\"type\":\"ping\",\"x\":\"\xc3\x28\"}")))
	r.ExpectClose(1007, "-")
}

func testWrongType(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	r := s.DialRaw("/ws?user=u", nil, nil)
	r.ReadJSON()
	r.Write(ClientFrame(true, 0x2, []byte(`{"type":"ping"}`)))
	r.ExpectClose(1003, "-")
}

func testPing(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	r := s.DialRaw("/ws?user=u", nil, nil)
	r.ReadJSON()
	r.Write(ClientFrame(true, 0x9, []byte("are you there?")))
	pong, err := r.ReadFrame()
	if err != nil || pong.Op != 0xa || string(pong.Payload) != "are you there?" {
		t.Fatalf("pong %v op=%d %q", err, pong.Op, pong.Payload)
	}
}

func testCloseEchoed(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	r := s.DialRaw("/ws?user=u", nil, nil)
	r.ReadJSON()
	r.Write(ClientFrame(true, 0x8, append([]byte{0x0f, 0xa0}, "bye"...))) // 4000 "bye"
	fr, err := r.ReadFrame()
	if err != nil || fr.Op != 0x8 || len(fr.Payload) < 2 || fr.Payload[0] != 0x0f || fr.Payload[1] != 0xa0 {
		t.Fatalf("close echo: %v op=%d %x", err, fr.Op, fr.Payload)
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("after the echo the server should close the connection, got %v", err)
	}
	WaitFor(t, "the node to forget the connection", func() bool {
		return s.Admin(core.AdminRequest{Op: core.AdminStats}).Stats.TotalConnections == 0
	})
}

func testIdle(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{IdleTimeout: 300 * time.Millisecond, PingInterval: 100 * time.Millisecond})
	r := s.DialRaw("/ws?user=u", nil, nil)
	r.ReadJSON()
	// The raw client answers nothing, not even the server's pings.
	pings := 0
	for {
		fr, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("no idle close: %v", err)
		}
		if fr.Op == 0x9 {
			pings++
			continue
		}
		if fr.Op != 0x8 {
			t.Fatalf("unexpected frame %d", fr.Op)
		}
		code := uint16(fr.Payload[0])<<8 | uint16(fr.Payload[1])
		if code != 1001 || string(fr.Payload[2:]) != "Idle timeout" {
			t.Fatalf("closed %d %q", code, fr.Payload[2:])
		}
		break
	}
	if pings == 0 {
		t.Fatal("the server sent no ping before the idle timeout")
	}
	// A client that answers pings is not idle.
	c := s.Dial("/ws?user=alive")
	Read(t, c) // connected; from here on it receives nothing but pings
	readCtx, stopReading := context.WithCancel(context.Background())
	defer stopReading()
	ctx := c.CloseRead(readCtx) // coder/websocket answers pings while reading
	time.Sleep(700 * time.Millisecond)
	select {
	case <-ctx.Done():
		t.Fatal("a client answering pings was closed as idle")
	default:
	}
}

func testCapacity(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{Core: core.Config{MaxConns: 1}})
	a := s.Dial("/ws?user=a")
	Read(t, a)
	b := s.Dial("/ws?user=b")
	ExpectClose(t, b, 4003, "Server at capacity")
}

func testReplace(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{Core: core.Config{MaxPerUser: 1}})
	old := s.Dial("/ws?user=ann")
	Read(t, old)
	fresh := s.Dial("/ws?user=ann")
	Read(t, fresh)
	ExpectClose(t, old, 4000, "Replaced by new connection")
}

func testIdentify(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{Identify: func(r *http.Request) (core.Identity, error) {
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			return core.Identity{}, &node.HTTPError{Status: 403, Code: "forbidden", Message: "origin not allowed"}
		}
		if r.URL.Query().Get("token") != "good" {
			return core.Identity{}, &node.HTTPError{Status: 401, Code: "unauthorized", Message: "bad token"}
		}
		return core.Identity{User: "ann"}, nil
	}})
	for _, tc := range []struct {
		path, origin string
		status       int
		code         string
	}{
		{"/ws?token=bad", "", 401, "unauthorized"},
		{"/ws?token=good", "http://evil.example", 403, "forbidden"},
	} {
		nc, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(timeout))
		var extra []string
		if tc.origin != "" {
			extra = append(extra, "Origin: "+tc.origin)
		}
		nc.Write([]byte(handshake(tc.path, extra...)))
		resp, err := http.ReadResponse(bufioReader(nc), nil)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error, Message string }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		nc.Close()
		if resp.StatusCode != tc.status || err != nil || body.Error != tc.code || body.Message == "" {
			t.Fatalf("%s: %s %v %+v", tc.path, resp.Status, err, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("content type %q", ct)
		}
	}
	c := s.Dial("/ws?token=good")
	if m := Read(t, c); m["user_id"] != "ann" {
		t.Fatalf("identified as %v", m["user_id"])
	}
}

func testBytesAfterHandshake(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	first := append(ClientFrame(true, 0x1, []byte(`{"type":"join","room":"early"}`)),
		ClientFrame(true, 0x1, []byte(`{"type":"ping","id":"p"}`))...)
	r := s.DialRaw("/ws?user=eager", first, nil)
	if m := r.ReadJSON(); m["type"] != "connected" {
		t.Fatalf("first %v", m)
	}
	if m := r.ReadJSON(); m["type"] != "joined" || m["room"] != "early" {
		t.Fatalf("join sent with the handshake was lost: %v", m)
	}
	if m := r.ReadJSON(); m["type"] != "user_joined" || m["room"] != "early" {
		t.Fatalf("join sent with the handshake was lost: %v", m)
	}
	if m := r.ReadJSON(); m["type"] != "pong" {
		t.Fatalf("ping sent with the handshake: %v", m)
	}
}

func testHalfFrame(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	stalled := s.DialRaw("/ws?user=stall", nil, nil)
	stalled.ReadJSON()
	frame := ClientFrame(true, 0x1, []byte(`{"type":"join","room":"r"}`))
	stalled.Write(frame[:len(frame)/2])
	var clients []*websocket.Conn
	for _, u := range []string{"a", "b", "c", "d", "e", "f"} {
		c := s.Dial("/ws?user=" + u)
		Read(t, c)
		Send(t, c, `{"type":"join","room":"r"}`)
		ReadType(t, c, "user_joined", "joined") // its own: the join is done
		clients = append(clients, c)
	}
	Send(t, clients[0], `{"type":"chat","room":"r","content":"still moving"}`)
	for _, c := range clients {
		ReadType(t, c, "chat", "joined", "user_joined")
	}
	// The stalled frame completes later and is understood.
	stalled.Write(frame[len(frame)/2:])
	if m := stalled.ReadJSON(); m["type"] != "joined" {
		t.Fatalf("completed half frame: %v", m)
	}
	if m := stalled.ReadJSON(); m["type"] != "user_joined" {
		t.Fatalf("completed half frame: %v", m)
	}
}

func testShutdown(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{})
	c := s.Dial("/ws?user=a")
	Read(t, c)
	r := s.DialRaw("/ws?user=b", nil, nil)
	r.ReadJSON()
	done := make(chan struct{})
	go func() { defer close(done); s.Shutdown() }()
	ExpectClose(t, c, websocket.StatusGoingAway, "Server shutting down")
	r.ExpectClose(1001, "Server shutting down")
	<-done
	// Not accepting any more.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if c2, resp, err := websocket.Dial(ctx, s.URL("/ws?user=late"), nil); err == nil {
		c2.CloseNow()
		t.Fatal("upgraded after shutdown")
	} else if resp != nil && resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after shutdown: %s", resp.Status)
	}
}

// testSlowConsumer: a reader that stops reading is closed 4008 while a normal reader
// gets every message, and the bytes queued for the slow one never exceed the limit.
func testSlowConsumer(t *testing.T, f Factory) {
	const limit = 64 << 10
	s := Start(t, f, node.Options{SendQueueBytes: limit})
	smallBuffer := &net.Dialer{Control: smallReceiveBuffer}
	slow := s.DialRaw("/ws?user=slow", ClientFrame(true, 0x1, []byte(`{"type":"join","room":"r"}`)), smallBuffer)
	reader := s.Dial("/ws?user=reader")
	Read(t, reader)
	Send(t, reader, `{"type":"join","room":"r"}`)
	ReadType(t, reader, "user_joined", "joined")
	sender := s.Dial("/ws?user=sender")
	Read(t, sender)
	Send(t, sender, `{"type":"join","room":"r"}`)
	senderDone := make(chan struct{})
	var senderErr atomic.Value
	go func() { // the sender is in the room too: it reads (and drops) its own echoes
		defer close(senderDone)
		for {
			if _, _, err := sender.Read(context.Background()); err != nil {
				senderErr.Store(err.Error())
				return
			}
		}
	}()

	var got atomic.Int64
	readerDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		for {
			_, p, err := reader.Read(ctx)
			if err != nil {
				readerDone <- err
				return
			}
			if bytes.Contains(p, []byte(`"type":"chat"`)) {
				got.Add(1)
			}
		}
	}()
	content := strings.Repeat("z", 4000)
	sent := 0
	for sent < 1000 || s.Node.Stats().SlowConsumers == 0 {
		if sent%10 == 0 {
			// A normal reader keeps up: the sender paces itself to it (but not to the
			// slow one), as a chat room's many senders would on average.
			WaitFor(t, "the normal reader to catch up", func() bool { return got.Load() >= int64(sent-10) })
		}
		if sent > 20000 {
			t.Fatal("the reader that stopped reading was never closed")
		}
		if err := sender.Write(context.Background(), websocket.MessageText, []byte(`{"type":"chat","room":"r","content":"`+content+`"}`)); err != nil {
			t.Fatalf("sender: %v after %d messages (its reader: %v; node %+v)", err, sent, senderErr.Load(), s.Node.Stats())
		}
		sent++
	}
	WaitFor(t, "every message at the normal reader", func() bool {
		select {
		case err := <-readerDone:
			t.Fatalf("the normal reader stopped after %d of %d messages: %v (node: %+v)", got.Load(), sent, err, s.Node.Stats())
		default:
		}
		return got.Load() == int64(sent)
	})
	st := s.Node.Stats()
	if st.PeakConnQueue > limit {
		t.Fatalf("%d bytes queued on one connection, limit %d", st.PeakConnQueue, limit)
	}
	if st.SlowConsumers != 1 {
		t.Fatalf("%d slow consumers, want 1", st.SlowConsumers)
	}
	// The slow reader wakes up: after what the kernel held, its close frame says why.
	slow.ExpectClose(4008, "Slow consumer")
	reader.CloseNow()
	sender.CloseNow()
	<-readerDone
	<-senderDone
	t.Logf("%d messages sent; peak queue on one connection %d bytes (limit %d)", sent, st.PeakConnQueue, limit)
}

// testFullSocketResumes: a reader that pauses (its socket full, well under the queue
// limit) gets everything, in order, once it reads again.
func testFullSocketResumes(t *testing.T, f Factory) {
	s := Start(t, f, node.Options{SendQueueBytes: 16 << 20})
	paused := s.DialRaw("/ws?user=paused", ClientFrame(true, 0x1, []byte(`{"type":"join","room":"r"}`)), &net.Dialer{Control: smallReceiveBuffer})
	paused.ReadJSON() // connected
	paused.ReadJSON() // joined
	paused.ReadJSON() // its user_joined
	sender := s.Dial("/ws?user=sender")
	Read(t, sender)
	Send(t, sender, `{"type":"join","room":"r"}`)
	ReadType(t, sender, "user_joined", "joined")
	content := strings.Repeat("q", 4000)
	messages := 0
	// Send until the kernel's buffers are full and the server holds bytes back.
	for messages < 100 || s.Node.Stats().SocketFull == 0 {
		if messages > 5000 {
			t.Fatal("the paused reader's socket never filled")
		}
		Send(t, sender, `{"type":"chat","room":"r","content":"`+content+`"}`)
		ReadType(t, sender, "chat") // the sender keeps up; the paused reader does not read
		messages++
	}
	last := 0.0
	for got := 0; got < messages; {
		m := paused.ReadJSON()
		if m["type"] != "chat" {
			continue
		}
		if off, _ := m["offset"].(float64); off <= last || m["content"] != content {
			t.Fatalf("message %d out of order or damaged: offset %v after %v", got, m["offset"], last)
		} else {
			last = off
		}
		got++
	}
	WaitFor(t, "the queue to drain", func() bool { return s.Node.Stats().QueuedBytes == 0 })
}
