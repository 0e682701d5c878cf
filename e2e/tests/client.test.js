// The JS client module (/switchboard.js) in a real browser against the real binary:
// it reconnects after the server closes it and joins its rooms again; it does not come
// back after an operator kicked it (4009 is final, as the module documents, so the
// reconnect is shown with a server shutdown: 1001 "Server shutting down").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, stopAll } from './harness.js';

let server, browser;

// The goroutine (net/http) transport here; the chat test runs the default, epoll.
const transport = ['--transport', 'goroutine'];

before(async () => {
  server = await startServer(transport);
  browser = await launchBrowser();
});

after(() => stopAll(browser, server));

// clientPage opens a same-origin page and starts a Switchboard client in it as user;
// window.seen records every status change and every frame. Setting window.offline makes
// the page's WebSocket constructor fail, as a browser without a network would.
async function clientPage(user, opts = {}, srv = server) {
  const page = await browser.newPage();
  await page.goto(`${srv.url}/healthz`);
  await page.evaluate(async ([user, opts]) => {
    const { Switchboard } = await import('/switchboard.js');
    window.offline = false;
    class GatedWebSocket extends WebSocket {
      constructor(url, protocols) {
        if (window.offline) throw new Error('offline');
        super(url, protocols);
      }
    }
    const sb = new Switchboard({ user, minDelay: 100, maxDelay: 400, heartbeat: 0, WebSocket: GatedWebSocket, ...opts });
    window.seen = { status: [], frames: [] };
    sb.on('status', s => window.seen.status.push(s));
    sb.on('message', m => window.seen.frames.push(m));
    window.sb = sb;
    const open = new Promise(resolve => sb.on('connected', resolve));
    sb.connect();
    await open;
  }, [user, opts]);
  return page;
}

const frames = (page, type) => page.evaluate(t => window.seen.frames.filter(f => f.type === t), type);
const waitFor = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout: 20000 });

test('after the server closes it, the client reconnects and joins its rooms again', async () => {
  const ann = await clientPage('ann');
  await ann.evaluate(() => window.sb.join('lobby'));
  const port = new URL(server.url).port;

  // SIGTERM: the server closes every connection 1001 "Server shutting down".
  await server.stop();
  await waitFor(ann, () => window.seen.status.some(s => s.state === 'reconnecting' && s.code === 1001));
  const closed = await ann.evaluate(() => window.seen.status.find(s => s.code === 1001));
  assert.equal(closed.reason, 'Server shutting down');

  // A new server on the same address: the client finds it by itself.
  server = await startServer([...transport, '--addr', `127.0.0.1:${port}`]);
  await waitFor(ann, () => window.seen.frames.filter(f => f.type === 'connected').length === 2 && window.sb.state === 'open');
  // It joined lobby again without being asked: the new server counts it a member...
  await waitFor(ann, () => {
    const f = window.seen.frames;
    const reconnected = f.findLastIndex(m => m.type === 'connected');
    return f.slice(reconnected).some(m => m.type === 'user_joined' && m.room === 'lobby' && m.user_id === 'ann');
  });
  const bob = await clientPage('bob');
  const members = await bob.evaluate(() => window.sb.members('lobby'));
  assert.deepEqual(members, ['ann']);
  // ...and it hears the room.
  await bob.evaluate(() => window.sb.join('lobby'));
  await bob.evaluate(() => window.sb.chat('lobby', 'welcome back'));
  await waitFor(ann, () => window.seen.frames.some(f => f.type === 'chat' && f.content === 'welcome back'));
  const chat = (await frames(ann, 'chat')).at(-1);
  assert.equal(chat.sender, 'bob');
  await bob.close();
  await ann.close();
});

test('after an operator kicks it (4009), the client stays closed', async () => {
  const eve = await clientPage('eve');
  const res = await fetch(`${server.url}/api/users/eve/disconnect`, { method: 'POST', headers: { 'Content-Type': 'application/json' } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { closed: 1 });
  await waitFor(eve, () => window.sb.state === 'closed');
  const last = await eve.evaluate(() => window.seen.status.at(-1));
  assert.deepEqual([last.state, last.code, last.reason], ['closed', 4009, 'Kicked']);
  // Well past the longest reconnect delay (400 ms), nothing came back.
  await new Promise(r => setTimeout(r, 1500));
  assert.equal((await frames(eve, 'connected')).length, 1);
  const users = await (await fetch(`${server.url}/api/users`)).json();
  assert.ok(!users.users.includes('eve'), `eve is still online: ${JSON.stringify(users)}`);
  await eve.close();
});

test('after an idle timeout, the client recovers the messages it missed (join with since)', async () => {
  // A server that closes silent connections after 1.5 s and never pings.
  const idle = await startServer([...transport, '--idle-timeout', '1500ms', '--ping-interval', '1h']);
  try {
    const ann = await clientPage('ann', {}, idle);                 // silent: no heartbeat
    const bob = await clientPage('bob', { heartbeat: 200 }, idle); // kept alive by pings
    await ann.evaluate(() => window.sb.join('lobby'));
    await bob.evaluate(() => window.sb.join('lobby'));
    await bob.evaluate(() => window.sb.chat('lobby', 'm1'));
    await waitFor(ann, () => window.seen.frames.some(f => f.type === 'chat' && f.content === 'm1'));

    // ann goes offline; the server closes her silent connection.
    await ann.evaluate(() => { window.offline = true; });
    await waitFor(ann, () => window.seen.status.some(s => s.code === 1001 && s.reason === 'Idle timeout'));
    await bob.evaluate(async () => {
      await window.sb.chat('lobby', 'm2');
      await window.sb.chat('lobby', 'm3');
    });

    // Back online: she rejoins with since = 1 and gets m2 and m3, once each, in order.
    await ann.evaluate(() => { window.offline = false; });
    await waitFor(ann, () => window.seen.frames.filter(f => f.type === 'chat').length >= 3 && window.sb.state === 'open');
    const chats = (await frames(ann, 'chat')).map(f => [f.offset, f.content]);
    assert.deepEqual(chats, [[1, 'm1'], [2, 'm2'], [3, 'm3']]);
    const rejoin = await ann.evaluate(() => window.sb.position('lobby').offset);
    assert.equal(rejoin, 3);
    await ann.close();
    await bob.close();
  } finally {
    await idle.stop();
  }
});
