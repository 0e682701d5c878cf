// Helpers the tests against the real binary share: a client that is connected before the
// test goes on, with a record of what it saw, and a poll for a condition.
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Switchboard } from "../switchboard.js";

export const wsURL = (srv) => srv.url.replace(/^http/, "ws") + "/ws";

// openClient starts a client of srv and resolves once it is connected; seen records its
// status changes, frames and rejoin reports.
export async function openClient(srv, opts) {
  const sb = new Switchboard({ url: wsURL(srv), WebSocket, minDelay: 50, maxDelay: 200, heartbeat: 0, ...opts });
  const seen = { status: [], frames: [], rejoined: [] };
  sb.on("status", (s) => seen.status.push(s));
  sb.on("message", (m) => seen.frames.push(m));
  sb.on("rejoined", (r) => seen.rejoined.push(r));
  const connected = new Promise((resolve, reject) => {
    sb.on("connected", resolve);
    sb.on("status", (s) => s.state === "closed" && reject(new Error(`closed: ${s.why}`)));
  });
  sb.connect();
  await connected;
  return { sb, seen };
}

// until polls fn every 20 ms for up to 15 s and fails the test naming what it waited for.
export async function until(fn, what = "condition") {
  for (const deadline = Date.now() + 15000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    if (fn()) return;
  }
  assert.fail(`timed out waiting for ${what}`);
}
