// Shared by the end-to-end tests: the CLI, servers, ledgers and a browser.
import { spawn, execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
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

/** `liveledger serve DIR` on a free port; resolves with its base URL (no trailing slash). */
export function serve(dir) {
  const p = spawn(bin, ["serve", dir, "--addr", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "inherit"] });
  procs.push(p);
  return new Promise((ok, fail) => {
    p.stdout.once("data", (d) => ok(String(d).match(/http:\/\/\S+/)[0].replace(/\/$/, "")));
    p.on("exit", (c) => fail(new Error(`serve exited ${c}`)));
  });
}

export function stopServers() {
  for (const p of procs) p.kill();
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"],
  });
}
