// switchboard.js — the JavaScript client of the Switchboard protocol (PROTOCOL.md,
// switchboard.json subprotocol), for browsers and Node (pass `WebSocket` from the `ws`
// package on Node < 22). One file, no dependencies; the server serves this very file at
// /switchboard.js, and it is the `switchboard-client` npm package (types in
// switchboard.d.ts).
//
//   import { Switchboard } from "switchboard-client"; // or "/switchboard.js"
//   const sb = new Switchboard({ url: "wss://chat.example.com/ws", token: () => fetchToken() });
//   sb.on("chat", (m) => console.log(m.room, m.sender, m.content));
//   sb.on("status", (s) => console.log(s.state, s.why)); // "closed" + refused: the server said no
//   sb.connect();
//   await sb.join("lobby");           // { epoch, offset, recovered }
//   await sb.chat("lobby", "hello");  // queued while offline, resent with the same id
//
// What it does for you:
//   - identity: `user` (auth none) in the URL; a `token` (a string, or a function
//     returning one or a promise of one, called before every connection) is sent as the
//     `auth` first message (§8.2), never in the URL, and refreshed with `refresh` before
//     its `exp`;
//   - reconnect with full-jitter backoff after a lost connection; never after a
//     refusal — close 4000 (replaced), 4001 (unauthorized), 4009 (kicked), or a
//     handshake answered 400/401/403/404 — which ends in state "closed" with
//     `refused: true` and `why` in words; 4002 (token expired) reconnects at once;
//   - recovery: every joined room is joined again with `since` (the last chat offset
//     seen) and `epoch`; a "rejoined" event says whether it was `recovered`; replayed
//     chats already seen are dropped;
//   - chats: an offline queue (bounded by `maxQueue`) flushed in order after the rooms
//     are rejoined; a chat not yet acked when the connection drops is resent with the same
//     id, which the server deduplicates (§10.4);
//   - a fallback for networks that block WebSocket (PROTOCOL.md §12): with `transport`
//     "auto" (the default), while no WebSocket of this client has ever opened, one that
//     cannot connect is replaced by Server-Sent Events (GET /sse for the stream, POST
//     /sse/send for messages; the token then goes as Authorization: Bearer), with the
//     same API (after a WebSocket did open, a failure is the network and is retried as
//     it was); "sse" asks for the event stream at once, "websocket" never falls back.
//     `sb.transport` says which one is in use;
//   - requests: promises settled by the server's answer, or rejected with a
//     SwitchboardError carrying the protocol's code ("forbidden", "not_member" …, or the
//     client's own "timeout", "disconnected", "closed", "queue_full", "not_connected").
//
// Events (on(type, fn), or addEventListener(type, e => e.detail)): every server message
// type ("connected", "joined", "user_joined", "user_left", "chat", "private",
// "broadcast", "system", "event", "left", "error" …), "message" for all of them, "gap"
// for a history_gap, "rejoined" { room, recovered, epoch, offset, error }, "close" for
// every closed socket, and "status" { state, code, reason, attempt, retryIn, refused,
// why } whenever the state (idle | connecting | open | reconnecting | closed) changes.

/** Close codes of PROTOCOL.md §5 and §8.2 with the words a person should see. */
export const CLOSE_CODES = Object.freeze({
  1000: "Closed normally",
  1001: "Server going away",
  1002: "Protocol error",
  1003: "Unsupported data",
  1005: "Closed without a code",
  1006: "Connection lost",
  1007: "Invalid UTF-8",
  1008: "Message timeout",
  1009: "Message too big",
  1011: "Server error",
  1012: "Server restarting",
  4000: "Replaced by another connection",
  4001: "Not allowed: the token was refused",
  4002: "Token expired",
  4003: "Server at capacity",
  4008: "Slow consumer",
  4009: "Kicked by an operator",
});

/** Close codes after which reconnecting would be refused again: the server meant it. */
export const REFUSED_CODES = Object.freeze([4000, 4001, 4009]);
/** Handshake statuses that will not change by retrying (Node only: browsers hide them). */
const REFUSED_STATUSES = new Set([400, 401, 403, 404]);
const TOKEN_EXPIRED = 4002;

/** An error answer from the server (its `code`), or a local failure of the client. */
export class SwitchboardError extends Error {
  constructor(code, message, extra = {}) {
    super(message || code);
    this.name = "SwitchboardError";
    this.code = code;
    Object.assign(this, extra);
  }
}

/** Words for a close code, e.g. "4009 Kicked". */
export function describeClose(code, reason) {
  const words = reason || CLOSE_CODES[code] || "Closed";
  return code ? `${code} ${words}` : words;
}

/**
 * The reconnect wait before attempt n (0-based): "full jitter", uniform in
 * [0, min(maxDelay, minDelay·2ⁿ)], so clients dropped together come back apart.
 */
export function backoff(n, minDelay, maxDelay, random = Math.random) {
  return Math.round(random() * Math.min(maxDelay, minDelay * 2 ** Math.min(n, 30)));
}

/** The `exp` of a JWT in ms since the epoch (unverified: only to know when to refresh), or 0. */
export function tokenExpiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4))).exp;
    return typeof exp === "number" ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

/** The default endpoint: ws(s)://<this page's host>/ws. */
function defaultURL() {
  const loc = globalThis.location;
  if (!loc) return "ws://127.0.0.1:8080/ws";
  return (loc.protocol === "https:" ? "wss://" : "ws://") + loc.host + "/ws";
}

/** The SSE stream URL of a WebSocket URL: ws(s)://host/ws[/user] → http(s)://host/sse[/user]. */
export function sseURL(wsURL) {
  const u = new URL(wsURL);
  u.protocol = u.protocol === "wss:" ? "https:" : u.protocol === "ws:" ? "http:" : u.protocol;
  u.pathname = u.pathname.replace(/\/ws(\/[^/]*)?$/, "/sse$1");
  return u.toString();
}

/**
 * EventStreamSocket speaks PROTOCOL.md §12 behind the part of the WebSocket interface
 * the client uses (onopen, onmessage, onerror, onclose, send, close): the events of one
 * GET /sse arrive as messages, send() POSTs to /sse/send with the stream's session (in
 * order, one request at a time, what waits meanwhile batched, at most 100 a request),
 * and the stream's `closed` event is the close code. It reads the stream with fetch, so
 * it runs in browsers and on Node ≥ 18 alike and can send Authorization. `status` is
 * the HTTP status of a refused stream.
 */
export class EventStreamSocket {
  constructor(url, { token = "", fetch = globalThis.fetch } = {}) {
    this.url = url;
    this.status = 0;
    this.session = "";
    this.onopen = this.onmessage = this.onerror = this.onclose = null;
    const send = new URL(url);
    send.pathname = send.pathname.replace(/\/sse(\/[^/]*)?$/, "/sse/send");
    send.search = "";
    this._sendURL = send.toString();
    this._fetch = fetch;
    this._abort = new AbortController();
    this._queue = [];
    this._posting = false;
    this._ended = null; // { code, reason } of the `closed` event
    this._done = false;
    this._read(token);
  }

  send(data) {
    if (this._done) throw new Error("the stream has ended");
    this._queue.push(data);
    this._post();
  }

  close(code = 1000, reason = "") { this._finish(code, reason); }

  async _read(token) {
    const headers = { Accept: "text/event-stream" };
    if (token) headers.Authorization = "Bearer " + token;
    try {
      const res = await this._fetch(this.url, { headers, signal: this._abort.signal, cache: "no-store" });
      if (res.status !== 200) {
        this.status = res.status;
        throw new Error(`Unexpected server response: ${res.status}`);
      }
      const reader = res.body.getReader();
      const text = new TextDecoder();
      let buf = "", data = "";
      while (!this._ended) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += text.decode(value, { stream: true });
        for (let i; !this._ended && (i = buf.indexOf("\n")) >= 0;) {
          const line = buf.slice(0, i).replace(/\r$/, "");
          buf = buf.slice(i + 1);
          if (line === "") {
            if (data) this._event(data);
            data = "";
          } else if (line.startsWith("data:")) {
            data += (data ? "\n" : "") + line.slice(5).replace(/^ /, "");
          } // `id:` lines and `: ping` comments need nothing
        }
      }
    } catch (err) {
      if (!this._done) this.onerror?.({ message: err?.message || String(err) });
    }
    this._finish(this._ended?.code ?? 1006, this._ended?.reason ?? "");
  }

  _event(data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg?.type === "closed") {
      this._ended = { code: msg.code, reason: msg.reason || "" };
      return;
    }
    if (msg?.type === "connected" && !this.session) {
      this.session = msg.session || "";
      this.onopen?.({});
    }
    this.onmessage?.({ data });
  }

  async _post() {
    if (this._posting || !this.session) return;
    this._posting = true;
    while (this._queue.length && !this._done) {
      const batch = this._queue.splice(0, 100);
      let status = 0;
      try {
        const res = await this._fetch(this._sendURL, {
          method: "POST", body: batch.join("\n"),
          headers: { "Content-Type": "application/json", "X-Switchboard-Session": this.session },
        });
        status = res.status;
      } catch { /* the network: status 0 */ }
      if (status !== 202) {
        // 413: a message over the server's limit, as a WebSocket closes 1009; else the
        // stream is gone (401, 410) or unreachable: lost, reconnect.
        this._finish(status === 413 ? 1009 : 1006, status ? `POST /sse/send answered ${status}` : "");
      }
    }
    this._posting = false;
  }

  _finish(code, reason) {
    if (this._done) return;
    this._done = true;
    this._abort.abort();
    this.onclose?.({ code, reason, wasClean: code !== 1006 });
  }
}

function randomId() {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID().slice(0, 8);
  return Math.random().toString(36).slice(2, 10);
}

export class Switchboard extends EventTarget {
  /** @param {import("./switchboard").SwitchboardOptions} [opts] */
  constructor(opts = {}) {
    super();
    this.opts = {
      url: defaultURL(), user: "", token: "", reconnect: true, minDelay: 500, maxDelay: 10000,
      requestTimeout: 10000, heartbeat: 20000, maxQueue: 100, WebSocket: globalThis.WebSocket,
      transport: "auto", fetch: globalThis.fetch?.bind(globalThis), ...opts,
    };
    this.transport = this.opts.transport === "sse" ? "sse" : "websocket"; // the one in use (or next)
    this.state = "idle"; // idle | connecting | open | reconnecting | closed
    this.userId = "";
    this.connId = "";
    this.rooms = new Map();         // room → { since, known, epoch }: the rooms this client wants
    this.existingRooms = [];        // `rooms` of the last `connected`
    this.lastClose = null;          // { code, reason }
    this._ws = null;
    this._attempt = 0;
    this._timers = { retry: 0, beat: 0, refresh: 0 };
    this._idBase = randomId() + "-";
    this._nextId = 1;
    this._pending = new Map();      // id → { resolve, reject, expect, room, timer, rejoin }
    this._outbox = [];              // chats not yet acked, in order: { id, msg, resolve, reject, timer, sent }
    this._token = "";
    this._status = null;            // handshake status seen by a Node WebSocket, if any
    this._stopped = true;
  }

  /** Subscribes fn(detail) to an event; returns a function that unsubscribes. */
  on(type, fn) {
    const h = (e) => fn(e.detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  /** The room's position: { epoch, offset } of the last chat seen, or undefined. */
  position(room) {
    const r = this.rooms.get(room);
    return r && r.known ? { epoch: r.epoch, offset: r.since } : undefined;
  }

  /** Opens the connection (and keeps it open until close() or a refusal). */
  connect() {
    this._stopped = false;
    clearTimeout(this._timers.retry);
    this._open();
    return this;
  }

  /** Closes for good: no reconnect. Pending requests and queued chats fail with "closed". */
  close(code = 1000, reason = "") {
    this._stop({ code, reason }, new SwitchboardError("closed", "the client was closed"));
    if (this._ws) {
      const ws = this._ws;
      this._ws = null;
      try { ws.close(code, reason); } catch { /* already closing */ }
    }
  }

  // ---- requests ---------------------------------------------------------------------

  /** Sends msg with a fresh id; resolves with the ack (or the expected answer). */
  request(msg, expect = null, extra = {}) {
    if (this.state !== "open") {
      return Promise.reject(new SwitchboardError("not_connected", "not connected"));
    }
    const id = this._id();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new SwitchboardError("timeout", `no answer to ${msg.type} in ${this.opts.requestTimeout} ms`));
      }, this.opts.requestTimeout);
      this._pending.set(id, { resolve, reject, expect, room: msg.room, timer, ...extra });
      this._send({ ...msg, id });
    });
  }

  /**
   * Joins room and remembers it: after a reconnect it is joined again with `since` and
   * `epoch`. Pass { since, epoch } to ask for the history after that offset now (since 0:
   * everything held). Resolves with { epoch, offset, recovered } (from `joined`; a server
   * that predates it answers a bare ack). While disconnected the join is only
   * remembered, and the promise resolves at once with { queued: true }.
   */
  join(room, { since, epoch } = {}) {
    let r = this.rooms.get(room);
    if (!r) this.rooms.set(room, (r = { since: 0, known: false, epoch: "" }));
    if (since !== undefined) Object.assign(r, { since, known: true, epoch: epoch || r.epoch });
    if (this.state !== "open") return Promise.resolve({ queued: true });
    return this.request(this._joinMsg(room), "joined").catch((err) => {
      if (err.code !== "timeout" && err.code !== "disconnected" && err.code !== "not_connected") this.rooms.delete(room);
      throw err;
    });
  }

  /** Leaves room and forgets it. */
  leave(room) {
    this.rooms.delete(room);
    if (this.state !== "open") return Promise.resolve({ queued: true });
    return this.request({ type: "leave", room });
  }

  /**
   * Sends a chat; resolves with the ack ({ id, offset }). While offline it waits in a queue
   * of at most maxQueue chats (beyond: "queue_full"), sent in order once the rooms are
   * rejoined; a chat sent but not acked when the connection drops is sent again with the
   * same id. { timeout } (ms) gives up waiting (the chat leaves the queue; a copy
   * already sent may still arrive).
   */
  chat(room, content, { timeout = 0 } = {}) {
    if (this._stopped && this.state === "closed") {
      return Promise.reject(new SwitchboardError("closed", "the client is closed"));
    }
    if (this._outbox.length >= this.opts.maxQueue) {
      return Promise.reject(new SwitchboardError("queue_full", `${this.opts.maxQueue} chats already wait to be sent`));
    }
    const id = this._id();
    return new Promise((resolve, reject) => {
      const entry = { id, msg: { type: "chat", room, content, id }, resolve, reject, timer: 0 };
      if (timeout > 0) {
        entry.timer = setTimeout(() => {
          this._outbox = this._outbox.filter((e) => e !== entry);
          reject(new SwitchboardError("timeout", `chat not acked in ${timeout} ms`));
        }, timeout);
      }
      this._outbox.push(entry);
      if (this.state === "open") this._send(entry.msg);
    });
  }

  /** The chats waiting for their ack (queued offline or in flight). */
  get queued() { return this._outbox.length; }

  sendPrivate(to, content) { return this.request({ type: "private", to, content }); }
  broadcast(content) { return this.request({ type: "broadcast", content }); }
  /** An ephemeral event to the room's other connections (§10.3): typing, cursors. */
  event(room, event, content = "") { return this.request({ type: "event", room, event, content }); }
  /** Calls the backend through the server (§9.1); resolves with its result. */
  rpc(method, data) { return this.request({ type: "rpc", method, data }, "rpc_result").then((m) => m.result); }
  /** Resolves with the room's member user ids. */
  members(room) { return this.request({ type: "members", room }, "members").then((m) => m.members); }
  /** Resolves with { users, total }. */
  online() { return this.request({ type: "online" }, "online"); }
  ping() { return this.request({ type: "ping" }, "pong"); }

  // ---- connection -------------------------------------------------------------------

  async _open() {
    this._setState(this._attempt > 0 ? "reconnecting" : "connecting", { attempt: this._attempt });
    let token = "";
    try {
      token = typeof this.opts.token === "function" ? await this.opts.token() : this.opts.token;
    } catch (err) {
      this._retry({ code: 0, reason: "", why: "Could not get a token: " + (err?.message || err) });
      return;
    }
    if (this._stopped) return;
    this._token = token || "";
    const url = new URL(this.opts.url, globalThis.location?.href);
    if (this.opts.user) url.searchParams.set("user", this.opts.user);
    let ws;
    this._status = null;
    const sse = this.transport === "sse";
    let opened = false;
    try {
      ws = sse
        ? new EventStreamSocket(sseURL(url.toString()), { token: this._token, fetch: this.opts.fetch })
        : new this.opts.WebSocket(url.toString(), "switchboard.json");
    } catch (err) {
      this._retry({ code: 1006, reason: "", why: "Could not connect: " + (err?.message || err) });
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      opened = true;
      if (!sse) this._wsWorked = true;
      // Over SSE the token went with the request (there is no auth message, §12).
      if (this._token && !sse) ws.send(JSON.stringify({ type: "auth", token: this._token }));
    };
    ws.onerror = (e) => {
      // Node's `ws` says why a handshake failed; browsers never do.
      const m = /Unexpected server response: (\d+)/.exec(e?.message || e?.error?.message || "");
      if (m) this._status = Number(m[1]);
    };
    ws.onmessage = (e) => { if (this._ws === ws) this._onFrame(e.data); };
    ws.onclose = (e) => {
      if (this._ws !== ws) return;
      this._ws = null;
      this._disconnected();
      this.lastClose = { code: e.code, reason: e.reason };
      this.dispatchEvent(new CustomEvent("close", { detail: { code: e.code, reason: e.reason, wasClean: e.wasClean } }));
      if (this._stopped) return;
      const status = this._status || ws.status || null;
      const refused = REFUSED_CODES.includes(e.code) || REFUSED_STATUSES.has(status);
      if (!opened && !sse && !refused && !this._wsWorked && this.opts.transport === "auto") {
        // No WebSocket of this client ever opened and no server refused it: something on
        // the way (a proxy) may block WebSocket. Try the event stream at once. (One that
        // worked before and fails now is the network: retried as it was.)
        this.transport = "sse";
        this._retry({ code: e.code, reason: e.reason, why: "WebSocket failed; trying Server-Sent Events" }, 0);
        return;
      }
      if (refused || !this.opts.reconnect) {
        const why = status ? `The server refused the connection (HTTP ${status})` : describeClose(e.code, e.reason);
        this._stop({ code: e.code, reason: e.reason, status, refused, why }, new SwitchboardError("closed", why));
        return;
      }
      if (e.code === TOKEN_EXPIRED) this._attempt = 0;
      this._retry({ code: e.code, reason: e.reason, status, why: describeClose(e.code, e.reason) },
        e.code === TOKEN_EXPIRED ? 0 : undefined);
    };
  }

  _retry(last, delay) {
    if (this._stopped) return;
    if (delay === undefined) delay = backoff(this._attempt, this.opts.minDelay, this.opts.maxDelay);
    this._attempt++;
    this._setState("reconnecting", { ...last, attempt: this._attempt, retryIn: delay });
    clearTimeout(this._timers.retry);
    this._timers.retry = setTimeout(() => { if (!this._stopped) this._open(); }, delay);
  }

  _stop(info, err) {
    this._stopped = true;
    clearTimeout(this._timers.retry);
    this._disconnected();
    for (const e of this._outbox) { clearTimeout(e.timer); e.reject(err); }
    this._outbox = [];
    this._setState("closed", info);
  }

  /** A socket ended: timers stop, requests awaiting an answer fail (chats stay queued). */
  _disconnected() {
    clearInterval(this._timers.beat);
    clearTimeout(this._timers.refresh);
    const err = new SwitchboardError("disconnected", "the connection closed before the answer");
    for (const [id, p] of this._pending) {
      clearTimeout(p.timer);
      this._pending.delete(id);
      if (!p.rejoin) p.reject(err);
    }
  }

  _onFrame(data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (!msg || typeof msg.type !== "string") return;

    switch (msg.type) {
      case "connected":
        this.userId = msg.user_id;
        this.connId = msg.conn_id;
        this.existingRooms = msg.rooms || [];
        this._attempt = 0;
        this._setState("open", { transport: this.transport });
        this._rejoin();
        for (const e of this._outbox) this._send(e.msg); // behind the joins: the server keeps the order
        this._startHeartbeat();
        this._scheduleRefresh();
        break;
      case "joined": {
        const r = this.rooms.get(msg.room);
        const p = this._pendingJoin(msg.room);
        if (r) {
          if (!p?.since) Object.assign(r, { since: msg.offset, known: true });
          else if (!msg.recovered) Object.assign(r, { since: 0, known: true });
          r.epoch = msg.epoch;
        }
        if (p) {
          p.joined = msg;
          if (p.rejoin) {
            p.reported = true;
            this._emit("rejoined", { room: msg.room, recovered: msg.recovered, epoch: msg.epoch, offset: msg.offset });
          }
        }
        break;
      }
      case "chat": {
        const r = this.rooms.get(msg.room);
        if (r && typeof msg.offset === "number") {
          if (r.known && msg.offset <= r.since && msg.offset > 0 && r.since > 0) return; // replay overlap: seen
          Object.assign(r, { since: msg.offset, known: true });
        }
        break;
      }
      case "left":
        this.rooms.delete(msg.room);
        break;
      case "ack": case "rpc_result": {
        const entry = this._outbox.find((e) => e.id === msg.id);
        if (entry) {
          clearTimeout(entry.timer);
          this._outbox = this._outbox.filter((e) => e !== entry);
          entry.resolve(msg);
          break;
        }
        const p = this._pending.get(msg.id);
        if (!p) break;
        if (p.expect === "joined") {
          const j = p.joined || { type: "joined", room: p.room, recovered: !!p.since && !p.gap };
          if (p.rejoin && !p.reported) this._emit("rejoined", { room: p.room, recovered: j.recovered, epoch: j.epoch, offset: j.offset });
          this._settle(msg.id, p, j);
        } else if (p.expect && msg.type === "ack") {
          this._settle(msg.id, p, p.answer || msg);
        } else {
          this._settle(msg.id, p, msg);
        }
        break;
      }
      case "members": case "online": case "pong":
        // The answer comes just before its request's ack: keep it for that ack.
        for (const p of this._pending.values()) {
          if (p.expect === msg.type && !p.answer && (msg.type !== "members" || p.room === msg.room)) { p.answer = msg; break; }
        }
        break;
      case "error": {
        const err = new SwitchboardError(msg.code, msg.message, { id: msg.id, room: msg.room });
        const entry = msg.id !== undefined && this._outbox.find((e) => e.id === msg.id);
        if (entry) {
          clearTimeout(entry.timer);
          this._outbox = this._outbox.filter((e) => e !== entry);
          entry.reject(err);
        }
        const p = msg.id !== undefined && this._pending.get(msg.id);
        if (p) {
          clearTimeout(p.timer);
          this._pending.delete(msg.id);
          if (p.rejoin) {
            if (msg.code !== "rate_limited" && msg.code !== "unavailable") this.rooms.delete(p.room);
            this._emit("rejoined", { room: p.room, error: err });
          } else p.reject(err);
        }
        if (msg.code === "history_gap") {
          // Everything sent for this room from now on is new to us; offsets may restart.
          const r = this.rooms.get(msg.room);
          if (r) Object.assign(r, { since: 0, known: false });
          const pj = this._pendingJoin(msg.room);
          if (pj) pj.gap = true;
          this._emit("gap", msg);
        }
        break;
      }
    }
    this._emit(msg.type, msg);
    this._emit("message", msg);
  }

  _pendingJoin(room) {
    for (const p of this._pending.values()) if (p.expect === "joined" && p.room === room) return p;
    return undefined;
  }

  _joinMsg(room) {
    const r = this.rooms.get(room);
    const msg = { type: "join", room };
    if (r?.known) {
      msg.since = r.since;
      if (r.epoch) msg.epoch = r.epoch;
    }
    return msg;
  }

  /** Joins every remembered room again; `since` + `epoch` make the server replay what was missed. */
  _rejoin() {
    for (const room of this.rooms.keys()) {
      const msg = this._joinMsg(room);
      this.request(msg, "joined", { rejoin: true, since: msg.since !== undefined }).catch(() => { /* reported as rejoined */ });
    }
  }

  _startHeartbeat() {
    clearInterval(this._timers.beat);
    if (!this.opts.heartbeat) return;
    this._timers.beat = setInterval(() => {
      if (this.state === "open") this._send({ type: "ping" });
    }, this.opts.heartbeat);
  }

  /** Before the token's exp, ask the token function for a new one and send `refresh`. */
  _scheduleRefresh() {
    clearTimeout(this._timers.refresh);
    const exp = this._token && typeof this.opts.token === "function" ? tokenExpiry(this._token) : 0;
    if (!exp) return;
    const left = exp - Date.now();
    const due = Math.max(0, left - Math.min(left / 5, 60000));
    this._timers.refresh = setTimeout(async () => {
      try {
        const next = await this.opts.token();
        await this.request({ type: "refresh", token: next });
        this._token = next;
        this._scheduleRefresh();
      } catch (err) {
        // The server closes 4002 at exp and the client reconnects with a new token.
        this._emit("refresh_failed", { error: err });
      }
    }, due);
  }

  _id() { return this._idBase + this._nextId++; }

  _send(obj) {
    try { this._ws.send(JSON.stringify(obj)); } catch { /* onclose will follow */ }
  }

  _emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  _settle(id, p, value) {
    clearTimeout(p.timer);
    this._pending.delete(id);
    p.resolve(value);
  }

  _setState(state, info) {
    this.state = state;
    this._emit("status", { state, ...info });
  }
}
