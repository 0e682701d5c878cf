package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests restart the program on the same --data-dir (PROTOCOL.md §10.2): cleanly
// with SIGTERM, and with SIGKILL of a real child process right after a chat's ack, and
// check what a reconnecting client and the history API see.

// childEnv, set to 1, makes the test binary run the program instead of its tests
// (TestMain), so that a test can SIGKILL a real server process.
const childEnv = "SWITCHBOARD_TEST_RUN_PROGRAM"

// startChild runs the program in a child process with args (plus --addr 127.0.0.1:0)
// and waits for its "listening on" line. The returned instance's exited is closed when
// the process is gone; Cleanup kills it if the test did not.
func startChild(t testing.TB, args ...string) (*instance, *os.Process) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	in := &instance{t: t, exited: make(chan struct{}), stderr: &syncBuffer{}, client: &http.Client{Timeout: wait}}
	cmd.Stderr = in.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for first := true; sc.Scan(); first = false {
			if first {
				lines <- sc.Text()
			}
		}
		close(lines)
		_ = cmd.Wait() // after the pipe is drained, as exec asks; the code says the rest
		in.code = cmd.ProcessState.ExitCode()
		close(in.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-in.exited
		in.client.CloseIdleConnections()
	})
	select {
	case line, ok := <-lines:
		m := listeningRE.FindStringSubmatch(line)
		if !ok || m == nil {
			<-in.exited
			t.Fatalf("child's first stdout line %q, want `listening on http://HOST:PORT`; stderr:\n%s", line, in.stderr.String())
		}
		in.url = m[1]
		in.wsURL = "ws" + strings.TrimPrefix(in.url, "http")
	case <-time.After(wait):
		t.Fatal("no `listening on` line from the child")
	}
	return in, cmd.Process
}

// next reads cl's next frame, whatever its type: these tests check the exact order.
func (cl *client) next() map[string]any {
	cl.t.Helper()
	m, err := cl.read()
	if err != nil {
		cl.t.Fatalf("%s: read: %v", cl.name, err)
	}
	return m
}

// expectFrame reads cl's next frame and checks that it has every field of want (JSON;
// numbers compare as JSON numbers); other fields (timestamp) are not compared.
func (cl *client) expectFrame(want string) map[string]any {
	cl.t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		cl.t.Fatalf("bad want %q", want)
	}
	got := cl.next()
	for k, v := range w {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			cl.t.Fatalf("%s: got %v, want the fields of %s", cl.name, got, want)
		}
	}
	return got
}

// post sends an admin POST with the JSON content type and returns status and body.
func (in *instance) post(path, body string) (int, string) {
	in.t.Helper()
	return in.http("POST", path, body, "Content-Type", "application/json")
}

// joinFresh joins room on cl and returns the stream's epoch from joined.
func joinFresh(cl *client, room string) string {
	cl.t.Helper()
	cl.send(`{"type":"join","room":"` + room + `"}`)
	j := cl.expectFrame(`{"type":"joined","room":"` + room + `","recovered":false}`)
	cl.expectFrame(`{"type":"user_joined","room":"` + room + `"}`)
	epoch, _ := j["epoch"].(string)
	if epoch == "" {
		cl.t.Fatalf("joined without an epoch: %v", j)
	}
	return epoch
}

// TestDataDirRestart: a client that saw offset 1 of epoch E, then left, comes back after
// a restart with the same --data-dir and recovers everything after it, the admin
// publishes made while nobody was in the room included; offsets go on; the history API
// answers from what was restored, with the same timestamps.
func TestDataDirRestart(t *testing.T) {
	dir := t.TempDir()
	in := start(t, "--data-dir", dir)
	ann, _ := in.connect("/ws?user=ann")
	epoch := joinFresh(ann, "lobby")
	ann.send(`{"type":"chat","room":"lobby","content":"before","id":"a1"}`)
	live := ann.expectFrame(`{"type":"chat","room":"lobby","sender":"ann","content":"before","offset":1}`)
	ann.expectFrame(`{"type":"ack","id":"a1","offset":1}`)
	ann.c.CloseNow()
	in.eventually("/api/rooms", func(body string) bool { return strings.Contains(body, `"total":0`) })
	for i, want := range []string{`{"delivered":0,"offset":2}`, `{"delivered":0,"offset":3}`} {
		if code, body := in.post("/api/rooms/lobby/publish", fmt.Sprintf(`{"content":"while away %d"}`, i+1)); code != 200 || body != want {
			t.Fatalf("publish to the empty room: %d %s, want %s", code, body, want)
		}
	}
	if code := in.stop(); code != 0 {
		t.Fatalf("first run exited %d; stderr:\n%s", code, in.stderr.String())
	}

	in = start(t, "--data-dir", dir)
	var hist struct {
		Room, Epoch string
		Offset      float64
		Messages    []map[string]any
	}
	code, body := in.http("GET", "/api/rooms/lobby/history?since=0&limit=2", "")
	if err := json.Unmarshal([]byte(body), &hist); code != 200 || err != nil || hist.Room != "lobby" || hist.Epoch != epoch ||
		hist.Offset != 3 || len(hist.Messages) != 2 {
		t.Fatalf("history after restart: %d %s, want epoch %s, offset 3, 2 messages", code, body, epoch)
	}
	if m := hist.Messages[0]; m["type"] != "chat" || m["sender"] != "ann" || m["content"] != "before" || m["offset"] != 1.0 ||
		m["timestamp"] != live["timestamp"] {
		t.Fatalf("history message 1: %v, want the chat seen live: %v", m, live)
	}
	if m := hist.Messages[1]; m["sender"] != "server" || m["content"] != "while away 1" || m["offset"] != 2.0 {
		t.Fatalf("history message 2: %v", m)
	}
	code, body = in.http("GET", "/api/rooms/lobby/history?since=2&limit=5", "")
	if err := json.Unmarshal([]byte(body), &hist); code != 200 || err != nil || len(hist.Messages) != 1 ||
		hist.Messages[0]["content"] != "while away 2" || hist.Messages[0]["offset"] != 3.0 {
		t.Fatalf("history since 2: %d %s, want the one message at offset 3", code, body)
	}

	ann, _ = in.connect("/ws?user=ann")
	ann.send(`{"type":"join","room":"lobby","since":1,"epoch":"` + epoch + `","id":"j"}`)
	ann.expectFrame(`{"type":"joined","room":"lobby","epoch":"` + epoch + `","offset":3,"recovered":true}`)
	ann.expectFrame(`{"type":"chat","room":"lobby","sender":"server","content":"while away 1","offset":2}`)
	ann.expectFrame(`{"type":"chat","room":"lobby","sender":"server","content":"while away 2","offset":3}`)
	ann.expectFrame(`{"type":"user_joined","room":"lobby","user_id":"ann"}`)
	ann.expectFrame(`{"type":"ack","id":"j"}`)
	ann.send(`{"type":"chat","room":"lobby","content":"after","id":"a2"}`)
	ann.expectFrame(`{"type":"chat","room":"lobby","sender":"ann","content":"after","offset":4}`)
	ann.expectFrame(`{"type":"ack","id":"a2","offset":4}`)
}

// TestDataDirKill9: chats acked right before the server process is killed with SIGKILL
// are there after a restart on the same --data-dir, and a client recovers them.
func TestDataDirKill9(t *testing.T) {
	dir := t.TempDir()
	in, proc := startChild(t, "--data-dir", dir)
	ann, _ := in.connect("/ws?user=ann")
	epoch := joinFresh(ann, "team")
	const chats = 5
	for i := 1; i <= chats; i++ {
		ann.send(fmt.Sprintf(`{"type":"chat","room":"team","content":"c%d","id":"c%d"}`, i, i))
		ann.expectFrame(fmt.Sprintf(`{"type":"chat","content":"c%d","offset":%d}`, i, i))
		ann.expectFrame(fmt.Sprintf(`{"type":"ack","id":"c%d","offset":%d}`, i, i))
	}
	if err := proc.Kill(); err != nil { // SIGKILL right after the last ack arrived
		t.Fatal(err)
	}
	<-in.exited
	if in.code != -1 {
		t.Fatalf("child exited %d, want killed by a signal", in.code)
	}

	in = start(t, "--data-dir", dir)
	ann, _ = in.connect("/ws?user=ann")
	ann.send(`{"type":"join","room":"team","since":2,"epoch":"` + epoch + `"}`)
	ann.expectFrame(`{"type":"joined","room":"team","epoch":"` + epoch + `","offset":5,"recovered":true}`)
	for i := 3; i <= chats; i++ {
		ann.expectFrame(fmt.Sprintf(`{"type":"chat","room":"team","sender":"ann","content":"c%d","offset":%d}`, i, i))
	}
	ann.expectFrame(`{"type":"user_joined","room":"team","user_id":"ann"}`)
}

// TestRestartWithoutDataDir: without --data-dir the streams are lost with the process, so
// the same rejoin learns it: another epoch, recovered:false and history_gap.
func TestRestartWithoutDataDir(t *testing.T) {
	in := start(t)
	ann, _ := in.connect("/ws?user=ann")
	epoch := joinFresh(ann, "lobby")
	ann.send(`{"type":"chat","room":"lobby","content":"lost","id":"a1"}`)
	ann.expectFrame(`{"type":"chat","offset":1}`)
	ann.expectFrame(`{"type":"ack","id":"a1","offset":1}`)
	ann.c.CloseNow()
	if code := in.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}

	in = start(t)
	ann, _ = in.connect("/ws?user=ann")
	ann.send(`{"type":"join","room":"lobby","since":1,"epoch":"` + epoch + `"}`)
	j := ann.expectFrame(`{"type":"joined","room":"lobby","offset":0,"recovered":false}`)
	if j["epoch"] == epoch || j["epoch"] == "" {
		t.Fatalf("joined after a restart without --data-dir: %v, want a new epoch (not %s)", j, epoch)
	}
	ann.expectFrame(`{"type":"error","code":"history_gap","room":"lobby"}`)
	ann.expectFrame(`{"type":"user_joined","room":"lobby","user_id":"ann"}`)
}

// TestDataDirRefused: a second server on a --data-dir in use, a --data-dir that cannot be
// a directory, and --data-dir with --nats stop the program with one line naming the
// flag, exit 2.
func TestDataDirRefused(t *testing.T) {
	dir := t.TempDir()
	start(t, "--data-dir", dir)
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data-dir", dir}, "is in use by another process"},
		{[]string{"--data-dir", notDir}, "not a directory"},
		{[]string{"--data-dir", dir, "--nats", "nats://127.0.0.1:4222"}, "not with --nats"},
	} {
		var stderr syncBuffer
		code := run(append([]string{"--addr", "127.0.0.1:0"}, tc.args...), func(string) string { return "" }, io.Discard, &stderr)
		out := stderr.String()
		if code != 2 || !strings.HasPrefix(out, "switchboard: --data-dir: ") || !strings.Contains(out, tc.want) ||
			strings.Count(out, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line `switchboard: --data-dir: …%s…`", tc.args, code, out, tc.want)
		}
	}
}

// TestDataDirKeepsEpochOfEmptyStream: a tab that joined a room before any message in it
// holds offset 0 of epoch E; after a restart on the same --data-dir that position is
// still known (nothing was lost), so it recovers, and the room's first message is 1.
func TestDataDirKeepsEpochOfEmptyStream(t *testing.T) {
	dir := t.TempDir()
	in := start(t, "--data-dir", dir)
	ann, _ := in.connect("/ws?user=ann")
	epoch := joinFresh(ann, "quiet")
	ann.c.CloseNow()
	if code := in.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}

	in = start(t, "--data-dir", dir)
	ann, _ = in.connect("/ws?user=ann")
	ann.send(`{"type":"join","room":"quiet","since":0,"epoch":"` + epoch + `"}`)
	ann.expectFrame(`{"type":"joined","room":"quiet","epoch":"` + epoch + `","offset":0,"recovered":true}`)
	ann.expectFrame(`{"type":"user_joined","room":"quiet","user_id":"ann"}`)
	ann.send(`{"type":"chat","room":"quiet","content":"first","id":"f"}`)
	ann.expectFrame(`{"type":"chat","content":"first","offset":1}`)
	ann.expectFrame(`{"type":"ack","id":"f","offset":1}`)
}

// TestDataDirResendAfterKill: a client that is not sure its chat arrived (the server was
// killed around its ack) resends it with the same id after the restart: it is acked
// with the original offset and not stored or delivered again (PROTOCOL.md §10.4).
func TestDataDirResendAfterKill(t *testing.T) {
	dir := t.TempDir()
	in, proc := startChild(t, "--data-dir", dir)
	ann, _ := in.connect("/ws?user=ann")
	epoch := joinFresh(ann, "team")
	ann.send(`{"type":"chat","room":"team","content":"once","id":"c1"}`)
	ann.expectFrame(`{"type":"chat","content":"once","offset":1}`)
	ann.expectFrame(`{"type":"ack","id":"c1","offset":1}`)
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	<-in.exited

	in = start(t, "--data-dir", dir)
	ann, _ = in.connect("/ws?user=ann")
	ann.send(`{"type":"join","room":"team","since":1,"epoch":"` + epoch + `"}`)
	ann.expectFrame(`{"type":"joined","room":"team","epoch":"` + epoch + `","offset":1,"recovered":true}`)
	ann.expectFrame(`{"type":"user_joined","room":"team","user_id":"ann"}`)
	ann.send(`{"type":"chat","room":"team","content":"once","id":"c1"}`)
	ann.expectFrame(`{"type":"ack","id":"c1","offset":1}`)
	ann.send(`{"type":"chat","room":"team","content":"next","id":"c2"}`)
	ann.expectFrame(`{"type":"chat","content":"next","offset":2}`)
	ann.expectFrame(`{"type":"ack","id":"c2","offset":2}`)
}
