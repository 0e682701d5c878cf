// binary.js: the real switchboard binary for tests written in JavaScript (this
// package's and e2e/'s): built once per test file and started on a free loopback port.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

let built = null;

// buildServer builds cmd/switchboard once per test file (go build caches the work).
// SWITCHBOARD_BIN names a binary built elsewhere instead (e.g. another branch's).
export function buildServer() {
  if (built) return built;
  if (process.env.SWITCHBOARD_BIN) return (built = { bin: process.env.SWITCHBOARD_BIN, dir: null });
  const dir = mkdtempSync(join(tmpdir(), "switchboard-bin-"));
  const bin = join(dir, "switchboard");
  execFileSync(process.env.GO || "go", ["build", "-o", bin, "./cmd/switchboard"], {
    cwd: repoRoot, stdio: ["ignore", "inherit", "inherit"],
  });
  built = { bin, dir };
  return built;
}

export function cleanupBuild() {
  if (built?.dir) rmSync(built.dir, { recursive: true, force: true });
  built = null;
}

// startServer runs the binary on 127.0.0.1:0 (or the --addr in extraArgs) and resolves
// with its base URL, read from the `listening on http://HOST:PORT` line. stop() sends
// SIGTERM (or the signal given) and waits. SWITCHBOARD_E2E_URL points the tests at a
// server that is already running instead (tests that need their own flags still start
// one).
export async function startServer(extraArgs = []) {
  if (process.env.SWITCHBOARD_E2E_URL && extraArgs.length === 0) {
    return { url: process.env.SWITCHBOARD_E2E_URL.replace(/\/$/, ""), output: () => "", async stop() {} };
  }
  const { bin } = buildServer();
  const proc = spawn(bin, ["--addr", "127.0.0.1:0", ...extraArgs], {
    cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line in 20 s:\n${output}`)), 20000);
    const onData = (chunk) => {
      output += chunk;
      const m = output.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); resolve(m[1].replace(/\/$/, "")); }
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    proc.on("exit", (code) => { clearTimeout(timer); reject(new Error(`switchboard exited ${code}:\n${output}`)); });
  });
  const exited = new Promise((resolve) => proc.on("exit", resolve));
  return {
    url,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill("SIGKILL"), 10000);
      await exited;
      clearTimeout(t);
    },
  };
}
