// The TypeScript declarations compile against a typical use, and reject misuse.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

test("switchboard.d.ts type-checks a typical application (tsc --noEmit, strict)", () => {
  const tsc = join(here, "..", "node_modules", ".bin", "tsc");
  try {
    execFileSync(tsc, ["-p", join(here, "tsconfig.json")], { encoding: "utf8" });
  } catch (err) {
    assert.fail(`tsc failed:\n${err.stdout}${err.stderr}`);
  }
});
