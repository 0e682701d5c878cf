package store

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

var t0 = time.Date(2026, 11, 27, 19, 0, 0, 123_000_000, time.UTC)

// chat is the StoreAppend the hub emits for a chat of room at offset in epoch.
func chat(room, epoch string, keep int, offset uint64, sender, content string) core.Action {
	m := proto.NewMessage(proto.MsgChat)
	m.Room, m.Sender, m.Offset, m.Time = room, sender, offset, t0.Add(time.Duration(offset)*time.Second)
	m.Content = append(m.Content[:0], content...)
	return core.Action{Kind: core.ActionStore, Store: core.StoreAppend, Msg: m, Room: room, Epoch: epoch, Keep: keep}
}

func drop(room, epoch string) core.Action {
	return core.Action{Kind: core.ActionStore, Store: core.StoreDrop, Room: room, Epoch: epoch}
}

func beginEpoch(room, epoch string, keep int) core.Action {
	return core.Action{Kind: core.ActionStore, Store: core.StoreBegin, Room: room, Epoch: epoch, Keep: keep}
}

// held is the StoredMessage chat(…, offset, sender, content) comes back as.
func held(offset uint64, sender, content string) core.StoredMessage {
	return core.StoredMessage{Sender: sender, Content: []byte(content), Offset: offset, Time: t0.Add(time.Duration(offset) * time.Second)}
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func write(t *testing.T, s *Store, actions ...core.Action) {
	t.Helper()
	if err := s.Write(actions); err != nil {
		t.Fatal(err)
	}
	for _, a := range actions {
		if a.Msg != nil {
			a.Msg.Release()
		}
	}
}

func expectLoad(t *testing.T, s *Store, want ...core.StreamState) {
	t.Helper()
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if want == nil {
		want = []core.StreamState(nil)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Load:\n got %+v\nwant %+v", got, want)
	}
}

// TestRoundTrip writes two rooms' chats and reads them back, also after the file was
// closed and opened again: epochs, last offsets, senders, contents (any bytes), times and
// chat ids.
func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data") // Open creates it
	s := open(t, dir)
	expectLoad(t, s)
	write(t, s, chat("lobby", "e1", 10, 1, "ann", "hi"), chat("team:42/dev", "e7", 10, 1, "server", ""))
	write(t, s, chat("lobby", "e1", 10, 2, "bob", "ünïcode \x00 \"quoted\"\n"))
	withID := chat("lobby", "e1", 10, 3, "bob", "resendable")
	withID.Msg.ID = append(withID.Msg.ID[:0], "c-42"...)
	write(t, s, withID)
	heldID := held(3, "bob", "resendable")
	heldID.ID = []byte("c-42")
	want := []core.StreamState{
		{Room: "lobby", Epoch: "e1", Offset: 3, Messages: []core.StoredMessage{held(1, "ann", "hi"), held(2, "bob", "ünïcode \x00 \"quoted\"\n"), heldID}},
		{Room: "team:42/dev", Epoch: "e7", Offset: 1, Messages: []core.StoredMessage{{Sender: "server", Offset: 1, Time: t0.Add(time.Second)}}},
	}
	expectLoad(t, s, want...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != FileName {
		t.Fatalf("data dir holds %v, want only %s", entries, FileName)
	}
	expectLoad(t, open(t, dir), want...)
}

// TestTrimToKeep keeps each stream's Keep newest messages, also when Keep shrinks (a
// restart with a lower --history) or the stream keeps none.
func TestTrimToKeep(t *testing.T) {
	s := open(t, t.TempDir())
	for off := uint64(1); off <= 10; off++ {
		write(t, s, chat("r", "e1", 3, off, "ann", "m"))
	}
	expectLoad(t, s, core.StreamState{Room: "r", Epoch: "e1", Offset: 10,
		Messages: []core.StoredMessage{held(8, "ann", "m"), held(9, "ann", "m"), held(10, "ann", "m")}})
	write(t, s, chat("r", "e1", 1, 11, "bob", "last"))
	expectLoad(t, s, core.StreamState{Room: "r", Epoch: "e1", Offset: 11, Messages: []core.StoredMessage{held(11, "bob", "last")}})
	write(t, s, chat("r", "e1", 0, 12, "bob", "not held"))
	expectLoad(t, s, core.StreamState{Room: "r", Epoch: "e1", Offset: 12})
}

// TestEpochReplaces: the first chat of a new epoch replaces the room's old stream whole.
func TestEpochReplaces(t *testing.T) {
	s := open(t, t.TempDir())
	write(t, s, chat("r", "old", 10, 1, "ann", "a"), chat("r", "old", 10, 2, "ann", "b"), chat("r", "old", 10, 3, "ann", "c"))
	write(t, s, chat("r", "new", 10, 1, "bob", "fresh"))
	expectLoad(t, s, core.StreamState{Room: "r", Epoch: "new", Offset: 1, Messages: []core.StoredMessage{held(1, "bob", "fresh")}})
}

// TestBegin keeps the epoch of a stream with no message yet (offset 0), across a reopen;
// it replaces a stream of another epoch and leaves one of its own epoch as it is.
func TestBegin(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	write(t, s, beginEpoch("quiet", "e1", 10), chat("busy", "old", 10, 1, "ann", "x"), beginEpoch("busy", "new", 10))
	write(t, s, chat("same", "e5", 10, 1, "ann", "kept"), beginEpoch("same", "e5", 10))
	want := []core.StreamState{
		{Room: "busy", Epoch: "new"},
		{Room: "quiet", Epoch: "e1"},
		{Room: "same", Epoch: "e5", Offset: 1, Messages: []core.StoredMessage{held(1, "ann", "kept")}},
	}
	expectLoad(t, s, want...)
	s.Close()
	s = open(t, dir)
	expectLoad(t, s, want...)
	write(t, s, chat("quiet", "e1", 10, 1, "bob", "first"))
	expectLoad(t, s, want[0], core.StreamState{Room: "quiet", Epoch: "e1", Offset: 1, Messages: []core.StoredMessage{held(1, "bob", "first")}}, want[2])
}

// TestDrop forgets a stream (expired or dropped for the budget) and leaves the others;
// dropping a stream the store never held is no error.
func TestDrop(t *testing.T) {
	s := open(t, t.TempDir())
	write(t, s, chat("gone", "e1", 10, 1, "ann", "x"), chat("kept", "e2", 10, 1, "ann", "y"))
	write(t, s, drop("gone", "e1"), drop("never", "e9"))
	expectLoad(t, s, core.StreamState{Room: "kept", Epoch: "e2", Offset: 1, Messages: []core.StoredMessage{held(1, "ann", "y")}})
	// A drop and the next epoch's first chat in one step.
	write(t, s, drop("kept", "e2"), chat("kept", "e3", 10, 1, "bob", "z"))
	expectLoad(t, s, core.StreamState{Room: "kept", Epoch: "e3", Offset: 1, Messages: []core.StoredMessage{held(1, "bob", "z")}})
}

// TestWriteIgnoresOtherActions: a step's deliveries, closes and replies are not the
// store's business, also when they come between its store actions.
func TestWriteIgnoresOtherActions(t *testing.T) {
	s := open(t, t.TempDir())
	write(t, s, core.Action{Kind: core.ActionDeliver}, core.Action{Kind: core.ActionClose, Conn: 3, Code: 4009})
	expectLoad(t, s)
	write(t, s, core.Action{Kind: core.ActionDeliver, Targets: []core.ConnID{1}}, chat("r", "e1", 5, 1, "ann", "hi"),
		core.Action{Kind: core.ActionAdminReply, Reply: &core.AdminReply{}})
	expectLoad(t, s, core.StreamState{Room: "r", Epoch: "e1", Offset: 1, Messages: []core.StoredMessage{held(1, "ann", "hi")}})
}

// TestWriteRefusesBadAppend: an append without a message changes nothing.
func TestWriteRefusesBadAppend(t *testing.T) {
	s := open(t, t.TempDir())
	write(t, s, chat("r", "e1", 5, 1, "ann", "hi"))
	err := s.Write([]core.Action{drop("r", "e1"), {Kind: core.ActionStore, Store: core.StoreAppend, Room: "r", Epoch: "e1"}})
	if err == nil || !strings.Contains(err.Error(), "append without a message") {
		t.Fatalf("Write: %v, want an append-without-message error", err)
	}
	// One transaction per call: the drop before the bad action did not happen either.
	expectLoad(t, s, core.StreamState{Room: "r", Epoch: "e1", Offset: 1, Messages: []core.StoredMessage{held(1, "ann", "hi")}})
}

// TestSecondOpenFails: a second server on the same directory fails clearly instead of
// waiting or sharing the file; once the first closes, the directory opens again.
func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if s2, err := Open(dir); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("second Open: %v, want in use by another process", err)
	}
	if d := time.Since(start); d > 10*lockTimeout {
		t.Fatalf("second Open took %s", d)
	}
	s.Close()
	open(t, dir)
}

// TestOpenRefusesOtherFiles: a file that is not a bbolt database is named in the error.
func TestOpenRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir); err == nil || !strings.Contains(err.Error(), FileName) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open: %v, want an error naming %s", err, FileName)
	}
}
