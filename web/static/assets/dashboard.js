// The dashboard: polls /api/stats, /api/rooms, /api/users and /metrics once a second.
import { CLOSE_CODES } from "/switchboard.js";
import { draw } from "/assets/chart.js";

const $ = (id) => document.getElementById(id);
const HISTORY = 120; // points per chart: two minutes at one per second
const series = { conns: [], rateIn: [], rateOut: [] };
let token = sessionStorage.getItem("switchboard.adminToken") || "";
let last = null; // previous metrics sample: { t, received, delivered }
let apiBlocked = false;

const fmt = new Intl.NumberFormat();
const num = (v) => (v === undefined || Number.isNaN(v) ? "–" : fmt.format(Math.round(v)));
const rate = (v) => (v === undefined ? "–" : v < 10 ? v.toFixed(1) : fmt.format(Math.round(v)));
function bytes(n) {
  if (!(n >= 0)) return "–";
  const u = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(n < 10 && i ? 1 : 0)} ${u[i]}`;
}

async function api(path, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (token) headers.Authorization = "Bearer " + token;
  const res = await fetch(path, { cache: "no-store", ...init, headers });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    const err = new Error(body.message || `${path}: ${res.status}`);
    if (res.status === 401 || res.status === 403) err.status = res.status;
    throw err;
  }
  return res.json();
}

/** Parses the Prometheus text format into name → [{ labels, value }]. */
function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    if (!out.has(m[1])) out.set(m[1], []);
    out.get(m[1]).push({ labels, value: Number(m[4]) });
  }
  return out;
}
const one = (metrics, name) => metrics.get(name)?.[0]?.value;

function push(arr, v) {
  arr.push(v);
  if (arr.length > HISTORY) arr.shift();
}

function setStatus(stateName, text) {
  const s = $("status");
  s.dataset.state = stateName;
  s.textContent = text;
}

function showTokenForm(err) {
  apiBlocked = true;
  $("token-form").hidden = false;
  $("token-why").textContent = err.status === 403
    ? "The admin API answers only loopback clients unless the server runs with --admin-token. Enter that token:"
    : "The admin API needs the server's --admin-token:";
}

function row(cells, cls = "") {
  const tr = document.createElement("tr");
  if (cls) tr.className = cls;
  for (const [text, c] of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    if (c) td.className = c;
    tr.append(td);
  }
  return tr;
}

let ticks = 0;
async function tick() {
  const now = performance.now();
  // While the admin API refuses us, ask it again only every 10 s (metrics still flow).
  const askAPI = !apiBlocked || ticks++ % 10 === 0;
  const skipped = Promise.reject(Object.assign(new Error("skipped"), { skipped: true }));
  skipped.catch(() => {});
  const [statsR, roomsR, usersR, metricsR] = await Promise.allSettled([
    askAPI ? api("/api/stats") : skipped, askAPI ? api("/api/rooms") : skipped, askAPI ? api("/api/users") : skipped,
    fetch("/metrics", { cache: "no-store" }).then((r) => (r.ok ? r.text() : Promise.reject(new Error("metrics " + r.status)))),
  ]);

  const blocked = [statsR, roomsR, usersR].find((r) => r.status === "rejected" && r.reason.status);
  if (blocked) showTokenForm(blocked.reason);
  else if (statsR.status === "fulfilled") { apiBlocked = false; $("token-form").hidden = true; }

  if (metricsR.status === "rejected" && (statsR.status === "rejected" && !statsR.reason.skipped)) {
    setStatus("closed", "Server unreachable");
    return;
  }
  setStatus("open", "Live · every second");

  let metrics = new Map();
  if (metricsR.status === "fulfilled") metrics = parseMetrics(metricsR.value);
  // A node started with --nats exports switchboard_cluster_degraded: 1 while its link is down.
  if (one(metrics, "switchboard_cluster_degraded") === 1) setStatus("reconnecting", "Live · cluster link down");
  const stats = statsR.status === "fulfilled" ? statsR.value : null;

  const conns = stats ? stats.total_connections : one(metrics, "switchboard_connections");
  const rooms = stats ? stats.rooms : one(metrics, "switchboard_rooms");
  $("stat-connections").textContent = num(conns);
  $("stat-rooms").textContent = num(rooms);
  $("stat-users").textContent = stats ? num(stats.unique_users) : "–";
  $("conns-per-user").textContent = stats && stats.unique_users ? `${(stats.total_connections / stats.unique_users).toFixed(2)} connections per user` : "";
  if (stats) {
    $("node").textContent = "node " + stats.node_id;
    $("capacity").textContent = `of ${num(stats.max_connections)} max`;
    $("capacity-bar").style.width = Math.min(100, (100 * stats.total_connections) / stats.max_connections) + "%";
  }

  const received = one(metrics, "switchboard_messages_received_total");
  const delivered = one(metrics, "switchboard_messages_delivered_total");
  let rin, rout;
  if (last && received !== undefined) {
    const dt = (now - last.t) / 1000;
    rin = Math.max(0, (received - last.received) / dt);
    rout = Math.max(0, (delivered - last.delivered) / dt);
  }
  if (received !== undefined) last = { t: now, received, delivered };
  $("stat-rate-in").textContent = rate(rin);
  $("stat-rate-out").textContent = rate(rout);
  $("total-in").textContent = received !== undefined ? `${num(received)} total` : "";
  $("total-out").textContent = delivered !== undefined ? `${num(delivered)} total` : "";
  $("stat-memory").textContent = bytes(one(metrics, "process_resident_memory_bytes"));
  const g = one(metrics, "go_goroutines");
  $("stat-goroutines").textContent = g !== undefined ? `resident memory · ${num(g)} goroutines` : "resident memory";

  push(series.conns, conns ?? 0);
  push(series.rateIn, rin ?? 0);
  push(series.rateOut, rout ?? 0);
  draw($("chart-conns"), [{ data: series.conns, color: "#3056d3" }], HISTORY, rate);
  draw($("chart-rate"), [{ data: series.rateOut, color: "#2fb35a" }, { data: series.rateIn, color: "#3056d3" }], HISTORY, rate);

  if (roomsR.status === "fulfilled") {
    const list = [...roomsR.value.rooms].sort((a, b) => b.members - a.members || a.name.localeCompare(b.name));
    const shown = list.slice(0, 50);
    $("rooms-table").replaceChildren(...(shown.length ? shown.map((r) => row([[r.name], [num(r.members), "num"]]))
      : [row([["no rooms yet"], [""]], "empty-row")]));
    $("rooms-more").textContent = list.length > shown.length ? `and ${num(list.length - shown.length)} more` : "";
    $("largest-room").textContent = list[0] ? `largest: ${list[0].name} (${list[0].members})` : "";
  }
  if (usersR.status === "fulfilled") {
    const users = usersR.value.users.slice(0, 200);
    $("users-list").replaceChildren(...users.map((u) => {
      const li = document.createElement("li");
      li.textContent = u;
      return li;
    }));
    $("users-total").textContent = usersR.value.total > users.length ? `${users.length} of ${num(usersR.value.total)}` : "";
  }

  const closes = (metrics.get("switchboard_closes_total") || []).filter((c) => c.value > 0)
    .sort((a, b) => b.value - a.value);
  $("closes-table").replaceChildren(...(closes.length
    ? closes.map((c) => row([[c.labels.code], [CLOSE_CODES[c.labels.code] || ""], [num(c.value), "num"]]))
    : [row([["none yet"], [""], [""]], "empty-row")]));
}

function toast(text, kind = "") {
  const t = document.createElement("div");
  t.className = "toast " + kind;
  t.textContent = text;
  $("toasts").append(t);
  setTimeout(() => t.remove(), 4000);
}

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token-input").value.trim();
  sessionStorage.setItem("switchboard.adminToken", token);
  apiBlocked = false;
  loop();
});

$("notice-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const content = $("notice-input").value;
  const room = $("notice-room").value.trim();
  try {
    const body = room ? { content, room } : { content };
    const res = await api("/api/system", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    toast(`Notice delivered to ${res.delivered} connection${res.delivered === 1 ? "" : "s"}`, "info");
    $("notice-input").value = "";
  } catch (err) {
    toast("Notice not sent: " + err.message, "bad");
  }
});

let running = false;
async function loop() {
  if (!running) {
    running = true;
    try { await tick(); } catch (err) { setStatus("closed", String(err.message || err)); }
    running = false;
  }
}
loop();
setInterval(loop, 1000);
