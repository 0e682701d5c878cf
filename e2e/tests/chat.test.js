// The chat page (/) through the real server: two browser pages, ann and bob, join a
// room, chat, write privately, and one leaves; each page shows what the other did.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, artifactPath, T, until, joinRoom as join, say, stopAll } from './harness.js';

let server, browser, ann, bob;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(() => stopAll(browser, server));

const users = (page, list) => page.locator(`[data-testid=${list}] li[data-user]`)
  .evaluateAll(items => items.map(li => li.dataset.user));
const messages = (page, kind) => page.locator(`[data-testid=messages] li.msg[data-kind=${kind}]`)
  .evaluateAll(items => items.map(li => ({
    sender: li.querySelector('.sender')?.textContent ?? '',
    content: li.querySelector('.content')?.textContent ?? '',
  })));

test('ann logs in through the dialog, bob through ?user=', async () => {
  ann = await browser.newPage();
  await ann.goto(`${server.url}/`);
  await ann.fill('[data-testid=login-user]', 'ann');
  await ann.click('[data-testid=login-submit]');
  await ann.locator('[data-testid=status][data-state=open]').waitFor(T);
  assert.equal(await ann.textContent('[data-testid=me]'), 'ann');

  bob = await browser.newPage();
  await bob.goto(`${server.url}/?user=bob`);
  await bob.locator('[data-testid=status][data-state=open]').waitFor(T);
  assert.equal(await bob.textContent('[data-testid=me]'), 'bob');
  await until(() => users(bob, 'online-list'), ['ann', 'bob'], "bob's online list");
});

test('both join lobby and see each other in the members list', async () => {
  await join(ann, 'lobby');
  await until(() => users(ann, 'member-list'), ['ann'], "ann's members before bob");
  await join(bob, 'lobby');
  await until(() => users(ann, 'member-list'), ['ann', 'bob'], "ann's members");
  await until(() => users(bob, 'member-list'), ['ann', 'bob'], "bob's members");
  // Presence changed with bob's join: ann's online list follows.
  await until(() => users(ann, 'online-list'), ['ann', 'bob'], "ann's online list");
  assert.equal(await ann.textContent('[data-testid=member-count]'), '2');
  assert.match(await ann.textContent('[data-testid=conversation-title]'), /lobby/);
});

test('a chat message reaches both pages', async () => {
  await say(ann, 'hello bob');
  await until(() => messages(bob, 'chat'), [{ sender: 'ann', content: 'hello bob' }], "bob's lobby");
  await until(() => messages(ann, 'chat'), [{ sender: 'ann', content: 'hello bob' }], "ann's own echo");
  await say(bob, 'hi ann');
  await until(() => messages(ann, 'chat'), [
    { sender: 'ann', content: 'hello bob' }, { sender: 'bob', content: 'hi ann' },
  ], "ann's lobby");
});

test('a private message reaches only its addressee', async () => {
  await bob.click('[data-testid=online-list] li[data-user=ann]');
  assert.match(await bob.textContent('[data-testid=conversation-title]'), /ann/);
  await say(bob, 'psst, only you');
  await ann.locator('[data-testid=dm-list] li[data-user=bob]').waitFor(T);
  await ann.click('[data-testid=dm-list] li[data-user=bob]');
  await until(() => messages(ann, 'private'), [{ sender: 'bob', content: 'psst, only you' }], "ann's DM with bob");
  await until(() => messages(bob, 'private'), [{ sender: 'bob', content: 'psst, only you' }], "bob's DM with ann");
  // The room did not get it.
  await ann.click('[data-testid=room-list] li[data-room=lobby]');
  assert.ok(!(await messages(ann, 'chat')).some(m => m.content.includes('psst')));
  await ann.screenshot({ path: artifactPath('chat.png') });
});

test('bob leaves: ann sees him go from the members list', async () => {
  await bob.click('[data-testid=room-list] li[data-room=lobby]');
  await bob.click('[data-testid=leave-room]');
  await until(() => users(ann, 'member-list'), ['ann'], "ann's members after bob left");
  assert.equal(await ann.textContent('[data-testid=member-count]'), '1');
  const notes = await ann.locator('[data-testid=messages] li.msg[data-kind=notice] .content').allTextContents();
  assert.ok(notes.includes('bob left'), `notices: ${notes}`);
  await bob.locator('[data-testid=room-list] li.joined[data-room=lobby]').waitFor({ state: 'detached', ...T });
});
