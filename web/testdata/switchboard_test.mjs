// Unit tests of static/switchboard.js against a scripted fake WebSocket (node --test).
// Run by TestJSClient in web_test.go; the browser e2e suite covers the real server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Switchboard, describeClose } from "../static/switchboard.js";

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = null;
    FakeSocket.all.push(this);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code, reason) { this.closed = { code, reason }; }
  // server side helpers
  deliver(msg) { this.onmessage({ data: JSON.stringify(msg) }); }
  drop(code, reason = "") { this.onclose({ code, reason, wasClean: code !== 1006 }); }
  last() { return this.sent[this.sent.length - 1]; }
}

function client(opts = {}) {
  FakeSocket.all = [];
  return new Switchboard({ url: "ws://test/ws", WebSocket: FakeSocket, minDelay: 1, maxDelay: 2, heartbeat: 0, ...opts });
}
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
function welcome(ws, user = "ann") {
  ws.deliver({ type: "connected", user_id: user, conn_id: "1", rooms: ["lobby"], timestamp: "2026-11-27T19:00:00.000Z" });
}

test("connects with the user in the URL and reports status", async () => {
  const sb = client({ user: "ann" });
  const states = [];
  sb.on("status", (s) => states.push(s.state));
  sb.connect();
  const ws = FakeSocket.all[0];
  assert.equal(ws.url, "ws://test/ws?user=ann");
  welcome(ws);
  assert.deepEqual(states, ["connecting", "open"]);
  assert.equal(sb.userId, "ann");
  assert.deepEqual(sb.existingRooms, ["lobby"]);
  sb.close();
});

test("requests carry ids and settle on ack or error", async () => {
  const sb = client();
  sb.connect();
  const ws = FakeSocket.all[0];
  welcome(ws);
  const joined = sb.join("r1");
  const join = ws.last();
  assert.equal(join.type, "join");
  assert.equal(join.room, "r1");
  assert.ok(join.id);
  ws.deliver({ type: "ack", id: join.id });
  assert.deepEqual(await joined, { type: "ack", id: join.id });

  const chat = sb.chat("r2", "hi");
  ws.deliver({ type: "error", code: "not_member", message: "join first", id: ws.last().id });
  await assert.rejects(chat, (err) => err.code === "not_member" && err.message === "join first");

  const members = sb.members("r1");
  const mreq = ws.last();
  ws.deliver({ type: "members", room: "other", members: ["x"] });
  ws.deliver({ type: "ack", id: mreq.id });
  ws.deliver({ type: "members", room: "r1", members: ["ann", "bob"] });
  assert.deepEqual(await members, ["ann", "bob"]);

  const online = sb.online();
  ws.deliver({ type: "online", users: ["ann"], total: 1 });
  assert.equal((await online).total, 1);
  sb.close();
});

test("a request while disconnected fails at once", async () => {
  const sb = client();
  await assert.rejects(sb.chat("r", "x"), (e) => e.code === "not_connected");
});

test("reconnects and rejoins with since = last offset, dropping replayed duplicates", async () => {
  const sb = client({ user: "ann" });
  const chats = [];
  sb.on("chat", (m) => chats.push(m.offset));
  sb.connect();
  let ws = FakeSocket.all[0];
  welcome(ws);
  sb.join("r", { since: 0 });
  ws.deliver({ type: "ack", id: ws.last().id });
  for (const offset of [1, 2, 3]) ws.deliver({ type: "chat", room: "r", sender: "bob", content: "m" + offset, offset });
  const statuses = [];
  sb.on("status", (s) => statuses.push(s));
  ws.drop(1006);
  assert.equal(statuses[0].state, "reconnecting");
  assert.equal(statuses[0].code, 1006);
  await tick(20);
  assert.equal(FakeSocket.all.length, 2, "a new socket was opened");
  ws = FakeSocket.all[1];
  welcome(ws);
  const rejoin = ws.last();
  assert.equal(rejoin.type, "join");
  assert.equal(rejoin.room, "r");
  assert.equal(rejoin.since, 3);
  // The server replays from 4; a stray duplicate of 3 must not surface.
  for (const offset of [3, 4, 5]) ws.deliver({ type: "chat", room: "r", sender: "bob", content: "m" + offset, offset });
  assert.deepEqual(chats, [1, 2, 3, 4, 5]);
  sb.close();
});

test("pending requests fail when the connection drops", async () => {
  const sb = client();
  sb.connect();
  const ws = FakeSocket.all[0];
  welcome(ws);
  const p = sb.ping();
  ws.drop(1001, "Server shutting down");
  await assert.rejects(p, (e) => e.code === "disconnected");
  sb.close();
});

for (const [code, reason] of [[4000, "Replaced by new connection"], [4009, "Kicked"]]) {
  test(`no reconnect after ${code}`, async () => {
    const sb = client();
    let last;
    sb.on("status", (s) => (last = s));
    sb.connect();
    welcome(FakeSocket.all[0]);
    FakeSocket.all[0].drop(code, reason);
    await tick(20);
    assert.equal(FakeSocket.all.length, 1);
    assert.equal(last.state, "closed");
    assert.equal(describeClose(last.code, last.reason), `${code} ${reason}`);
  });
}

test("close() stops reconnecting", async () => {
  const sb = client();
  sb.connect();
  welcome(FakeSocket.all[0]);
  sb.close();
  FakeSocket.all[0].drop(1000);
  await tick(20);
  assert.equal(FakeSocket.all.length, 1);
  assert.equal(sb.state, "closed");
});

test("history_gap is reported as a gap event", async () => {
  const sb = client();
  const gaps = [];
  sb.on("gap", (m) => gaps.push(m.room));
  sb.connect();
  welcome(FakeSocket.all[0]);
  FakeSocket.all[0].deliver({ type: "error", code: "history_gap", room: "r" });
  assert.deepEqual(gaps, ["r"]);
  sb.close();
});

test("after a history_gap the room's offsets are accepted again (e.g. a restarted server)", async () => {
  const sb = client();
  const chats = [];
  sb.on("chat", (m) => chats.push(m.offset));
  sb.connect();
  let ws = FakeSocket.all[0];
  welcome(ws);
  sb.join("r", { since: 0 });
  ws.deliver({ type: "ack", id: ws.last().id });
  ws.deliver({ type: "chat", room: "r", sender: "bob", content: "old", offset: 7 });
  ws.drop(1001, "Server shutting down");
  await tick(20);
  ws = FakeSocket.all[1];
  welcome(ws);
  assert.equal(ws.last().since, 7);
  ws.deliver({ type: "error", code: "history_gap", room: "r" });
  ws.deliver({ type: "chat", room: "r", sender: "bob", content: "new epoch", offset: 1 });
  ws.deliver({ type: "chat", room: "r", sender: "bob", content: "new epoch", offset: 2 });
  assert.deepEqual(chats, [7, 1, 2]);
  sb.close();
});
