// The chat page with --auth jwt and namespaces: the token comes from the embedding page
// (#token=) or the login dialog and travels in the `auth` first message, never in a URL;
// a refused join says "not allowed" and is not retried; a refused token stops.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, artifactPath, T, stopAll } from './harness.js';

const SECRET = 'e2e-secret';
let server, browser, dir;

function sign(claims) {
  const b64 = o => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}
const token = sub => sign({ sub, exp: Math.floor(Date.now() / 1000) + 3600 });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-auth-'));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'namespaces:\n  "":\n    join: public\n  team:\n    join: grant\n');
  server = await startServer(['--auth', 'jwt', '--jwt-secret', SECRET, '--config', config]);
  browser = await launchBrowser();
});
after(async () => {
  try {
    await stopAll(browser, server);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const tid = id => `[data-testid=${id}]`;

test('a token passed by the embedding page (#token=) signs in, and leaves the address bar', async () => {
  const page = await browser.newPage();
  const sockets = [];
  page.on('websocket', ws => sockets.push(ws.url()));
  await page.goto(`${server.url}/#token=${token('ann')}`);
  await page.locator(`${tid('status')}[data-state=open]`).waitFor(T);
  assert.equal(await page.textContent(tid('me')), 'ann');
  assert.ok(!page.url().includes('token'), page.url());
  assert.ok(sockets.length > 0 && sockets.every(u => !u.includes('token')), `socket URLs ${sockets}`);

  // A public room is fine; a grant room is "not allowed", once, with no retry.
  await page.fill(tid('join-input'), 'lobby');
  await page.press(tid('join-input'), 'Enter');
  await page.locator(`${tid('room-list')} li.joined[data-room=lobby]`).waitFor(T);
  await page.fill(tid('join-input'), 'team:secret');
  await page.press(tid('join-input'), 'Enter');
  await page.locator(tid('toasts')).filter({ hasText: 'Not allowed to join team:secret' }).waitFor(T);
  await page.locator(`${tid('room-list')} li.joined[data-room="team:secret"]`).waitFor({ state: 'detached', ...T });
  await page.screenshot({ path: artifactPath('auth-not-allowed.png') });
  await page.close();
});

test('a token typed in the login dialog signs in; a forged one is refused and not retried', async () => {
  const page = await browser.newPage();
  let sockets = 0;
  page.on('websocket', () => sockets++);
  await page.goto(`${server.url}/`);
  await page.click('.login summary'); // the token field is behind "The server uses tokens?"
  await page.fill(tid('login-token'), token('bob'));
  await page.click(tid('login-submit'));
  await page.locator(`${tid('status')}[data-state=open]`).waitFor(T);
  assert.equal(await page.textContent(tid('me')), 'bob');

  await page.click(tid('switch-user'));
  await page.locator('.login details[open]').waitFor(T); // still open from before
  await page.fill(tid('login-token'), 'forged.token.value');
  const before = sockets;
  await page.click(tid('login-submit'));
  await page.locator(`${tid('status')}[data-state=closed]`).waitFor(T);
  assert.match(await page.textContent(tid('status')), /^Not allowed — 4001/);
  await page.waitForTimeout(1500); // longer than the first retry delays
  assert.equal(sockets - before, 1, 'it tried again after the refusal');
  await page.close();
});
