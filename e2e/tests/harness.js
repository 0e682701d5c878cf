// harness.js: what every browser test needs — the real switchboard binary built and
// started on a free loopback port, and Debian's Chromium driven by playwright-core.
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const artifacts = join(repoRoot, 'e2e', 'artifacts');

const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// The flags the project runs Chromium with everywhere: headless, no sandbox (root in
// containers and CI), and nothing that reaches the network on its own.
export const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

// The binary is built and started by the JS client package's test helper, shared with
// its own tests against the real server.
export { buildServer, startServer, cleanupBuild } from '../../clients/js/test/binary.js';

// launchBrowser starts Chromium with a fresh profile; close() removes the profile.
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'switchboard-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1280, height: 860 },
  });
  const pageErrors = [];
  return {
    context,
    // pageErrors collects uncaught exceptions of every page: a test file's after hook
    // asserts there were none, so a broken script fails the run even when the assertions
    // it broke were not looking.
    pageErrors,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', err => {
        pageErrors.push(`${page.url()}: ${err.message}`);
        console.error(`[page error] ${page.url()}: ${err.message}`);
      });
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// stopAll is a test file's after hook: it closes the browser and stops the server (either
// may be missing when before failed), then fails the file if any page threw uncaught.
export async function stopAll(browser, server) {
  const errors = browser?.pageErrors ?? [];
  await browser?.close();
  await server?.stop();
  assert.deepEqual(errors, [], 'uncaught exceptions in the pages');
}

export function artifactPath(name) {
  mkdirSync(artifacts, { recursive: true });
  return join(artifacts, name);
}

// T is the wait of every page step of the chat-page tests.
export const T = { timeout: 15000 };

// until polls fn (which reads the page) until it returns what want deep-equals.
export async function until(fn, want, what) {
  const deadline = Date.now() + T.timeout;
  for (;;) {
    const got = await fn();
    try { assert.deepEqual(got, want); return; } catch (err) {
      if (Date.now() > deadline) { err.message = `${what}: ${err.message}`; throw err; }
    }
    await new Promise(r => setTimeout(r, 100));
  }
}

// joinRoom joins room from the chat page's input and waits until the room list shows it.
export async function joinRoom(page, room) {
  await page.fill('[data-testid=join-input]', room);
  await page.press('[data-testid=join-input]', 'Enter');
  await page.locator(`[data-testid=room-list] li.joined[data-room="${room}"]`).waitFor(T);
}

// say sends text from the chat page's message input.
export async function say(page, text) {
  await page.fill('[data-testid=message-input]', text);
  await page.click('[data-testid=send]');
}
