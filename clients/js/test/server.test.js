// switchboard.js against the real binary, on Node with the `ws` package: what a user
// of the npm package sees.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
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


// A Node WebSocket that can be taken offline: while `offline` is set, new sockets fail
// as with no network, and drop() kills the open one abruptly (1006).
function gatedSocket() {
  const gate = { offline: false, sockets: [] };
  gate.WebSocket = class extends WebSocket {
    constructor(url, protocols) {
      super(gate.offline ? "ws://127.0.0.1:1/" : url, protocols);
      gate.sockets.push(this);
    }
  };
  gate.drop = () => gate.sockets.at(-1).terminate();
  return gate;
}

const open = (opts, srv = server) => openClient(srv, opts);

const chats = (seen) => seen.frames.filter((f) => f.type === "chat").map((f) => f.content);

test("join answers joined; chat acks carry the offset; typing goes through event", async () => {
  const ann = await open({ user: "ann" });
  const bob = await open({ user: "bob" });
  const j = await ann.sb.join("lobby-1");
  assert.equal(j.type, "joined");
  assert.equal(j.recovered, false);
  assert.ok(j.epoch);
  await bob.sb.join("lobby-1");
  const ack = await ann.sb.chat("lobby-1", "hello");
  assert.equal(ack.offset, 1);
  await until(() => chats(bob.seen).includes("hello"), "bob's chat");
  await ann.sb.event("lobby-1", "typing");
  await until(() => bob.seen.frames.some((f) => f.type === "event" && f.event === "typing" && f.sender === "ann"), "typing");
  assert.ok(!ann.seen.frames.some((f) => f.type === "event"), "the sender's own connection gets no event");
  assert.deepEqual(await bob.sb.members("lobby-1"), ["ann", "bob"]);
  await assert.rejects(ann.sb.chat("elsewhere", "x"), (e) => e.code === "not_member");
  ann.sb.close();
  bob.sb.close();
});

test("offline: missed chats are replayed once, queued chats go out in order after the rejoin", async () => {
  const gate = gatedSocket();
  const ann = await open({ user: "ann", WebSocket: gate.WebSocket });
  const bob = await open({ user: "bob" });
  await ann.sb.join("lobby-2");
  await bob.sb.join("lobby-2");
  await bob.sb.chat("lobby-2", "m1");
  await until(() => chats(ann.seen).includes("m1"), "m1");

  gate.offline = true;
  gate.drop();
  await until(() => ann.sb.state === "reconnecting", "reconnecting");
  await bob.sb.chat("lobby-2", "m2");
  await bob.sb.chat("lobby-2", "m3");
  const q1 = ann.sb.chat("lobby-2", "q1");
  const q2 = ann.sb.chat("lobby-2", "q2");
  assert.equal(ann.sb.queued, 2);

  gate.offline = false;
  const [a1, a2] = await Promise.all([q1, q2]);
  assert.deepEqual([a1.offset, a2.offset], [4, 5]);
  await until(() => chats(ann.seen).length >= 5, "ann's five chats");
  assert.deepEqual(chats(ann.seen), ["m1", "m2", "m3", "q1", "q2"]);
  assert.deepEqual(ann.seen.rejoined.map((r) => [r.room, r.recovered]), [["lobby-2", true]]);
  await until(() => chats(bob.seen).length >= 5, "bob's five chats");
  assert.deepEqual(chats(bob.seen), ["m1", "m2", "m3", "q1", "q2"]);
  ann.sb.close();
  bob.sb.close();
});

test("a restarted server (1001) is found again; the rooms are rejoined, not recovered (a new epoch)", async () => {
  const own = await startServer(["--transport", "goroutine"]);
  const ann = await open({ user: "ann" }, own);
  await ann.sb.join("lobby");
  await ann.sb.chat("lobby", "before");
  const port = new URL(own.url).port;
  await own.stop();
  await until(() => ann.seen.status.some((s) => s.state === "reconnecting" && s.code === 1001), "reconnecting after 1001");
  const lost = ann.seen.status.find((s) => s.code === 1001);
  assert.equal(lost.refused, undefined);
  assert.equal(lost.why, "1001 Server shutting down");
  const again = await startServer(["--transport", "goroutine", "--addr", `127.0.0.1:${port}`]);
  try {
    await until(() => ann.seen.rejoined.length === 1, "rejoined");
    assert.deepEqual([ann.seen.rejoined[0].room, ann.seen.rejoined[0].recovered], ["lobby", false]);
    const bob = await open({ user: "bob" }, again);
    assert.deepEqual(await bob.sb.members("lobby"), ["ann"]);
    bob.sb.close();
  } finally {
    ann.sb.close();
    await again.stop();
  }
});

test("kicked (4009): refused, not lost — closed, says why, never retries", async () => {
  const eve = await open({ user: "eve" });
  const res = await fetch(`${server.url}/api/users/eve/disconnect`, { method: "POST", headers: { "Content-Type": "application/json" } });
  assert.equal(res.status, 200);
  await until(() => eve.sb.state === "closed", "closed");
  const last = eve.seen.status.at(-1);
  assert.deepEqual([last.state, last.code, last.refused, last.why], ["closed", 4009, true, "4009 Kicked"]);
  await new Promise((r) => setTimeout(r, 600)); // well past the longest retry delay
  assert.equal(eve.seen.frames.filter((f) => f.type === "connected").length, 1);
});

test("/switchboard.js is this package's file, with CORS for --allowed-origins only", async () => {
  const srv = await startServer(["--allowed-origins", "https://app.example"]);
  try {
    const { readFile } = await import("node:fs/promises");
    const source = await readFile(new URL("../switchboard.js", import.meta.url), "utf8");
    const allowed = await fetch(`${srv.url}/switchboard.js`, { headers: { Origin: "https://app.example" } });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(await allowed.text(), source);
    const other = await fetch(`${srv.url}/switchboard.js`, { headers: { Origin: "https://evil.example" } });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
  } finally {
    await srv.stop();
  }
});

test("--auth jwt: a bad token is refused, not retried, and says why", async () => {
  const srv = await startServer(["--auth", "jwt", "--jwt-secret", "s3cret"]);
  try {
    let calls = 0;
    const sb = new Switchboard({ url: wsURL(srv), WebSocket, minDelay: 50, maxDelay: 200, heartbeat: 0, token: () => { calls++; return "forged"; } });
    const seen = [];
    sb.on("status", (s) => seen.push(s));
    sb.connect();
    await until(() => sb.state === "closed", "closed");
    const last = seen.at(-1);
    assert.equal(last.refused, true, JSON.stringify(last));
    assert.ok(last.code === 4001 || last.status === 401, JSON.stringify(last));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(calls, 1, "the token function was asked again: it retried");
  } finally {
    await srv.stop();
  }
});

// A signed HS256 token, as the application's backend would mint it.
async function sign(secret, claims) {
  const { createHmac } = await import("node:crypto");
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

test("--auth jwt: the token function's token goes in the auth message; it is refreshed before exp", async () => {
  const srv = await startServer(["--auth", "jwt", "--jwt-secret", "s3cret"]);
  try {
    const minted = [];
    const token = async () => {
      const t = await sign("s3cret", { sub: "ann", exp: Math.floor(Date.now() / 1000) + 2 });
      minted.push(t);
      return t;
    };
    const ann = await open({ token }, srv);
    assert.equal(ann.sb.userId, "ann");
    assert.ok(!ann.sb._ws.url.includes("token"), "the token is not in the URL");
    await ann.sb.join("lobby");
    // exp is 2 s away: the refresh goes out before it, and the connection outlives it.
    await new Promise((r) => setTimeout(r, 3200));
    assert.ok(minted.length >= 2, `tokens minted: ${minted.length}`);
    assert.equal(ann.sb.state, "open", JSON.stringify(ann.seen.status.at(-1)));
    assert.equal(ann.seen.frames.filter((f) => f.type === "connected").length, 1, "it never had to reconnect");
    ann.sb.close();
  } finally {
    await srv.stop();
  }
});

test("rpc reaches the application's backend (--proxy-url) and resolves with its result; a refusal carries its code", async () => {
  const { createServer } = await import("node:http");
  const calls = [];
  const backend = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const call = JSON.parse(body);
      calls.push([req.url, call]);
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify(call.method === "add"
        ? { result: { sum: call.data.a + call.data.b } }
        : { error: { code: "forbidden", message: "no such method for you" } }));
    });
  });
  await new Promise((r) => backend.listen(0, "127.0.0.1", r));
  const srv = await startServer(["--proxy-url", `http://127.0.0.1:${backend.address().port}`]);
  try {
    const ann = await open({ user: "ann" }, srv);
    assert.deepEqual(await ann.sb.rpc("add", { a: 2, b: 3 }), { sum: 5 });
    assert.deepEqual(calls[0], ["/rpc", { user_id: "ann", conn_id: ann.sb.connId, method: "add", data: { a: 2, b: 3 } }]);
    await assert.rejects(ann.sb.rpc("drop_tables", {}), (e) => e.code === "forbidden" && e.message === "no such method for you");
    ann.sb.close();
  } finally {
    await srv.stop();
    backend.close();
  }
});
