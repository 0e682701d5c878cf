// The /playground page runs the wasm hub with simulated users: a scripted session typed
// into the page must show, per connection, exactly the frames the protocol promises.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launchBrowser, artifactPath, repoRoot, stopAll } from './harness.js';

let server, browser, page;

before(async () => {
  // The binary embeds web/static/playground/ as it is when built: hub.wasm must be there.
  if (!existsSync(join(repoRoot, 'web/static/playground/hub.wasm'))) {
    throw new Error('web/static/playground/hub.wasm is missing: run `make playground` first (`make test-browser` does)');
  }
  server = await startServer();
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.goto(`${server.url}/playground/?delay=20`);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
});

after(() => stopAll(browser, server));

const card = user => page.locator(`[data-testid=conn][data-user=${user}]`);

async function connect(user, format) {
  await page.fill('[data-testid=add-user-name]', user);
  await page.selectOption('[data-testid=add-user-format]', format);
  await page.click('[data-testid=add-user]');
  await card(user).waitFor();
}

async function send(user, msg) {
  await card(user).locator('[data-testid=message]').fill(JSON.stringify(msg));
  await card(user).locator('[data-testid=send]').click();
}

// log reads one card's log: direction (in/out/close), type and the frame as JSON.
async function log(user) {
  return card(user).locator('[data-testid=log] li').evaluateAll(items => items.map(li => ({
    dir: li.className,
    type: li.dataset.type ?? null,
    text: li.querySelector('code')?.textContent ?? li.textContent,
  })));
}

const frames = entries => entries.filter(e => e.dir === 'in').map(e => ({ type: e.type, ...JSON.parse(e.text) }));
const shape = entries => entries.map(e => `${e.dir} ${e.type ?? ''}`.trim());

test('a typed session shows every frame the hub sends, in both formats', async () => {
  assert.match(await page.textContent('[data-testid=status]'), /hub\.wasm running/);
  await connect('ann', 'json');
  await connect('bob', 'msgpack');

  await send('ann', { type: 'join', room: 'lobby' });
  await send('bob', { type: 'join', room: 'lobby', id: 'j1' });
  await send('ann', { type: 'chat', room: 'lobby', content: 'hello from ann' });
  await send('bob', { type: 'private', to: 'ann', content: 'psst' });
  await send('bob', { type: 'chat', room: 'nowhere', content: 'x' });
  await send('ann', { type: 'members', room: 'lobby' });

  const ann = await log('ann');
  assert.deepEqual(shape(ann), [
    'in connected',
    'out join', 'in joined', 'in user_joined',
    'in user_joined',                 // bob joins
    'out chat', 'in chat',            // the sender gets its own chat
    'in private',
    'out members', 'in members',
  ]);
  const annIn = frames(ann);
  assert.equal(annIn[0].user_id, 'ann');
  assert.deepEqual([annIn[1].type, annIn[1].room, annIn[1].offset, annIn[1].recovered], ['joined', 'lobby', 0, false]);
  assert.deepEqual(annIn[3].members, ['ann', 'bob']);
  assert.equal(annIn[4].content, 'hello from ann');
  assert.equal(annIn[4].sender, 'ann');
  assert.deepEqual([annIn[5].sender, annIn[5].to, annIn[5].content], ['bob', 'ann', 'psst']);
  assert.deepEqual(annIn[6], { type: 'members', room: 'lobby', members: ['ann', 'bob'] });

  const bob = await log('bob');
  assert.deepEqual(shape(bob), [
    'in connected',
    'out join', 'in joined', 'in user_joined', 'in ack',
    'in chat',
    'out private',                    // echoed only to the sender's OTHER connections
    'out chat', 'in error',
  ]);
  const bobIn = frames(bob);
  assert.equal(bobIn[0].user_id, 'bob');
  assert.equal(bobIn[3].id, 'j1');
  assert.deepEqual([bobIn[4].sender, bobIn[4].content], ['ann', 'hello from ann']);
  assert.equal(bobIn[5].code, 'not_member');
  // bob speaks MessagePack: the page shows the bytes beside the JSON rendering.
  assert.match(await card('bob').locator('[data-testid=log] details summary').first().textContent(), /\d+ bytes of MessagePack/);
});

test('the clock moves time in frames, and close actions end a connection', async () => {
  const before = frames(await log('ann')).filter(f => f.type === 'chat').at(-1).timestamp;
  await page.click('[data-advance="60000"]');
  await send('ann', { type: 'chat', room: 'lobby', content: 'a minute later' });
  const after = frames(await log('ann')).filter(f => f.type === 'chat').at(-1);
  assert.equal(after.content, 'a minute later');
  const elapsed = Date.parse(after.timestamp) - Date.parse(before);
  assert.ok(elapsed >= 60000 && elapsed < 600000, `chat timestamps ${before} → ${after.timestamp}`);

  // The operator kicks bob: his card shows the close, ann sees him leave.
  await page.selectOption('[data-testid=admin-op]', 'disconnect');
  await page.fill('#admin input[name=user]', 'bob');
  await page.click('[data-testid=admin-send]');
  const bob = await log('bob');
  assert.equal(bob.at(-1).dir, 'close');
  assert.match(bob.at(-1).text, /4009 Kicked/);
  assert.match(await card('bob').locator('.state').textContent(), /closed 4009/);
  assert.ok(await card('bob').locator('[data-testid=send]').isDisabled());
  const last = frames(await log('ann')).at(-1);
  assert.deepEqual([last.type, last.room, last.user_id], ['user_left', 'lobby', 'bob']);
  assert.match(await page.textContent('[data-testid=admin-log]'), /200 \{"closed":1\}/);

  // Reconnecting gives bob a new connection and a fresh `connected`.
  await card('bob').locator('[data-testid=reconnect]').click();
  const again = frames(await log('bob')).at(-1);
  assert.deepEqual([again.type, again.user_id], ['connected', 'bob']);
  assert.deepEqual(again.rooms, ['lobby']);
});

test('the tour plays a scripted session', async () => {
  await page.click('[data-testid=tour]');
  await page.waitForSelector('#tour[data-done=true]', { timeout: 30000 });
  const ann = frames(await log('ann')).map(f => f.type);
  // bob leaves the lobby before he disconnects, so ann sees user_left once.
  assert.deepEqual(ann, ['connected', 'joined', 'user_joined', 'user_joined', 'chat', 'private', 'members', 'user_left', 'online']);
  const bob = await log('bob');
  assert.deepEqual(shape(bob).slice(-2), ['out leave', 'close']);
  await page.screenshot({ path: artifactPath('playground.png'), fullPage: true });
});

test('without hub.wasm the page says how to build it', async () => {
  const p = await browser.newPage();
  await p.route('**/playground/hub.wasm', r => r.fulfill({ status: 404, body: 'not found' }));
  await p.goto(`${server.url}/playground/`);
  await p.locator('[data-testid=unavailable]').waitFor({ timeout: 15000 });
  assert.match(await p.textContent('[data-testid=unavailable]'), /hub\.wasm is missing \(HTTP 404\)[\s\S]*make playground/);
  assert.equal(await p.getAttribute('[data-testid=status]', 'data-state'), 'error');
  await p.close();
});
