// The chat page over the Server-Sent Events fallback (PROTOCOL.md §12): ann's page runs
// where WebSocket never connects (as behind a proxy that blocks it), so /switchboard.js
// falls back to GET /sse + POST /sse/send; bob's page uses WebSocket. They chat as usual.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, T, until, joinRoom as join, say, stopAll } from './harness.js';

let server, browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(() => stopAll(browser, server));

const chats = (page) => page.locator('[data-testid=messages] li.msg[data-kind=chat] .content').allTextContents();

test('a page whose WebSocket is blocked chats over SSE with a WebSocket page', async () => {
  const ann = await browser.newPage();
  // Every WebSocket fails before it opens, with no answer from a server: a blocking proxy.
  await ann.addInitScript(() => {
    window.WebSocket = class {
      constructor() { setTimeout(() => this.onclose?.({ code: 1006, reason: '', wasClean: false }), 10); }
      send() {}
      close() {}
    };
  });
  const requests = [];
  ann.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await ann.goto(`${server.url}/?user=ann`);
  await ann.locator('[data-testid=status][data-state=open]').waitFor(T);
  const bob = await browser.newPage();
  await bob.goto(`${server.url}/?user=bob`);
  await bob.locator('[data-testid=status][data-state=open]').waitFor(T);

  await join(ann, 'lobby');
  await join(bob, 'lobby');
  await say(ann, 'hello over sse');
  await until(() => chats(bob), ['hello over sse'], "bob's lobby");
  await say(bob, 'hi over websocket');
  await until(() => chats(ann), ['hello over sse', 'hi over websocket'], "ann's lobby");

  assert.ok(requests.includes('/sse'), `ann's page never opened /sse: ${requests}`);
  assert.ok(requests.includes('/sse/send'), `ann's page never posted to /sse/send: ${requests}`);
});
