// The chat page: rooms, members, direct messages and presence on top of /switchboard.js.
// All text from the network is inserted with textContent, never as HTML. Presence comes
// from the server's frames (user_joined carries the members; online is asked again when
// presence changes), never from polling; a connection outage is one notice, however many
// attempts it takes; typing is an ephemeral `event` (PROTOCOL.md §10.3).
import { Switchboard, describeClose } from "/switchboard.js";

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
};

const USER_RE = /^[A-Za-z0-9_.@-]{1,64}$/;
const ROOM_RE = /^[A-Za-z0-9_.:@/-]{1,128}$/;
const MAX_KEPT = 500;          // messages kept per conversation
const TYPING_EVERY = 2500;     // ms between our typing events while the user types
const TYPING_SHOWN = 4000;     // ms a typing indicator lasts without a new event
const ALL = "all";             // the conversation of broadcasts and server notices

const state = {
  sb: null,
  me: "",
  convs: new Map(),            // key → { key, kind, name, messages, unread }
  current: "",
  joined: new Set(),           // rooms this tab is in
  existing: new Set(),         // rooms the server told us about
  members: new Map(),          // room → Set(user)
  online: [],
  onlineTotal: 0,
  everConnected: false,
  outage: false,               // a lost connection was announced and not yet recovered
  behind: new Set(),           // rooms of the outage not yet rejoined
  rejoined: new Set(),         // rooms whose rejoin was announced: their gap and own join go unsaid
  typing: new Map(),           // room → Map(user → time its indicator ends)
  typedAt: 0,                  // when we last sent a typing event
  apiRooms: true,              // /api/rooms answers this browser (loopback or open)
};

// ---- conversations -------------------------------------------------------------------

function conv(key) {
  let c = state.convs.get(key);
  if (!c) {
    const [kind, name] = key === ALL ? ["all", "Everyone"] : [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
    c = { key, kind, name, messages: [], unread: 0 };
    state.convs.set(key, c);
  }
  return c;
}

function add(key, item) {
  const c = conv(key);
  c.messages.push(item);
  if (c.messages.length > MAX_KEPT) c.messages.splice(0, c.messages.length - MAX_KEPT);
  if (key === state.current) {
    appendMessage(item);
  } else if (item.kind !== "notice") {
    c.unread++;
    renderSidebar();
  }
}

function notice(key, text) {
  add(key, { kind: "notice", content: text, time: new Date() });
}

function select(key) {
  state.current = key;
  const c = conv(key);
  c.unread = 0;
  const title = c.kind === "room" ? "# " + c.name : c.kind === "dm" ? "@ " + c.name : "Everyone";
  $("conversation-title").textContent = title;
  $("conversation-sub").textContent =
    c.kind === "room" ? "room" : c.kind === "dm" ? "direct messages" : "broadcasts and server notices";
  $("leave-room").hidden = c.kind !== "room";
  $("empty").hidden = true;
  $("messages").hidden = false;
  const input = $("message-input");
  input.disabled = $("send").disabled = false;
  input.placeholder = c.kind === "room" ? `Message #${c.name}` : c.kind === "dm" ? `Message ${c.name}` : "Broadcast to everyone";
  renderMessages();
  renderSidebar();
  renderMembers();
  if (c.kind === "room" && state.sb?.state === "open") refreshMembers(c.name);
  sessionStorage.setItem("switchboard.current", key);
  openDrawer(null);
  renderTyping();
  input.focus();
}

function showWelcome() {
  state.current = "";
  $("conversation-title").textContent = "Welcome";
  $("conversation-sub").textContent = "";
  $("leave-room").hidden = true;
  $("messages").replaceChildren();
  $("messages").hidden = true;
  $("empty").hidden = false;
  $("message-input").disabled = $("send").disabled = true;
  $("message-input").placeholder = "Join a room first";
  renderSidebar();
  renderMembers();
}

// ---- rendering -------------------------------------------------------------------------

function fmtTime(d) {
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function messageNode(m) {
  const li = el("li", { class: "msg", dataset: { kind: m.kind } });
  if (m.sender && m.sender === state.me) li.classList.add("mine");
  if (m.offset !== undefined) li.dataset.offset = m.offset;
  const time = el("time", { class: "time", datetime: m.time.toISOString(), title: m.time.toLocaleString() }, fmtTime(m.time));
  const body = el("div", { class: "body" });
  if (m.sender) body.append(el("span", { class: "sender" }, m.sender));
  body.append(el("span", { class: "content" }, m.content));
  li.append(time, body);
  return li;
}

function renderMessages() {
  const c = state.convs.get(state.current);
  const list = $("messages");
  list.replaceChildren(...(c ? c.messages.map(messageNode) : []));
  list.scrollTop = list.scrollHeight;
}

function appendMessage(m) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  list.append(messageNode(m));
  if (atBottom || m.sender === state.me) list.scrollTop = list.scrollHeight;
}

function badge(n) {
  return n > 0 ? el("span", { class: "badge" }, String(n)) : null;
}

function renderSidebar() {
  const rooms = [...new Set([...state.joined, ...state.existing])].sort((a, b) => {
    const ja = state.joined.has(a), jb = state.joined.has(b);
    return ja === jb ? a.localeCompare(b) : ja ? -1 : 1;
  });
  const all = conv(ALL);
  const items = [el("li", { class: "joined everyone" + (state.current === ALL ? " active" : ""), onclick: () => select(ALL),
    title: "Broadcasts and server notices" }, el("span", { class: "name" }, "Everyone"), badge(all.unread))];
  for (const room of rooms) {
    const key = "room:" + room;
    const joined = state.joined.has(room);
    const c = state.convs.get(key);
    const li = el("li", {
      class: (joined ? "joined" : "") + (state.current === key ? " active" : ""),
      dataset: { room }, title: joined ? room : "Join " + room,
      onclick: () => (joined ? select(key) : joinRoom(room)),
    }, el("span", { class: "name" }, room), badge(joined && c ? c.unread : 0));
    items.push(li);
  }
  $("room-list").replaceChildren(...items);

  const dms = [...state.convs.values()].filter((c) => c.kind === "dm").sort((a, b) => a.name.localeCompare(b.name));
  $("dm-list").replaceChildren(...dms.map((c) => {
    const on = state.online.includes(c.name);
    return el("li", { class: (state.current === c.key ? "active" : "") + (on ? "" : " offline"), dataset: { user: c.name }, onclick: () => select(c.key) },
      el("span", { class: "name" }, c.name), badge(c.unread));
  }));
  $("dm-hint").hidden = dms.length > 0;
}

function userItem(user) {
  const li = el("li", { dataset: { user }, class: user === state.me ? "self" : "", title: user === state.me ? "you" : "Message " + user },
    el("span", { class: "name" }, user));
  if (user !== state.me) li.addEventListener("click", () => select("dm:" + user));
  return li;
}

function renderMembers() {
  const c = state.convs.get(state.current);
  let members = [];
  if (c?.kind === "room") members = [...(state.members.get(c.name) || [])].sort();
  else if (c?.kind === "dm") members = [state.me, c.name].sort();
  $("member-list").replaceChildren(...members.map(userItem));
  $("member-count").textContent = c && c.kind !== "all" ? String(members.length) : "";
  $("people-count").textContent = $("member-count").textContent;
}

function renderOnline() {
  $("online-list").replaceChildren(...state.online.map(userItem));
  $("online-count").textContent = state.sb?.state === "open" ? String(state.onlineTotal) : "";
  renderSidebar();
}

function renderTyping() {
  const c = state.convs.get(state.current);
  const now = Date.now();
  let who = [];
  for (const [room, users] of state.typing) {
    for (const [user, until] of users) if (until <= now) users.delete(user);
    if (c?.kind === "room" && room === c.name) who = [...users.keys()].sort();
  }
  $("typing").textContent = who.length === 0 ? ""
    : who.length === 1 ? `${who[0]} is typing…`
    : who.length <= 3 ? `${who.join(", ")} are typing…` : "Several people are typing…";
}

// Drawers (narrow screens): one open at a time, closed by its button, the scrim or Escape.
function openDrawer(which) {
  const app = $("app");
  app.classList.toggle("rooms-open", which === "rooms");
  app.classList.toggle("people-open", which === "people");
  $("open-rooms").setAttribute("aria-expanded", String(which === "rooms"));
  $("open-people").setAttribute("aria-expanded", String(which === "people"));
  $("scrim").hidden = !which;
}

function toast(text, kind = "") {
  const t = el("div", { class: "toast " + kind }, text);
  $("toasts").append(t);
  setTimeout(() => t.remove(), 5000);
}

let countdown = 0;
function setStatus(s) {
  const pill = $("status");
  pill.dataset.state = s.state;
  clearInterval(countdown);
  let text;
  switch (s.state) {
    case "open": text = "Connected"; break;
    case "connecting": text = "Connecting…"; break;
    case "reconnecting":
      if (s.retryIn !== undefined) {
        // Count the wait down so a person sees something is happening.
        const due = Date.now() + s.retryIn;
        const words = describeClose(s.code, s.reason);
        const show = () => {
          pill.textContent = `Reconnecting in ${Math.max(1, Math.ceil((due - Date.now()) / 1000))} s — ${words}`;
        };
        show();
        countdown = setInterval(show, 500);
        text = pill.textContent;
      } else {
        text = `Reconnecting (attempt ${s.attempt})…`;
      }
      break;
    case "closed":
      // A refusal is the server's answer, not a network problem: say so, do not retry.
      text = s.refused ? "Not allowed — " + (s.why || describeClose(s.code, s.reason))
        : "Disconnected — " + describeClose(s.code, s.reason);
      break;
    default: text = "Not connected";
  }
  pill.textContent = text;
  pill.title = s.state === "closed" ? "Click to reconnect" : "";
  if (s.state === "reconnecting" && state.everConnected && !state.outage) {
    state.outage = true; // one notice per outage, not one per attempt
    state.behind = new Set(state.joined);
    const words = s.why || describeClose(s.code, s.reason);
    for (const room of state.joined) notice("room:" + room, `Connection lost (${words}) — reconnecting…`);
  }
  if (s.state === "closed" && s.refused) toast("Not allowed: " + (s.why || describeClose(s.code, s.reason)), "bad");
  $("message-input").disabled = $("send").disabled = !state.current;
  renderOnline();
}

// ---- actions -----------------------------------------------------------------------------

function saveRooms() {
  sessionStorage.setItem("switchboard.rooms", JSON.stringify([...state.joined]));
}

async function joinRoom(room, { quiet = false } = {}) {
  if (!ROOM_RE.test(room)) {
    toast("Room names are 1–128 characters of A-Z a-z 0-9 _ . : @ / -", "bad");
    return;
  }
  if (state.joined.has(room)) { select("room:" + room); return; }
  state.joined.add(room);
  state.existing.add(room);
  conv("room:" + room);
  if (!quiet) select("room:" + room);
  try {
    // since 0: the server first replays the room's recent history it still holds.
    await state.sb.join(room, { since: 0 });
    saveRooms();
  } catch (err) {
    state.joined.delete(room);
    toast(err.code === "forbidden" ? `Not allowed to join ${room}` : `Could not join ${room}: ${err.message}`, "bad");
    if (state.current === "room:" + room) showWelcome();
    renderSidebar();
  }
}

async function leaveRoom(room) {
  state.joined.delete(room);
  state.members.delete(room);
  state.convs.delete("room:" + room);
  saveRooms();
  const next = [...state.joined][0];
  if (next) select("room:" + next); else showWelcome();
  try { await state.sb.leave(room); } catch (err) { toast(`Leaving ${room}: ${err.message}`, "bad"); }
}

async function refreshMembers(room) {
  try {
    state.members.set(room, new Set(await state.sb.members(room)));
    if (state.current === "room:" + room) renderMembers();
  } catch { /* the next user_joined brings the list too */ }
}

let onlineTimer = 0;
function refreshOnlineSoon(delay = 250) {
  clearTimeout(onlineTimer);
  onlineTimer = setTimeout(refreshOnline, delay);
}
async function refreshOnline() {
  if (state.sb?.state !== "open") return;
  try {
    const o = await state.sb.online();
    state.online = o.users || [];
    state.onlineTotal = o.total ?? state.online.length;
    renderOnline();
  } catch { /* retried on the next tick */ }
}

// The room list comes from `connected`; when the admin API answers this browser (a
// local server), it is kept fresh from /api/rooms too.
async function refreshRooms(explicit = false) {
  if (!state.apiRooms && !explicit) return;
  try {
    const res = await fetch("/api/rooms", { cache: "no-store" });
    if (!res.ok) throw new Error(String(res.status));
    const body = await res.json();
    state.existing = new Set(body.rooms.map((r) => r.name));
    state.apiRooms = true;
    renderSidebar();
  } catch {
    state.apiRooms = false;
    if (explicit) toast("The room list refreshes when you reconnect (the admin API is not open to this browser).", "info");
  }
}

async function send(text) {
  const c = conv(state.current);
  const sb = state.sb;
  if (c.kind === "room") {
    await sb.chat(c.name, text); // the server echoes it back to us like to everyone else
  } else if (c.kind === "dm") {
    await sb.sendPrivate(c.name, text);
    add(c.key, { kind: "private", sender: state.me, content: text, time: new Date() });
  } else {
    await sb.broadcast(text);
  }
}

// ---- the connection ------------------------------------------------------------------------

function connect(user, token) {
  state.sb?.close();
  // With a token the server knows who we are: it goes in the `auth` first message.
  const sb = new Switchboard(token ? { token } : { user });
  state.sb = sb;

  sb.on("status", setStatus);
  sb.on("connected", (m) => {
    state.me = m.user_id;
    $("me").textContent = m.user_id;
    for (const r of m.rooms || []) state.existing.add(r);
    if (state.behind.size === 0) state.outage = false; // nothing to rejoin: the outage is over
    if (!state.everConnected) {
      state.everConnected = true;
      const saved = JSON.parse(sessionStorage.getItem("switchboard.rooms") || "[]");
      const current = sessionStorage.getItem("switchboard.current");
      for (const r of saved) joinRoom(r, { quiet: true });
      if (current && (current === ALL || current.startsWith("dm:") || saved.includes(current.slice(5)))) select(current);
      else if (saved.length) select("room:" + saved[0]);
    }
    renderSidebar();
    refreshOnline();
    refreshRooms();
  });
  sb.on("user_joined", (m) => {
    state.existing.add(m.room);
    state.members.set(m.room, new Set(m.members));
    const rejoin = m.user_id === state.me && state.rejoined.delete(m.room);
    if (state.joined.has(m.room) && !rejoin) {
      notice("room:" + m.room, m.user_id === state.me ? `You joined #${m.room}` : `${m.user_id} joined`);
    }
    if (state.current === "room:" + m.room) renderMembers();
    renderSidebar();
    refreshOnlineSoon();
  });
  sb.on("user_left", (m) => {
    state.members.get(m.room)?.delete(m.user_id);
    if (state.joined.has(m.room)) notice("room:" + m.room, `${m.user_id} left`);
    if (state.current === "room:" + m.room) renderMembers();
    refreshOnlineSoon();
  });
  sb.on("rejoined", (r) => {
    if (r.error) {
      state.joined.delete(r.room);
      notice("room:" + r.room, r.error.code === "forbidden" ? `Not allowed in #${r.room} any more` : `Could not rejoin: ${r.error.message}`);
      renderSidebar();
    } else if (state.behind.delete(r.room)) {
      state.rejoined.add(r.room);
      notice("room:" + r.room, r.recovered ? "Reconnected — caught up on every missed message"
        : "Reconnected — some messages may be missing");
    }
    if (state.behind.size === 0) state.outage = false;
  });
  sb.on("left", (m) => {
    state.joined.delete(m.room);
    notice("room:" + m.room, `You were removed from #${m.room} (${m.reason})`);
    saveRooms();
    renderSidebar();
  });
  sb.on("event", (m) => {
    if (m.event !== "typing") return;
    let room = state.typing.get(m.room);
    if (!room) state.typing.set(m.room, (room = new Map()));
    room.set(m.sender, Date.now() + TYPING_SHOWN);
    renderTyping();
    setTimeout(renderTyping, TYPING_SHOWN + 50);
  });
  sb.on("chat", (m) => {
    state.typing.get(m.room)?.delete(m.sender); // the message they were typing is here
    renderTyping();
    add("room:" + m.room, { kind: "chat", sender: m.sender, content: m.content, time: new Date(m.timestamp), offset: m.offset });
  });
  sb.on("private", (m) => {
    const other = m.sender === state.me ? m.to : m.sender;
    const fresh = !state.convs.has("dm:" + other);
    add("dm:" + other, { kind: "private", sender: m.sender, content: m.content, time: new Date(m.timestamp) });
    if (fresh) renderSidebar();
    if (m.sender !== state.me && state.current !== "dm:" + other) toast(`${m.sender}: ${m.content}`, "info");
  });
  sb.on("broadcast", (m) => {
    add(ALL, { kind: "broadcast", sender: m.sender, content: m.content, time: new Date(m.timestamp) });
    if (state.current !== ALL) toast(`${m.sender} to everyone: ${m.content}`, "info");
  });
  sb.on("system", (m) => {
    const item = { kind: "system", content: m.content, time: new Date(m.timestamp) };
    if (m.room) add("room:" + m.room, item);
    else {
      add(ALL, item);
      toast(m.content, "info");
    }
  });
  sb.on("members", (m) => {
    state.members.set(m.room, new Set(m.members));
    if (state.current === "room:" + m.room) renderMembers();
  });
  sb.on("gap", (m) => state.rejoined.has(m.room) || notice("room:" + m.room, "Some messages may be missing here: the server no longer holds them."));
  sb.on("error", (m) => {
    // Errors answering our own requests are shown where the request was made.
    if (m.id === undefined && m.code !== "history_gap") toast(`${m.code}: ${m.message}`, "bad");
  });

  sb.connect();
}

function login() {
  const dialog = $("login");
  $("login-user").value = localStorage.getItem("switchboard.lastUser") || "";
  $("login-token").value = "";
  dialog.showModal();
}

// ---- wiring ----------------------------------------------------------------------------------

$("login-form").addEventListener("submit", (e) => {
  const user = $("login-user").value.trim();
  const token = $("login-token").value.trim();
  if (user && !USER_RE.test(user)) {
    e.preventDefault();
    toast("Names are 1–64 characters of A-Z a-z 0-9 _ . @ -", "bad");
    return;
  }
  sessionStorage.setItem("switchboard.user", user);
  sessionStorage.setItem("switchboard.token", token);
  if (user) localStorage.setItem("switchboard.lastUser", user);
  start(user, token);
});

$("switch-user").addEventListener("click", () => {
  state.sb?.close();
  sessionStorage.clear();
  const url = new URL(location.href);
  url.searchParams.delete("user");
  url.searchParams.delete("token");
  history.replaceState(null, "", url);
  login();
});

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const room = $("join-input").value.trim();
  if (!room) return;
  $("join-input").value = "";
  joinRoom(room);
});

$("leave-room").addEventListener("click", () => {
  const c = state.convs.get(state.current);
  if (c?.kind === "room") leaveRoom(c.name);
});

$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("message-input");
  const text = input.value;
  if (!text.trim() || !state.current) return;
  input.value = "";
  state.typedAt = 0;
  try {
    await send(text);
  } catch (err) {
    if (!input.value) input.value = text; // give the words back
    const why = err.code === "user_offline" ? `${conv(state.current).name} is offline — not delivered`
      : err.code === "forbidden" ? "This server does not let clients broadcast"
      : err.code === "not_connected" ? "Not connected — try again when the status is green"
      : `${err.code}: ${err.message}`;
    notice(state.current, why);
  }
});

$("message-input").addEventListener("input", () => {
  const c = state.convs.get(state.current);
  if (c?.kind !== "room" || state.sb?.state !== "open" || !$("message-input").value) return;
  if (Date.now() - state.typedAt < TYPING_EVERY) return;
  state.typedAt = Date.now();
  state.sb.event(c.name, "typing").catch(() => { /* a hint only: never worth a notice */ });
});

$("open-rooms").addEventListener("click", () => openDrawer("rooms"));
$("open-people").addEventListener("click", () => openDrawer("people"));
$("close-rooms").addEventListener("click", () => openDrawer(null));
$("close-people").addEventListener("click", () => openDrawer(null));
$("scrim").addEventListener("click", () => openDrawer(null));
document.addEventListener("keydown", (e) => { if (e.key === "Escape") openDrawer(null); });

$("status").addEventListener("click", () => {
  if (state.sb && state.sb.state === "closed") state.sb.connect();
});
$("refresh-rooms").addEventListener("click", () => refreshRooms(true));

function start(user, token) {
  state.everConnected = false;
  state.joined.clear();
  state.convs.clear();
  state.members.clear();
  showWelcome();
  connect(user, token);
}

// Who am I? ?user= in the address wins, then this tab's earlier choice, else ask.
// An embedding page passes a token in the fragment (#token=JWT: never sent to any
// server in a URL) or the query; either is taken out of the address bar at once.
const params = new URLSearchParams(location.search);
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.has("token")) params.set("token", fragment.get("token"));
if (params.has("user") || params.has("token")) {
  sessionStorage.setItem("switchboard.user", params.get("user") || "");
  sessionStorage.setItem("switchboard.token", params.get("token") || "");
  if (params.has("token")) {
    const url = new URL(location.href);
    url.searchParams.delete("token");
    url.hash = "";
    history.replaceState(null, "", url);
  }
}
const savedUser = sessionStorage.getItem("switchboard.user");
showWelcome();
if (savedUser !== null) start(savedUser, sessionStorage.getItem("switchboard.token") || "");
else login();
