// harness.js: what every browser test needs — the real switchboard binary built and
// started on a free loopback port, and Debian's Chromium driven by playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
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

let built = null;

// buildServer builds cmd/switchboard once per test file (go build caches the work).
export function buildServer() {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-bin-'));
  const bin = join(dir, 'switchboard');
  execFileSync(process.env.GO || 'go', ['build', '-o', bin, './cmd/switchboard'], {
    cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'],
  });
  built = { bin, dir };
  return built;
}

// startServer runs the binary on 127.0.0.1:0 and resolves with its base URL, read from
// the `listening on http://HOST:PORT` line. stop() sends SIGTERM and waits.
// SWITCHBOARD_E2E_URL points the tests at a server that is already running instead
// (for debugging a page; tests that need the binary's own flags still start it).
export async function startServer(extraArgs = []) {
  if (process.env.SWITCHBOARD_E2E_URL && extraArgs.length === 0) {
    return { url: process.env.SWITCHBOARD_E2E_URL.replace(/\/$/, ''), output: () => '', async stop() {} };
  }
  const { bin } = buildServer();
  const proc = spawn(bin, ['--addr', '127.0.0.1:0', ...extraArgs], {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line in 20 s:\n${output}`)), 20000);
    const onData = chunk => {
      output += chunk;
      const m = output.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); resolve(m[1].replace(/\/$/, '')); }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', code => { clearTimeout(timer); reject(new Error(`switchboard exited ${code}:\n${output}`)); });
  });
  const exited = new Promise(resolve => proc.on('exit', resolve));
  return {
    url,
    output: () => output,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    },
  };
}

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

export function artifactPath(name) {
  mkdirSync(artifacts, { recursive: true });
  return join(artifacts, name);
}

export function cleanupBuild() {
  if (built) rmSync(built.dir, { recursive: true, force: true });
  built = null;
}
