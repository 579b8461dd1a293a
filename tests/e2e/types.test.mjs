// The JS module typed for its users: a TypeScript portal that uses every export compiles
// with `tsc --strict` against the module's .d.ts, and a misuse of each kind fails to, so
// the exports are not typed `any`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { site } from "./helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const tsc = join(here, "node_modules/typescript/bin/tsc");

function compile(file) {
  const dir = mkdtempSync(join(tmpdir(), "ll-types-"));
  cpSync(join(site, "liveledger_wasm.d.ts"), join(dir, "liveledger_wasm.d.ts"));
  cpSync(join(here, "types", file), join(dir, file));
  const args = [tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler", "--lib", "es2022,dom", join(dir, file)];
  try {
    execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return [];
  } catch (e) {
    return e.stdout.split("\n").filter((l) => /error TS\d+/.test(l));
  }
}

test("a TypeScript portal using every export compiles against the module's types", () => {
  assert.ok(existsSync(join(site, "liveledger_wasm.d.ts")), `build the embed module first (cargo xtask embed): ${site}`);
  assert.deepEqual(compile("portal.ts"), []);
});

test("each misuse of an export is a type error", () => {
  const errors = compile("misuse.ts");
  // One error on each misusing line (lines 6 to 11 of misuse.ts), and no others.
  const lines = [...new Set(errors.map((e) => Number(e.match(/\((\d+),\d+\)/)?.[1])))].sort((a, b) => a - b);
  assert.deepEqual(lines, [6, 7, 8, 9, 10, 11], errors.join("\n"));
});

test("the shipped LedgerErrorCode is the core's list of codes, every one and nothing else", () => {
  // The codes as the core declares them (`Name = "CODE"` in verdict.rs), read as text, and
  // the union the built module ships: two readings that a generator bug would set apart.
  const declared = [...readFileSync(join(here, "../../crates/core/src/verdict.rs"), "utf8").matchAll(/^\s+[A-Z][A-Za-z]* = "([A-Z_]+)",$/gm)].map((m) => m[1]);
  const dts = readFileSync(join(site, "liveledger_wasm.d.ts"), "utf8");
  const union = dts.match(/export type LedgerErrorCode = never \| ([^;]+);/)?.[1] ?? "";
  const shipped = union.split(" | ").map((c) => c.replace(/"/g, ""));
  assert.ok(declared.length > 10, `read ${declared.length} codes from verdict.rs`);
  assert.deepEqual(shipped, declared);
  assert.match(dts, /export interface LedgerError extends Error \{ code: LedgerErrorCode;/);
});
