// switchboard.js over the Server-Sent Events fallback (PROTOCOL.md §12) against the real
// binary: the same API as over WebSocket, chosen with transport "sse" or reached by
// "auto" when WebSocket cannot connect.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import WebSocket from "ws";
import { Switchboard } from "../switchboard.js";
import { startServer, cleanupBuild } from "./binary.js";
import { openClient, until, wsURL } from "./clients.js";

let server;
before(async () => { server = await startServer(["--transport", "goroutine"]); });
after(async () => {
  await server?.stop();
  cleanupBuild();
});


// A WebSocket that never gets through, as behind a proxy that blocks the upgrade.
class BlockedWebSocket extends WebSocket {
  constructor(_url, protocols) { super("ws://127.0.0.1:1/", protocols); }
}

const open = (opts, srv = server) => openClient(srv, opts);

const chats = (seen) => seen.frames.filter((f) => f.type === "chat").map((f) => f.content);

test("transport sse: rooms, acks, events and answers as over WebSocket, with a WebSocket peer", async () => {
  const ann = await open({ user: "ann", transport: "sse" });
  const bob = await open({ user: "bob" });
  assert.equal(ann.sb.transport, "sse");
  assert.equal(ann.seen.status.find((s) => s.state === "open").transport, "sse");
  assert.equal(bob.sb.transport, "websocket");
  const j = await ann.sb.join("sse-1");
  assert.equal(j.type, "joined");
  assert.ok(j.epoch);
  await bob.sb.join("sse-1");
  assert.equal((await ann.sb.chat("sse-1", "from sse")).offset, 1);
  await until(() => chats(bob.seen).includes("from sse"), "bob gets ann's chat");
  await bob.sb.chat("sse-1", "from ws");
  await until(() => chats(ann.seen).includes("from ws"), "ann gets bob's chat");
  await bob.sb.event("sse-1", "typing");
  await until(() => ann.seen.frames.some((f) => f.type === "event" && f.sender === "bob"), "the event");
  assert.deepEqual(await ann.sb.members("sse-1"), ["ann", "bob"]);
  assert.equal((await ann.sb.ping()).type, "pong");
  await assert.rejects(ann.sb.chat("elsewhere", "x"), (e) => e.code === "not_member");
  // Many requests at once: their POSTs go one at a time, in order.
  const acks = await Promise.all([1, 2, 3, 4, 5].map((i) => ann.sb.chat("sse-1", `burst ${i}`)));
  assert.deepEqual(acks.map((a) => a.offset), [3, 4, 5, 6, 7]);
  ann.sb.close();
  bob.sb.close();
});

test("transport auto: a blocked WebSocket falls back to SSE; a lost stream rejoins with since and replays", async () => {
  const ann = await open({ user: "ann", WebSocket: BlockedWebSocket });
  assert.equal(ann.sb.transport, "sse");
  assert.ok(ann.seen.status.some((s) => s.why === "WebSocket failed; trying Server-Sent Events"));
  const bob = await open({ user: "bob" });
  await ann.sb.join("sse-2");
  await bob.sb.join("sse-2");
  await bob.sb.chat("sse-2", "one");
  await until(() => chats(ann.seen).includes("one"), "the first chat");
  ann.sb._ws.close(1006, ""); // the stream drops (the network)
  await bob.sb.chat("sse-2", "two"); // sent while ann is away
  await until(() => ann.seen.rejoined.length === 1, "the rejoin");
  assert.equal(ann.seen.rejoined[0].recovered, true);
  await until(() => chats(ann.seen).includes("two"), "the missed chat");
  assert.deepEqual(chats(ann.seen), ["one", "two"], "each chat once");
  assert.equal(ann.sb.transport, "sse");
  ann.sb.close();
  bob.sb.close();
});

function sign(secret, claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

test("--auth jwt over SSE: the token goes as Authorization; a bad one is refused 401, not retried", async () => {
  const srv = await startServer(["--auth", "jwt", "--jwt-secret", "s3cret"]);
  try {
    const good = await open({ transport: "sse", token: () => sign("s3cret", { sub: "ann" }) }, srv);
    assert.equal(good.sb.userId, "ann");
    assert.ok(!good.sb._ws.url.includes("token"), "the token is not in the URL");
    good.sb.close();

    let calls = 0;
    const sb = new Switchboard({ url: wsURL(srv), transport: "sse", minDelay: 50, token: () => { calls++; return "forged"; } });
    const closed = new Promise((resolve) => sb.on("status", (s) => s.state === "closed" && resolve(s)));
    sb.connect();
    const s = await closed;
    assert.equal(s.refused, true);
    assert.equal(s.status, 401);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(calls, 1, "it retried after a refusal");
  } finally {
    await srv.stop();
  }
});

test("the server's close code reaches the client: a drain closes the stream 1001 and it reconnects elsewhere", async () => {
  const srv = await startServer(["--transport", "goroutine"]);
  const ann = await open({ user: "ann", transport: "sse" }, srv);
  const closedEvent = new Promise((resolve) => ann.sb.on("close", resolve));
  const res = await fetch(srv.url + "/api/drain", { method: "POST", headers: { "Content-Type": "application/json" } });
  assert.equal(res.status, 202);
  const c = await closedEvent;
  assert.equal(c.code, 1001);
  assert.equal(c.reason, "Server shutting down");
  await until(() => ann.seen.status.some((s) => s.state === "reconnecting" && s.code === 1001), "a reconnect");
  ann.sb.close();
  await srv.stop();
});
