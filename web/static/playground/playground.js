// Switchboard playground: the core hub compiled to WebAssembly (hub.wasm, see wasm/)
// driven by simulated connections. Everything a connection would receive over a real
// WebSocket is what the hub's deliver actions hold; close actions end a connection.

const $ = (sel, root = document) => root.querySelector(sel);
const statusEl = $('#status');

// The page's clock is the wall clock plus the jumps the user asked for; every event
// carries it, as a transport's events carry time.Now().
let clockOffset = 0;
const now = () => Date.now() + clockOffset;

let api = null;        // globalThis.switchboard once hub.wasm runs
let hub = 0;           // current hub id
let nextConn = 1;      // connection ids, unique for the page's life
const clients = [];    // simulated clients (one card each); a client has one conn at a time
const byConn = new Map();

function setStatus(state, text) {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

async function loadHub() {
  try {
    await loadScript('/playground/wasm_exec.js');
  } catch {
    throw new Error('/playground/wasm_exec.js is missing.');
  }
  const res = await fetch('/playground/hub.wasm');
  if (!res.ok) {
    throw new Error(`/playground/hub.wasm is missing (HTTP ${res.status}).`);
  }
  const go = new Go();
  const ready = new Promise(resolve => { globalThis.switchboardReady = resolve; });
  const bytes = await res.arrayBuffer();
  const { instance } = await WebAssembly.instantiate(bytes, go.importObject);
  go.run(instance).then(() => setStatus('error', 'The wasm hub exited; reload the page.'));
  return ready;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = reject;
    document.head.append(s);
  });
}

function config() {
  const f = $('#config');
  const c = {};
  for (const el of f.elements) {
    if (!el.name) continue;
    c[el.name] = el.type === 'checkbox' ? el.checked : Number(el.value);
  }
  c.start = now();
  return c;
}

function resetHub() {
  if (hub) api.closeHub(hub);
  const id = api.newHub(JSON.stringify(config()));
  if (id instanceof Error) {
    setStatus('error', 'Bad hub settings: ' + id.message);
    return false;
  }
  hub = id;
  for (const c of clients) c.el.remove();
  clients.length = 0;
  byConn.clear();
  $('#admin-log').replaceChildren();
  $('#steps').replaceChildren();
  $('#no-conns').hidden = false;
  return true;
}

// step sends one event to the hub and applies every action it returns.
function step(event) {
  event.now ??= now();
  const text = api.step(hub, JSON.stringify(event));
  const res = JSON.parse(text);
  logStep(event, text);
  stepAt = event.now; // lines logged for these actions carry the hub's time
  try {
    for (const a of res.actions) apply(a);
  } finally {
    stepAt = 0;
  }
  return res;
}

function apply(a) {
  switch (a.kind) {
    case 'deliver':
      for (const id of a.targets) {
        const c = byConn.get(id);
        if (!c) continue;
        const frame = a.frames[c.format];
        logFrame(c, 'in', a.type, frame);
      }
      break;
    case 'close': {
      const c = byConn.get(a.conn);
      if (!c) break;
      logLine(c, 'close', `◼ closed by the server: ${a.code}${a.reason ? ' ' + a.reason : ''}`);
      markClosed(c, `closed ${a.code}${a.reason ? ' · ' + a.reason : ''}`);
      break;
    }
    case 'admin_reply':
      adminReply(a);
      break;
  }
}

// ---- connections ----------------------------------------------------------------

function addClient(user, format) {
  const el = $('#conn-template').content.firstElementChild.cloneNode(true);
  const c = { user, format, conn: 0, open: false, el, log: $('.log', el) };
  el.dataset.user = user;
  el.dataset.format = format;
  $('.user', el).textContent = user;
  $('.disconnect', el).onclick = () => disconnect(c);
  $('.reconnect', el).onclick = () => connect(c);
  $('.remove', el).onclick = () => {
    if (c.open) disconnect(c);
    el.remove();
    clients.splice(clients.indexOf(c), 1);
    $('#no-conns').hidden = clients.length > 0;
  };
  const ta = $('textarea', el);
  $('.compose', el).onsubmit = e => { e.preventDefault(); send(c, ta.value); };
  ta.onkeydown = e => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(c, ta.value); }
  };
  for (const [name, make] of examples) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = name;
    b.dataset.example = name;
    b.onclick = () => { ta.value = JSON.stringify(make(c)); ta.focus(); };
    $('.examples', el).append(b);
  }
  clients.push(c);
  $('#conns').append(el);
  $('#no-conns').hidden = true;
  connect(c);
  return c;
}

function connect(c) {
  if (c.conn) logLine(c, 'note', '— reconnecting —');
  c.conn = nextConn++;
  c.open = true;
  byConn.set(c.conn, c);
  c.el.dataset.conn = c.conn;
  c.el.classList.remove('closed');
  $('.meta', c.el).textContent = `conn ${c.conn} · ${c.format}`;
  $('.state', c.el).textContent = 'open';
  $('.disconnect', c.el).hidden = false;
  $('.reconnect', c.el).hidden = true;
  $('.compose button', c.el).disabled = false;
  const res = step({ kind: 'connect', conn: c.conn, user: c.user, format: c.format });
  if (res.error) logLine(c, 'problem', 'hub: ' + res.error);
}

function disconnect(c) {
  if (!c.open) return;
  logLine(c, 'close', '◼ you closed the connection: 1000');
  markClosed(c, 'closed 1000 by you');
  step({ kind: 'disconnect', conn: c.conn, code: 1000 });
}

function markClosed(c, text) {
  c.open = false;
  byConn.delete(c.conn);
  c.el.classList.add('closed');
  $('.state', c.el).textContent = text;
  $('.disconnect', c.el).hidden = true;
  $('.reconnect', c.el).hidden = false;
  $('.compose button', c.el).disabled = true;
}

function send(c, text) {
  text = text.trim();
  if (!text || !c.open) return;
  const at = now();
  const res = step({ kind: 'frame', conn: c.conn, data: text, now: at });
  // A frame event renders its own actions; the outgoing line goes first in the log.
  const li = frameLine(c, 'out', requestType(text), res.sent, at);
  const firstNew = [...c.log.children].find(el => el.dataset.step === String(stepCount));
  c.log.insertBefore(li, firstNew ?? null);
  scrollDown(c.log);
  if (res.error) logLine(c, 'problem', 'hub: ' + res.error);
}

function requestType(text) {
  try { return JSON.parse(text).type ?? '?'; } catch { return 'not JSON'; }
}

// examples are ready-made requests (PROTOCOL §3); private is addressed to another user.
const examples = [
  ['join', () => ({ type: 'join', room: 'lobby' })],
  ['chat', () => ({ type: 'chat', room: 'lobby', content: 'Hello, lobby!' })],
  ['private', c => ({ type: 'private', to: otherUser(c), content: 'psst' })],
  ['members', () => ({ type: 'members', room: 'lobby' })],
  ['online', () => ({ type: 'online' })],
  ['broadcast', () => ({ type: 'broadcast', content: 'Hello, everyone' })],
  ['ping + id', () => ({ type: 'ping', id: 'p1' })],
  ['join since', () => ({ type: 'join', room: 'lobby', since: 0 })],
  ['leave', () => ({ type: 'leave', room: 'lobby' })],
  ['bad', () => ({ type: 'chat', room: 'lobby' })],
];

function otherUser(c) {
  return clients.find(o => o.user !== c.user)?.user ?? 'bob';
}

// ---- logs -----------------------------------------------------------------------

let stepCount = 0;
let stepAt = 0;

function stamp(at = stepAt || now()) {
  return new Date(at).toISOString().slice(11, 23);
}

function frameLine(c, dir, type, frame, at = stepAt || now()) {
  const li = document.createElement('li');
  li.className = dir;
  li.dataset.type = type;
  li.dataset.step = stepCount;
  const t = document.createElement('span');
  t.className = 't';
  t.textContent = stamp(at);
  const body = document.createElement('span');
  const arrow = document.createElement('span');
  arrow.className = 'dir';
  arrow.textContent = dir === 'in' ? '←' : '→';
  const badge = document.createElement('span');
  badge.className = 'badge ' + type;
  badge.textContent = type;
  const code = document.createElement('code');
  code.textContent = frame ? frame.text : '';
  body.append(arrow, badge, code);
  li.append(t, body);
  if (frame && frame.hex) {
    const d = document.createElement('details');
    const s = document.createElement('summary');
    s.textContent = `${frame.bytes} bytes of MessagePack`;
    const hex = document.createElement('code');
    hex.textContent = frame.hex.replace(/(..)/g, '$1 ').trim();
    d.append(s, hex);
    li.append(d);
  }
  return li;
}

function logFrame(c, dir, type, frame) {
  c.log.append(frameLine(c, dir, type, frame));
  scrollDown(c.log);
}

function logLine(c, kind, text) {
  const li = document.createElement('li');
  li.className = kind;
  li.dataset.step = stepCount;
  const t = document.createElement('span');
  t.className = 't';
  t.textContent = stamp();
  const body = document.createElement('span');
  body.textContent = text;
  li.append(t, body);
  c.log.append(li);
  scrollDown(c.log);
}

function scrollDown(el) { el.scrollTop = el.scrollHeight; }

function logStep(event, resultText) {
  stepCount++;
  const li = document.createElement('li');
  li.textContent = `${JSON.stringify(event)}\n⇒ ${resultText}`;
  li.style.whiteSpace = 'pre-wrap';
  $('#steps').append(li);
}

function adminReply(r) {
  const li = document.createElement('li');
  const t = document.createElement('span');
  t.className = 't';
  t.textContent = stamp();
  const body = document.createElement('code');
  body.textContent = r.error ?? `${r.status} ${JSON.stringify(r.body)}`;
  li.append(t, body);
  if (r.status !== 200) li.className = 'problem';
  $('#admin-log').append(li);
  scrollDown($('#admin-log'));
}

// ---- clock, admin, tour -----------------------------------------------------------

function tickClock() { $('#clock').value = new Date(now()).toISOString(); }

function advance(ms) {
  clockOffset += ms;
  tickClock();
  step({ kind: 'tick' });
}

let adminRef = 1;
function sendAdmin(form) {
  const f = Object.fromEntries(new FormData(form));
  const res = step({ kind: 'admin', op: f.op, ref: adminRef++, room: f.room, user: f.user, content: f.content });
  if (res.error) adminReply({ error: res.error });
}

const pause = ms => new Promise(r => setTimeout(r, ms));
// ?delay=MS sets the tour's pace (the e2e tests run it fast).
const tourDelay = Number(new URLSearchParams(location.search).get('delay') ?? 350);

// tour plays a short session that shows presence, room chat, private messages, acks,
// errors and a close, slowly enough to follow.
async function tour(delay = tourDelay) {
  if (!resetHub()) return;
  const ann = addClient('ann', 'json');
  await pause(delay);
  const bob = addClient('bob', 'msgpack');
  const script = [
    [ann, { type: 'join', room: 'lobby' }],
    [bob, { type: 'join', room: 'lobby', id: 'j1' }],
    [ann, { type: 'chat', room: 'lobby', content: 'Hi Bob!' }],
    [bob, { type: 'private', to: 'ann', content: 'Hi Ann, only you see this' }],
    [ann, { type: 'members', room: 'lobby' }],
    [bob, { type: 'chat', room: 'kitchen', content: 'anyone?' }],
    [bob, { type: 'leave', room: 'lobby' }],
    [ann, { type: 'online' }],
  ];
  for (const [c, msg] of script) {
    await pause(delay);
    $('textarea', c.el).value = JSON.stringify(msg);
    send(c, JSON.stringify(msg));
  }
  await pause(delay);
  advance(5000);
  await pause(delay);
  disconnect(bob);
  $('#tour').dataset.done = 'true';
}

// ---- start ----------------------------------------------------------------------

async function main() {
  try {
    api = await loadHub();
  } catch (err) {
    setStatus('error', 'hub.wasm not running');
    $('#unavailable-why').textContent = err.message;
    $('#unavailable').hidden = false;
    return;
  }
  setStatus('ready', `hub.wasm running · API v${api.version}`);
  $('#app').hidden = false;
  resetHub();
  tickClock();
  setInterval(tickClock, 1000);
  $('#add-user').onsubmit = e => {
    e.preventDefault();
    const name = $('#add-user-name');
    if (!name.reportValidity()) return;
    addClient(name.value, $('#add-user-format').value);
    const n = ['ann', 'bob', 'cat', 'dan', 'eve', 'fay'];
    name.value = n[(n.indexOf(name.value) + 1) % n.length] || 'bob';
  };
  for (const b of document.querySelectorAll('[data-advance]')) {
    b.onclick = () => advance(Number(b.dataset.advance));
  }
  $('#reset').onclick = resetHub;
  $('#tour').onclick = () => tour();
  $('#admin').onsubmit = e => { e.preventDefault(); sendAdmin(e.target); };
  document.body.dataset.ready = 'true';
}

main();
