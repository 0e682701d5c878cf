// Unit tests of switchboard.js against a scripted fake WebSocket: the rules, one by one.
// test/server.test.js runs the same client against the real binary.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Switchboard, describeClose, backoff, tokenExpiry } from "../switchboard.js";

class FakeSocket {
  static all = [];
  constructor(url, protocol) {
    this.url = url;
    this.protocol = protocol;
    this.sent = [];
    FakeSocket.all.push(this);
    queueMicrotask(() => this.onopen?.());
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code, reason) { this.closed = { code, reason }; }
  // the server's side
  deliver(msg) { this.onmessage({ data: JSON.stringify(msg) }); }
  drop(code, reason = "") { this.onclose({ code, reason, wasClean: code !== 1006 }); }
  fail(message) { this.onerror?.({ message }); this.onclose({ code: 1006, reason: "", wasClean: false }); }
  last(type) { return type ? this.sent.filter((m) => m.type === type).at(-1) : this.sent.at(-1); }
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
function client(opts = {}) {
  FakeSocket.all = [];
  return new Switchboard({ url: "ws://test/ws", WebSocket: FakeSocket, minDelay: 1, maxDelay: 2, heartbeat: 0, ...opts });
}
async function socket(i) {
  for (let n = 0; n < 100 && !FakeSocket.all[i]; n++) await tick(1);
  return FakeSocket.all[i];
}
function welcome(ws, user = "ann") {
  ws.deliver({ type: "connected", user_id: user, conn_id: "1", rooms: ["lobby"], timestamp: "2026-11-27T19:00:00.000Z" });
}

test("connects with the user in the URL, the json subprotocol, and reports status", async () => {
  const sb = client({ user: "ann" });
  const states = [];
  sb.on("status", (s) => states.push(s.state));
  sb.connect();
  const ws = await socket(0);
  assert.equal(ws.url, "ws://test/ws?user=ann");
  assert.equal(ws.protocol, "switchboard.json");
  welcome(ws);
  assert.deepEqual(states, ["connecting", "open"]);
  assert.equal(sb.userId, "ann");
  sb.close();
});

test("a token goes in the auth first message, never in the URL, and is asked for on every connection", async () => {
  let calls = 0;
  const sb = client({ token: async () => `t${++calls}` });
  sb.connect();
  let ws = await socket(0);
  await tick();
  assert.ok(!ws.url.includes("t1"));
  assert.deepEqual(ws.sent[0], { type: "auth", token: "t1" });
  welcome(ws);
  ws.drop(1006);
  ws = await socket(1);
  await tick();
  assert.deepEqual(ws.sent[0], { type: "auth", token: "t2" });
  sb.close();
});

test("requests resolve by id with their answers; errors carry the protocol's code", async () => {
  const sb = client();
  sb.connect();
  const ws = await socket(0);
  welcome(ws);
  const members = sb.members("lobby");
  const id = ws.last().id;
  ws.deliver({ type: "members", room: "lobby", members: ["ann", "bob"] });
  ws.deliver({ type: "ack", id });
  assert.deepEqual(await members, ["ann", "bob"]);
  const priv = sb.sendPrivate("zed", "hi");
  ws.deliver({ type: "error", code: "user_offline", message: "zed is offline", id: ws.last().id });
  await assert.rejects(priv, (e) => e.code === "user_offline" && e.message === "zed is offline");
  const rpc = sb.rpc("profile", { id: 7 });
  assert.deepEqual(ws.last().data, { id: 7 });
  ws.deliver({ type: "rpc_result", id: ws.last().id, result: { name: "Ann" } });
  assert.deepEqual(await rpc, { name: "Ann" });
  const ev = sb.event("lobby", "typing");
  assert.deepEqual({ ...ws.last(), id: undefined }, { type: "event", room: "lobby", event: "typing", content: "", id: undefined });
  ws.deliver({ type: "ack", id: ws.last().id });
  await ev;
  sb.close();
});

test("join reports joined; after a reconnect every room is rejoined with since and epoch, and 'rejoined' says recovered", async () => {
  const sb = client();
  const rejoined = [];
  const chats = [];
  sb.on("rejoined", (r) => rejoined.push(r));
  sb.on("chat", (m) => chats.push(m.offset));
  sb.connect();
  let ws = await socket(0);
  welcome(ws);
  const j = sb.join("r");
  const id = ws.last().id;
  assert.equal(ws.last().since, undefined, "a fresh join asks for no history");
  ws.deliver({ type: "joined", room: "r", epoch: "e1", offset: 4, recovered: false });
  ws.deliver({ type: "ack", id });
  assert.deepEqual(await j, { type: "joined", room: "r", epoch: "e1", offset: 4, recovered: false });
  for (const offset of [5, 6]) ws.deliver({ type: "chat", room: "r", sender: "bob", content: "m", offset });
  ws.drop(1006);
  ws = await socket(1);
  welcome(ws);
  const rejoin = ws.last("join");
  assert.deepEqual([rejoin.room, rejoin.since, rejoin.epoch], ["r", 6, "e1"]);
  ws.deliver({ type: "joined", room: "r", epoch: "e1", offset: 8, recovered: true });
  // The replay; a stray duplicate of 6 must not surface.
  for (const offset of [6, 7, 8]) ws.deliver({ type: "chat", room: "r", sender: "bob", content: "m", offset });
  ws.deliver({ type: "ack", id: rejoin.id });
  assert.deepEqual(rejoined, [{ room: "r", recovered: true, epoch: "e1", offset: 8 }]);
  assert.deepEqual(chats, [5, 6, 7, 8]);
  assert.deepEqual(sb.position("r"), { epoch: "e1", offset: 8 });
  sb.close();
});

test("a server without joined: recovered means no history_gap came before the ack", async () => {
  const sb = client();
  const rejoined = [];
  sb.on("rejoined", (r) => rejoined.push(r.recovered));
  sb.connect();
  let ws = await socket(0);
  welcome(ws);
  sb.join("r");
  ws.deliver({ type: "ack", id: ws.last().id });
  ws.deliver({ type: "chat", room: "r", sender: "bob", content: "old", offset: 7 });
  ws.drop(1001, "Server shutting down");
  ws = await socket(1);
  welcome(ws);
  assert.equal(ws.last("join").since, 7);
  ws.deliver({ type: "error", code: "history_gap", room: "r" });
  ws.deliver({ type: "chat", room: "r", sender: "bob", content: "new", offset: 1 }); // offsets restarted
  ws.deliver({ type: "ack", id: ws.last("join").id });
  assert.deepEqual(rejoined, [false]);
  assert.equal(sb.position("r").offset, 1);
  sb.close();
});

test("chats written offline wait in a bounded queue and go out in order after the rejoin", async () => {
  const sb = client({ maxQueue: 2 });
  sb.connect();
  let ws = await socket(0);
  welcome(ws);
  sb.join("r");
  ws.deliver({ type: "ack", id: ws.last().id });
  ws.drop(1006);
  const a = sb.chat("r", "one");
  const b = sb.chat("r", "two");
  await assert.rejects(sb.chat("r", "three"), (e) => e.code === "queue_full");
  assert.equal(sb.queued, 2);
  ws = await socket(1);
  assert.equal(ws.sent.length, 0, "nothing is sent before connected");
  welcome(ws);
  assert.deepEqual(ws.sent.map((m) => m.type + ":" + (m.content ?? m.room)), ["join:r", "chat:one", "chat:two"]);
  ws.deliver({ type: "ack", id: ws.sent[1].id, offset: 9 });
  ws.deliver({ type: "ack", id: ws.sent[2].id, offset: 10 });
  assert.equal((await a).offset, 9);
  assert.equal((await b).offset, 10);
  assert.equal(sb.queued, 0);
  sb.close();
});

test("a chat not acked when the connection drops is resent with the same id", async () => {
  const sb = client();
  sb.connect();
  let ws = await socket(0);
  welcome(ws);
  const p = sb.chat("r", "hello");
  const first = ws.last();
  ws.drop(1006);
  ws = await socket(1);
  welcome(ws);
  const again = ws.last("chat");
  assert.equal(again.id, first.id);
  assert.equal(again.content, "hello");
  ws.deliver({ type: "ack", id: again.id, offset: 3 }); // the server's dedupe repeats the offset
  assert.equal((await p).offset, 3);
  sb.close();
});

test("ids are unique across clients, so one user's tabs never dedupe each other's chats", async () => {
  const a = client(); a.connect(); const wa = await socket(0); welcome(wa);
  const b = client(); b.connect(); const wb = await socket(0); welcome(wb);
  a.chat("r", "x").catch(() => {}); b.chat("r", "x").catch(() => {});
  assert.notEqual(wa.last().id, wb.last().id);
  a.close(); b.close();
});

test("pending requests fail when the connection drops; queued chats do not", async () => {
  const sb = client();
  sb.connect();
  const ws = await socket(0);
  welcome(ws);
  const p = sb.ping();
  sb.chat("r", "stays").catch(() => {});
  ws.drop(1001, "Server shutting down");
  await assert.rejects(p, (e) => e.code === "disconnected");
  assert.equal(sb.queued, 1);
  sb.close();
});

for (const [code, reason, why] of [[4000, "Replaced by new connection", "4000 Replaced by new connection"],
  [4001, "Unauthorized", "4001 Unauthorized"], [4009, "Kicked", "4009 Kicked"]]) {
  test(`refused, not lost: no reconnect after ${code}, and it says why`, async () => {
    const sb = client();
    let last;
    sb.on("status", (s) => (last = s));
    sb.connect();
    welcome(await socket(0));
    const queued = sb.chat("r", "never").catch((e) => e);
    FakeSocket.all[0].drop(code, reason);
    await tick(20);
    assert.equal(FakeSocket.all.length, 1);
    assert.deepEqual([last.state, last.refused, last.why], ["closed", true, why]);
    assert.equal((await queued).code, "closed");
  });
}

test("a handshake refused with HTTP 401 (as Node's ws reports it) is not retried", async () => {
  const sb = client();
  let last;
  sb.on("status", (s) => (last = s));
  sb.connect();
  (await socket(0)).fail("Unexpected server response: 401");
  await tick(20);
  assert.equal(FakeSocket.all.length, 1);
  assert.deepEqual([last.state, last.refused, last.status], ["closed", true, 401]);
  assert.match(last.why, /HTTP 401/);
});

test("lost connections back off with full jitter; 4002 (token expired) reconnects at once", async () => {
  const sb = client({ minDelay: 1000, maxDelay: 8000 });
  const waits = [];
  sb.on("status", (s) => s.state === "reconnecting" && s.retryIn !== undefined && waits.push([s.code, s.retryIn]));
  sb.connect();
  welcome(await socket(0));
  FakeSocket.all[0].drop(TOKEN_EXPIRED_CODE, "Token expired");
  assert.deepEqual(waits[0], [4002, 0]);
  await socket(1);
  sb.close();
  for (let n = 0; n < 6; n++) {
    assert.equal(backoff(n, 1000, 8000, () => 0), 0);
    assert.equal(backoff(n, 1000, 8000, () => 0.999999), Math.round(0.999999 * Math.min(8000, 1000 * 2 ** n)));
  }
});
const TOKEN_EXPIRED_CODE = 4002;

test("close() stops reconnecting", async () => {
  const sb = client();
  sb.connect();
  welcome(await socket(0));
  sb.close();
  await tick(20);
  assert.equal(FakeSocket.all.length, 1);
  assert.equal(sb.state, "closed");
});

test("the token is refreshed before its exp with the token function's next token", async () => {
  const jwt = (exp) => "h." + Buffer.from(JSON.stringify({ sub: "ann", exp })).toString("base64url") + ".s";
  const soon = () => jwt(Math.floor(Date.now() / 1000) + 1); // due in 0.8 s
  const sb = client({ token: async () => soon() });
  sb.connect();
  const ws = await socket(0);
  welcome(ws);
  await tick(1000);
  const refresh = ws.last("refresh");
  assert.ok(refresh, "no refresh sent");
  assert.ok(tokenExpiry(refresh.token) > 0);
  sb.close();
  assert.equal(tokenExpiry("not.a-jwt"), 0);
});

test("describeClose puts words to codes", () => {
  assert.equal(describeClose(4009, "Kicked"), "4009 Kicked");
  assert.equal(describeClose(1006), "1006 Connection lost");
  assert.equal(describeClose(4001), "4001 Not allowed: the token was refused");
});
