// The dashboard at 390×844 and 1280×800: no horizontal overflow, every control
// reachable, and charts whose gridline labels sit on the values they name and inside
// the plot. Screenshots: e2e/artifacts/dashboard-<width>.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, artifactPath, stopAll } from './harness.js';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(() => stopAll(browser, server));

test('the chart scale puts labels on their values, the top one inside the plot', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/healthz`);
  const got = await page.evaluate(async () => {
    const { scale, niceCeil, PAD_TOP } = await import('/assets/chart.js');
    const s = scale([0, 37, 12], 120);
    return { top: s.top, yTop: s.y(s.top), yHalf: s.y(s.top / 2), yZero: s.y(0), y37: s.y(37), PAD_TOP,
      nice: [0, 1, 1.2, 3, 7, 10, 11, 499, 501].map(niceCeil) };
  });
  assert.equal(got.top, 50);
  assert.equal(got.yTop, got.PAD_TOP, 'the top gridline leaves room for its label above it');
  assert.equal(got.yHalf, (got.yTop + got.yZero) / 2, 'the middle gridline is half the top value');
  assert.ok(got.y37 > got.yTop && got.y37 < got.yHalf - (got.yHalf - got.yTop) * 0.4, `37 of 50 drawn at ${got.y37}`);
  assert.deepEqual(got.nice, [1, 1, 2, 5, 10, 10, 20, 500, 1000]);
  await page.close();
});

for (const [width, height] of [[390, 844], [1280, 800]]) {
  test(`dashboard at ${width}×${height}: no overflow, controls reachable`, async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width, height });
    await page.goto(`${server.url}/dashboard`);
    await page.locator('[data-testid=status][data-state=open]').waitFor({ timeout: 15000 });
    await page.waitForFunction(() => document.getElementById('chart-conns').dataset.top !== undefined, null, { timeout: 15000 });
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]);
    assert.ok(widths[0] <= widths[2] && widths[1] <= widths[2], `scrollWidth ${widths} (html, body, innerWidth)`);
    for (const sel of ['[data-testid=notice-input]', '[data-testid=notice-room]', '#notice-form button',
      '.nav a[href="/"]', '.nav a[href="/playground/"]', '#chart-conns', '#chart-rate']) {
      const el = page.locator(sel);
      await el.scrollIntoViewIfNeeded();
      const box = await el.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= width + 0.5, `${sel} at ${JSON.stringify(box)}`);
      const hit = await el.evaluate(e => {
        const r = e.getBoundingClientRect();
        const h = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return h === e || e.contains(h);
      });
      assert.ok(hit, `${sel} is covered`);
    }
    await page.evaluate(() => { document.querySelector('.dash').scrollTop = 0; });
    await page.screenshot({ path: artifactPath(`dashboard-${width}.png`), });
    await page.close();
  });
}
