// Shared by the end-to-end tests: the CLI, servers, ledgers and a browser.
import { spawn, execFileSync } from "node:child_process";
import { cpSync, rmSync, copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolve } from "node:path";
import { chromium } from "playwright-core";

export const root = resolve(import.meta.dirname, "../..");
export const bin = resolve(root, process.env.LIVELEDGER_BIN || "target/debug/liveledger");
export const site = resolve(root, "target/embed/site");
export const app = resolve(root, process.env.LIVELEDGER_APP || "dist");

const procs = [];

/** Runs the CLI; throws on a non-zero exit. */
export const ll = (...args) => execFileSync(bin, args, { encoding: "utf8" });

/** Appends `n` payment events keyed `inv/<tag><i>` (one batch: one digest). */
export const append = (dir, n, tag) => execFileSync(bin, ["append", dir], {
  input: Array.from({ length: n }, (_, i) => JSON.stringify({ kind: "payment", source: "erp", key: `inv/${tag}${i}`, body: { amount: `${i}.00` } })).join("\n"),
});

/** A second history from the same keys: a copy of `dir` (and its key directory) at `other`. */
export function fork(dir, other) {
  cpSync(dir, other, { recursive: true });
  cpSync(dir + ".keys", other + ".keys", { recursive: true });
  rmSync(other + ".keys/lock", { force: true });
}

/**
 * Two histories from one key: both share 31 events (genesis and 30); then `other` appends
 * 2 (a digest of size 33) and `dir` appends 1 and then 3 (digests 32 and 35). `dir`'s
 * archive then lists digests 0, 1, 31, 32 and 35.
 */
export function twoHistories(dir, other, origin) {
  execFileSync(bin, ["init", dir, "--origin", origin]);
  append(dir, 30, "a");
  fork(dir, other);
  append(other, 2, "evil");
  append(dir, 1, "b");
  append(dir, 3, "c");
}

/** Slips `other`'s digest 33 into `dir`'s archive (see twoHistories), listed in its index. */
export function plantDigest(dir, other) {
  copyFileSync(join(other, "digests/33"), join(dir, "digests/33"));
  writeFileSync(join(dir, "digests/index.txt"), "0\n1\n31\n32\n33\n35\n");
}

/** `liveledger serve DIR` on a free port; resolves with its base URL (no trailing slash). */
export function serve(dir) {
  const p = spawn(bin, ["serve", dir, "--addr", "127.0.0.1:0", "--no-access-log"], { stdio: ["ignore", "pipe", "inherit"] });
  procs.push(p);
  return new Promise((ok, fail) => {
    p.stdout.once("data", (d) => ok(String(d).match(/http:\/\/\S+/)[0].replace(/\/$/, "")));
    p.on("exit", (c) => fail(new Error(`serve exited ${c}`)));
  });
}

export function stopServers() {
  for (const p of procs) p.kill();
}

/** The Chromium every browser test and benchmark runs, and its flags. */
export const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
export const chromiumArgs = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"];

export function launch() {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}
