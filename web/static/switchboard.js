// switchboard.js — a small, dependency-free browser client for the Switchboard protocol
// (PROTOCOL.md §2–§5, switchboard.json subprotocol).
//
//   import { Switchboard } from "/switchboard.js";
//   const sb = new Switchboard({ user: "ann" });
//   sb.on("chat", (m) => console.log(m.room, m.sender, m.content));
//   sb.on("status", (s) => console.log(s.state, s.code, s.reason));
//   sb.connect();
//   await sb.join("lobby");             // resolved by the server's ack, rejected by its error
//   await sb.chat("lobby", "hello");
//
// What it does for you:
//   - request ids: every request method returns a promise settled by the matching
//     `ack` (or `members` / `online` / `pong` answer) or `error`;
//   - reconnect with exponential backoff and jitter after an unexpected close; not after
//     close(), nor after 4000 (another connection of yours took over) or 4009 (kicked);
//   - recovery: after a reconnect every joined room is joined again with
//     `since` = the last chat offset seen in it, so the server replays what was missed;
//     chats at or below that offset are dropped, so a message is never shown twice;
//   - a heartbeat `ping` so the server's idle timeout never closes an open tab.
//
// Events (listen with on(type, fn) or addEventListener(type, e => e.detail)):
//   every server message type ("connected", "user_joined", "user_left", "chat",
//   "private", "broadcast", "system", "members", "online", "pong", "ack", "error"),
//   "message" for all of them, "gap" for a history_gap error, and "status" with
//   { state, code, reason, attempt, retryIn } whenever the connection state changes.

/** Close codes of PROTOCOL.md §5 with the words a person should see. */
export const CLOSE_CODES = Object.freeze({
  1000: "Closed normally",
  1001: "Server going away",
  1002: "Protocol error",
  1003: "Unsupported data",
  1005: "Closed without a code",
  1006: "Connection lost",
  1007: "Invalid UTF-8",
  1009: "Message too big",
  1011: "Server error",
  4000: "Replaced by another connection",
  4003: "Server at capacity",
  4008: "Slow consumer",
  4009: "Kicked",
});

/** Close codes after which reconnecting would be wrong: the server meant it. */
const FINAL_CODES = new Set([4000, 4009]);

/** An error answer from the server (or a local failure such as a timeout). */
export class SwitchboardError extends Error {
  constructor(code, message, extra = {}) {
    super(message || code);
    this.name = "SwitchboardError";
    this.code = code;
    Object.assign(this, extra);
  }
}

/** The default endpoint: ws(s)://<this page's host>/ws. */
function defaultURL() {
  const loc = globalThis.location;
  if (!loc) return "ws://127.0.0.1:8080/ws";
  return (loc.protocol === "https:" ? "wss://" : "ws://") + loc.host + "/ws";
}

export class Switchboard extends EventTarget {
  /**
   * @param {object} [opts]
   * @param {string} [opts.url]      WebSocket URL (default: this page's host, /ws)
   * @param {string} [opts.user]     user id (auth none); a guest id is assigned when absent
   * @param {string} [opts.token]    JWT (auth jwt)
   * @param {boolean} [opts.reconnect=true]
   * @param {number} [opts.minDelay=500]   first reconnect delay, ms
   * @param {number} [opts.maxDelay=10000] longest reconnect delay, ms
   * @param {number} [opts.requestTimeout=10000] ms before an unanswered request fails
   * @param {number} [opts.heartbeat=20000] ms between app-level pings while open (0: off)
   * @param {Function} [opts.WebSocket] a WebSocket constructor (default: the global one)
   */
  constructor(opts = {}) {
    super();
    this.opts = {
      url: defaultURL(), user: "", token: "", reconnect: true, minDelay: 500, maxDelay: 10000,
      requestTimeout: 10000, heartbeat: 20000, WebSocket: globalThis.WebSocket, ...opts,
    };
    this.state = "idle"; // idle | connecting | open | reconnecting | closed
    this.userId = "";
    this.connId = "";
    this.rooms = new Set();         // rooms this client wants to be in
    this.lastOffset = new Map();    // room → highest chat offset seen
    this.existingRooms = [];        // `rooms` of the last `connected`
    this.lastClose = null;          // { code, reason }
    this._ws = null;
    this._attempt = 0;
    this._retryTimer = 0;
    this._beatTimer = 0;
    this._nextId = 1;
    this._pending = new Map();      // id → { resolve, reject, expect, room, acked, timer }
    this._stopped = true;
  }

  /** Subscribes fn(detail) to an event; returns a function that unsubscribes. */
  on(type, fn) {
    const h = (e) => fn(e.detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  /** Opens the connection (and keeps it open until close()). */
  connect() {
    this._stopped = false;
    clearTimeout(this._retryTimer);
    this._open();
    return this;
  }

  /** Closes for good: no reconnect. Pending requests fail. */
  close(code = 1000, reason = "") {
    this._stopped = true;
    clearTimeout(this._retryTimer);
    if (this._ws) {
      try { this._ws.close(code, reason); } catch { /* already closing */ }
    }
    this._failPending(new SwitchboardError("closed", "the client was closed"));
    this._setState("closed", { code, reason });
  }

  // ---- requests ---------------------------------------------------------------------

  /** Sends msg with a fresh id; resolves with the ack (or the expected answer). */
  request(msg, expect = null) {
    if (this.state !== "open") {
      return Promise.reject(new SwitchboardError("not_connected", "not connected"));
    }
    const id = String(this._nextId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new SwitchboardError("timeout", `no answer to ${msg.type} in ${this.opts.requestTimeout} ms`));
      }, this.opts.requestTimeout);
      this._pending.set(id, { resolve, reject, expect, room: msg.room, acked: false, timer });
      this._send({ ...msg, id });
    });
  }

  /**
   * Joins room. The room is remembered: after a reconnect it is joined again with
   * `since`. Pass { since } to ask for the history after that offset now (0: all held).
   * While disconnected the join is only remembered and the promise resolves at once.
   */
  join(room, { since } = {}) {
    this.rooms.add(room);
    if (since !== undefined && !this.lastOffset.has(room)) this.lastOffset.set(room, since);
    if (this.state !== "open") return Promise.resolve({ type: "ack", queued: true });
    const msg = { type: "join", room };
    if (since !== undefined) msg.since = since;
    return this.request(msg).catch((err) => {
      if (err.code !== "timeout" && err.code !== "not_connected") this.rooms.delete(room);
      throw err;
    });
  }

  /** Leaves room and forgets it. */
  leave(room) {
    this.rooms.delete(room);
    this.lastOffset.delete(room);
    if (this.state !== "open") return Promise.resolve({ type: "ack", queued: true });
    return this.request({ type: "leave", room });
  }

  chat(room, content) { return this.request({ type: "chat", room, content }); }
  sendPrivate(to, content) { return this.request({ type: "private", to, content }); }
  broadcast(content) { return this.request({ type: "broadcast", content }); }
  /** Resolves with the room's member user ids. */
  members(room) { return this.request({ type: "members", room }, "members").then((m) => m.members); }
  /** Resolves with { users, total }. */
  online() { return this.request({ type: "online" }, "online"); }
  ping() { return this.request({ type: "ping" }, "pong"); }

  // ---- connection -------------------------------------------------------------------

  _open() {
    const url = new URL(this.opts.url, globalThis.location?.href);
    if (this.opts.user) url.searchParams.set("user", this.opts.user);
    if (this.opts.token) url.searchParams.set("token", this.opts.token);
    this._setState(this._attempt > 0 ? "reconnecting" : "connecting", { attempt: this._attempt });
    let ws;
    try {
      ws = new this.opts.WebSocket(url.toString());
    } catch (err) {
      this._scheduleReconnect({ code: 1006, reason: String(err.message || err) });
      return;
    }
    this._ws = ws;
    ws.onmessage = (e) => this._onFrame(e.data);
    ws.onclose = (e) => {
      if (this._ws !== ws) return;
      this._ws = null;
      clearInterval(this._beatTimer);
      this._failPending(new SwitchboardError("disconnected", `connection closed (${e.code})`));
      this.lastClose = { code: e.code, reason: e.reason };
      this.dispatchEvent(new CustomEvent("close", { detail: { code: e.code, reason: e.reason, wasClean: e.wasClean } }));
      if (this._stopped) return;
      if (!this.opts.reconnect || FINAL_CODES.has(e.code)) {
        this._stopped = true;
        this._setState("closed", { code: e.code, reason: e.reason });
        return;
      }
      this._scheduleReconnect({ code: e.code, reason: e.reason });
    };
  }

  _scheduleReconnect(last) {
    const base = Math.min(this.opts.maxDelay, this.opts.minDelay * 2 ** this._attempt);
    const delay = Math.round(base / 2 + Math.random() * base / 2); // jitter: no thundering herd
    this._attempt++;
    this._setState("reconnecting", { ...last, attempt: this._attempt, retryIn: delay });
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => { if (!this._stopped) this._open(); }, delay);
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
        this._setState("open", {});
        this._rejoin();
        this._startHeartbeat();
        break;
      case "chat": {
        const last = this.lastOffset.get(msg.room);
        if (typeof msg.offset === "number") {
          if (last !== undefined && msg.offset <= last) return; // already seen: replay overlap
          this.lastOffset.set(msg.room, msg.offset);
        }
        break;
      }
      case "ack": {
        const p = this._pending.get(msg.id);
        if (p) {
          if (p.expect) p.acked = true; // the answer itself settles it
          else this._settle(msg.id, p, msg);
        }
        break;
      }
      case "members": case "online": case "pong":
        for (const [id, p] of this._pending) {
          if (p.expect === msg.type && (msg.type !== "members" || p.room === msg.room)) {
            this._settle(id, p, msg);
            break;
          }
        }
        break;
      case "error": {
        const err = new SwitchboardError(msg.code, msg.message, { id: msg.id, room: msg.room });
        const p = msg.id !== undefined && this._pending.get(msg.id);
        if (p) {
          clearTimeout(p.timer);
          this._pending.delete(msg.id);
          p.reject(err);
        }
        if (msg.code === "history_gap") {
          // Everything the server sends for this room from now on is newer than what it
          // still holds, so nothing can repeat. Forgetting the offset also lets a room
          // whose offsets restarted (a restarted server) be heard again.
          this.lastOffset.delete(msg.room);
          this.dispatchEvent(new CustomEvent("gap", { detail: msg }));
        }
        break;
      }
    }
    this.dispatchEvent(new CustomEvent(msg.type, { detail: msg }));
    this.dispatchEvent(new CustomEvent("message", { detail: msg }));
  }

  /** Joins every remembered room again; `since` makes the server replay what was missed. */
  _rejoin() {
    for (const room of this.rooms) {
      const msg = { type: "join", room };
      if (this.lastOffset.has(room)) msg.since = this.lastOffset.get(room);
      this.request(msg).catch((err) => {
        this.dispatchEvent(new CustomEvent("rejoin_failed", { detail: { room, error: err } }));
      });
    }
  }

  _startHeartbeat() {
    clearInterval(this._beatTimer);
    if (!this.opts.heartbeat) return;
    this._beatTimer = setInterval(() => {
      if (this.state === "open") this._send({ type: "ping" });
    }, this.opts.heartbeat);
  }

  _send(obj) {
    try { this._ws.send(JSON.stringify(obj)); } catch { /* onclose will follow */ }
  }

  _settle(id, p, value) {
    clearTimeout(p.timer);
    this._pending.delete(id);
    p.resolve(value);
  }

  _failPending(err) {
    for (const [id, p] of this._pending) {
      clearTimeout(p.timer);
      this._pending.delete(id);
      p.reject(err);
    }
  }

  _setState(state, info) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("status", { detail: { state, ...info } }));
  }
}

/** Words for a close code, e.g. "4009 Kicked". */
export function describeClose(code, reason) {
  const words = reason || CLOSE_CODES[code] || "Closed";
  return code ? `${code} ${words}` : words;
}
