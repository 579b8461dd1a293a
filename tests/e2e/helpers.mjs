// Shared by the end-to-end tests: the CLI, servers, ledgers and a browser.
import { spawn, execFileSync } from "node:child_process";
import { cpSync, rmSync, copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
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

/** A free TCP port on 127.0.0.1. */
export const freePort = () => new Promise((ok) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); }); });

/** `liveledger witness serve WDIR` for log key `key` on `port`; resolves once it listens. */
export function witness(wdir, key, port) {
  const p = spawn(bin, ["witness", "serve", wdir, "--addr", `127.0.0.1:${port}`, "--no-access-log", "--log", key], { stdio: ["ignore", "pipe", "inherit"] });
  procs.push(p);
  return new Promise((ok, fail) => {
    p.stdout.once("data", () => ok(p));
    p.on("exit", (c) => fail(new Error(`witness exited ${c}`)));
  });
}

/** Stops one process; resolves when it has exited. */
export const stop = (p) => new Promise((ok) => { p.once("exit", ok); p.kill(); });

/**
 * A split view, as an operator would stage it: from one log key, witness W1 cosigns
 * history `a` (22 entries: genesis, 20 shared, 1) while W2 is down, and W2 (which never saw it) cosigns history
 * `b` (26 entries: 5 others after the shared 21) while W1 is down. Each history
 * alone meets the 1-of-2 policy its metadata publishes (W2 named by its ML-DSA-44 key, so
 * `b` is witnessed by an ML-DSA-44 cosignature); both witnesses run at the end.
 * `a`'s visitors find W1 consistent (W2's larger tree is not provable from `a`'s tiles);
 * `b`'s find W1 holding another history.
 */
export async function splitView(a, b, origin) {
  execFileSync(bin, ["init", a, "--origin", origin]);
  append(a, 20, "shared");
  const key = JSON.parse(execFileSync(bin, ["verify", a, "--json"], { encoding: "utf8" })).keys[0];
  // W1 is named by its Ed25519 key (init's last line), W2 by its ML-DSA-44 key (the line
  // before): every verifier checks both cosignature types.
  const vkeys = [1, 2].map((i) => ll("witness", "init", `${a}.w${i}`, "--name", `w${i}.example`).trim().split("\n").at(i === 1 ? -1 : -2));
  const [p1, p2] = [await freePort(), await freePort()];
  const w1 = await witness(`${a}.w1`, key, p1);
  writeFileSync(`${a}.policy`, `witness W1 ${vkeys[0]} http://127.0.0.1:${p1}/\nwitness W2 ${vkeys[1]} http://127.0.0.1:${p2}/\ngroup g any W1 W2\nquorum g\n`);
  const quick = { ...process.env, LIVELEDGER_WITNESS_TIMEOUT_MS: "500" };
  execFileSync(bin, ["policy", a, `${a}.policy`], { env: quick });
  fork(a, b);
  execFileSync(bin, ["append", a], { env: quick, input: JSON.stringify({ kind: "payment", source: "erp", key: "inv/A", body: { amount: "1.00" } }) + "\n" });
  await stop(w1);
  await witness(`${a}.w2`, key, p2);
  execFileSync(bin, ["append", b], { env: quick, input: Array.from({ length: 5 }, (_, i) => JSON.stringify({ kind: "payment", source: "erp", key: `inv/B${i}`, body: { amount: "2.00" } })).join("\n") });
  await witness(`${a}.w1`, key, p1);
}

/** `liveledger serve DIR` on a free port (the binary `using`, the tests' by default);
 * resolves with its base URL (no trailing slash). `stopServers()` stops it. */
export function serve(dir, using = bin) {
  const p = spawn(using, ["serve", dir, "--addr", "127.0.0.1:0", "--no-access-log"], { stdio: ["ignore", "pipe", "inherit"] });
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
