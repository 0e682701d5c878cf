// The chat page on a phone (390×844) and a desktop (1280×800): nothing overflows
// sideways (scrollWidth <= innerWidth), and every control can be reached — on the
// screen, not covered — opening the rooms and people drawers where the layout has them.
// Screenshots of each state go to e2e/artifacts/layout-<width>-<state>.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, artifactPath, stopAll } from './harness.js';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(() => stopAll(browser, server));

const T = { timeout: 15000 };

// overflow reports the widths that exceed the viewport, if any.
const overflow = page => page.evaluate(() => {
  const w = window.innerWidth;
  const bad = [];
  for (const [name, el] of [['html', document.documentElement], ['body', document.body]]) {
    if (el.scrollWidth > w) bad.push(`${name}.scrollWidth ${el.scrollWidth} > innerWidth ${w}`);
  }
  return bad;
});

// unreachable lists the selectors whose element is hidden, off screen, or covered at
// its centre by something else.
const unreachable = (page, selectors) => page.evaluate(sels => sels.flatMap(sel => {
  const el = document.querySelector(sel);
  if (!el) return [`${sel}: missing`];
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return [`${sel}: not displayed`];
  if (r.left < -0.5 || r.top < -0.5 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5) {
    return [`${sel}: off screen (${Math.round(r.left)},${Math.round(r.top)})–(${Math.round(r.right)},${Math.round(r.bottom)})`];
  }
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  if (hit !== el && !el.contains(hit)) return [`${sel}: covered by ${hit?.id || hit?.className || hit?.tagName}`];
  return [];
}), selectors);

const tid = id => `[data-testid=${id}]`;
const MAIN = ['.brand', '.nav a[href="/dashboard"]', '.nav a[href="/playground/"]', tid('status'), tid('switch-user'),
  tid('conversation-title'), tid('leave-room'), tid('message-input'), tid('send')];
const ROOMS = [tid('join-input'), '#join-form button', '#refresh-rooms', `${tid('room-list')} li[data-room=lobby]`,
  `${tid('room-list')} li.everyone`];
const PEOPLE = [`${tid('member-list')} li[data-user=bob]`, `${tid('online-list')} li[data-user=bob]`];

for (const [width, height] of [[390, 844], [1280, 800]]) {
  test(`at ${width}×${height} nothing overflows and every control is reachable`, async () => {
    const narrow = width < 600;
    const page = await browser.newPage();
    await page.setViewportSize({ width, height });
    const shot = state => page.screenshot({ path: artifactPath(`layout-${width}-${state}.png`) });
    const check = async (state, selectors) => {
      assert.deepEqual(await overflow(page), [], `${state}: horizontal overflow`);
      assert.deepEqual(await unreachable(page, selectors), [], `${state}: unreachable controls`);
      await shot(state);
    };

    await page.goto(`${server.url}/`);
    await page.locator(tid('login-form')).waitFor(T);
    await check('login', [tid('login-user'), tid('login-submit'), '.login summary']);
    await page.fill(tid('login-user'), `ann${width}`);
    await page.click(tid('login-submit'));
    await page.locator(`${tid('status')}[data-state=open]`).waitFor(T);

    // Rooms: in a drawer on a phone, a column on a desktop.
    if (narrow) {
      assert.equal(await page.isVisible(tid('join-input')), false, 'the rooms column is hidden on a phone');
      await page.click(tid('open-rooms'));
    }
    await page.fill(tid('join-input'), 'lobby');
    await page.press(tid('join-input'), 'Enter');
    await page.locator(`${tid('room-list')} li.joined[data-room=lobby]`).waitFor({ state: 'attached', ...T });
    assert.equal(await page.isVisible(tid('join-input')), !narrow, 'choosing a room closes the drawer');

    // bob (a desktop page) joins and writes a long, unbreakable line.
    const bob = await browser.newPage();
    await bob.goto(`${server.url}/?user=bob`);
    await bob.locator(`${tid('status')}[data-state=open]`).waitFor(T);
    await bob.fill(tid('join-input'), 'lobby');
    await bob.press(tid('join-input'), 'Enter');
    await bob.locator(`${tid('room-list')} li.joined[data-room=lobby]`).waitFor(T);
    await bob.fill(tid('message-input'), 'hello from a wide screen: ' + 'x'.repeat(300));
    await bob.click(tid('send'));
    await page.locator(`${tid('messages')} li.msg[data-kind=chat]`).waitFor(T);
    await page.fill(tid('message-input'), 'hi bob');
    await page.click(tid('send'));
    await page.locator(`${tid('messages')} li.msg.mine`).waitFor(T);

    await check('chat', narrow ? [...MAIN, tid('open-rooms'), tid('open-people')] : [...MAIN, ...ROOMS, ...PEOPLE]);
    if (narrow) {
      await page.click(tid('open-rooms'));
      await check('rooms', [...ROOMS, tid('close-rooms')]);
      await page.click(tid('close-rooms'));
      await page.click(tid('open-people'));
      await page.locator(`${tid('member-list')} li[data-user=bob]`).waitFor(T);
      await check('people', [...PEOPLE, tid('close-people')]);
      // A click on bob opens the conversation with him and closes the drawer.
      await page.click(`${tid('online-list')} li[data-user=bob]`);
      assert.match(await page.textContent(tid('conversation-title')), /bob/);
      assert.equal(await page.isVisible(tid('member-list')), false);
      await check('dm', [...MAIN.filter(s => s !== tid('leave-room')), tid('open-rooms'), tid('open-people')]);
    }
    await bob.close();
    await page.close();
  });
}
