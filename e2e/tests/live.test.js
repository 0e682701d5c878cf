// The chat page's live behaviour: a typing indicator carried by ephemeral events,
// presence kept from the server's frames with no polling, and one notice per outage
// however many reconnect attempts it takes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, artifactPath, stopAll } from './harness.js';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(() => stopAll(browser, server));

const T = { timeout: 20000 };
const tid = id => `[data-testid=${id}]`;

// chatPage opens the page as user in room; window.sent counts the messages it sends by
// type and window.sockets the WebSockets it opened; requests lists its HTTP requests.
async function chatPage(user, room, srv = server) {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    window.sent = {};
    window.sockets = 0;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) { super(...args); window.sockets++; }
      send(data) {
        try { const t = JSON.parse(data).type; window.sent[t] = (window.sent[t] || 0) + 1; } catch { /* not JSON */ }
        super.send(data);
      }
    };
  });
  page.requests = [];
  page.on('request', r => page.requests.push(new URL(r.url()).pathname));
  await page.goto(`${srv.url}/?user=${user}`);
  await page.locator(`${tid('status')}[data-state=open]`).waitFor(T);
  await page.fill(tid('join-input'), room);
  await page.press(tid('join-input'), 'Enter');
  await page.locator(`${tid('room-list')} li.joined[data-room="${room}"]`).waitFor(T);
  return page;
}

const notices = page => page.locator(`${tid('messages')} li.msg[data-kind=notice] .content`).allTextContents();

test('typing shows on the other page and ends with the message', async () => {
  const ann = await chatPage('ann', 'typing-room');
  const bob = await chatPage('bob', 'typing-room');
  await bob.locator(tid('message-input')).pressSequentially('hel', { delay: 30 });
  await ann.locator(tid('typing')).filter({ hasText: 'bob is typing…' }).waitFor(T);
  assert.equal(await bob.textContent(tid('typing')), '', 'nobody is shown their own typing');
  assert.equal(await bob.evaluate(() => window.sent.event), 1, 'typing events are throttled');
  await ann.screenshot({ path: artifactPath('typing.png') });
  await bob.locator(tid('message-input')).pressSequentially('lo');
  await bob.click(tid('send'));
  await ann.locator(`${tid('messages')} li.msg[data-kind=chat]`).filter({ hasText: 'hello' }).waitFor(T);
  assert.equal(await ann.textContent(tid('typing')), '');
  await ann.close();
  await bob.close();
});

test('presence follows the frames, and an idle page polls nothing', async () => {
  const ann = await chatPage('ann', 'presence-room');
  const bob = await chatPage('bob', 'presence-room');
  const members = () => ann.locator(`${tid('member-list')} li[data-user]`).evaluateAll(l => l.map(li => li.dataset.user));
  const online = () => ann.locator(`${tid('online-list')} li[data-user]`).evaluateAll(l => l.map(li => li.dataset.user));
  for (let i = 0; i < 100 && (await members()).length < 2; i++) await ann.waitForTimeout(100);
  assert.deepEqual(await members(), ['ann', 'bob']);
  for (let i = 0; i < 100 && !(await online()).includes('bob'); i++) await ann.waitForTimeout(100);
  assert.deepEqual(await online(), ['ann', 'bob']);
  await ann.waitForTimeout(500); // the online request bob's user_joined prompted
  // Presence requests only: the heartbeat ping keeps the connection, it asks nothing.
  const asks = () => ann.evaluate(() => ({ online: window.sent.online, members: window.sent.members ?? 0 }));
  const asked = await asks();
  const fetched = ann.requests.length;
  await ann.waitForTimeout(11000); // the old page polled every 10 s
  assert.deepEqual(await asks(), asked, 'presence asked for while idle');
  assert.deepEqual(ann.requests.slice(fetched), [], 'HTTP requests while idle');
  await bob.close(); // bob's page goes: ann's lists follow from user_left
  for (let i = 0; i < 100 && (await members()).length > 1; i++) await ann.waitForTimeout(100);
  assert.deepEqual(await members(), ['ann']);
  await ann.close();
});

test('an outage is one notice, whatever the number of attempts, and one when it is over', async () => {
  const own = await startServer();
  const port = new URL(own.url).port;
  const ann = await chatPage('ann', 'outage-room', own);
  await own.stop(); // every connection closed 1001, then nothing listens
  await ann.waitForFunction(() => window.sockets >= 4, null, T); // three failed attempts after the first
  const again = await startServer(['--addr', `127.0.0.1:${port}`]);
  try {
    await ann.locator(`${tid('status')}[data-state=open]`).waitFor(T);
    await ann.locator(`${tid('messages')} li.msg[data-kind=notice]`).filter({ hasText: 'Reconnected' }).waitFor(T);
    const said = await notices(ann);
    assert.equal(said.filter(n => n.startsWith('Connection lost')).length, 1, said.join(' | '));
    // A server restarted without --data-dir lost the room's stream: the page says so.
    assert.deepEqual(said.filter(n => n.startsWith('Reconnected')), ['Reconnected — some messages may be missing']);
    await ann.screenshot({ path: artifactPath('outage.png') });
  } finally {
    await ann.close();
    await again.stop();
  }
});
