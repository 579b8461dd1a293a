// End-to-end: `follow` in Chromium raises ROLLBACK and FORK alarms, with both signed
// checkpoints as evidence, when the ledger it follows is swapped for an older or a
// different one signed by the same key.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, cpSync, rmSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { ll, append, fork, twoHistories, plantDigest, serve, stopServers, launch, site } from "./helpers.mjs";

let browser, work;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "ll-follow-"));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  stopServers();
});

/** Opens the module on the portal origin and follows `ledger`; resolves with the page. */
async function followIn(portal, ledger) {
  const page = await browser.newPage();
  await page.goto(`${portal}/index.html`);
  await page.evaluate(async (ledger) => {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    window.__digests = [];
    window.__alarm = null;
    m.follow(ledger, { intervalMs: 300, onDigest: (d) => window.__digests.push(d.checkpoint.size), onAlarm: (e) => (window.__alarm = { code: e.code, message: e.message, evidence: e.evidence }) }).catch(() => {});
  }, ledger);
  await page.waitForFunction(() => window.__digests.length > 0, null, { timeout: 30000 });
  return page;
}

test("a rollback raises ROLLBACK with both checkpoints", async () => {
  const dir = join(work, "r/ledger");
  ll("init", dir, "--origin", "rollback.example/ledger");
  append(dir, 20, "a");
  const portal = await serve(site);
  const ledger = await serve(dir);
  append(dir, 5, "b"); // size 26 now; the follower sees 26 first
  const page = await followIn(portal, ledger);
  // The operator "restores a backup": the checkpoint goes back to size 21.
  copyFileSync(join(dir, "digests/21"), join(dir, "checkpoint"));
  await page.waitForFunction(() => window.__alarm !== null, null, { timeout: 20000 });
  const a = await page.evaluate(() => window.__alarm);
  assert.equal(a.code, "ROLLBACK", JSON.stringify(a));
  assert.match(a.evidence.oldCheckpoint, /\n26\n/);
  assert.match(a.evidence.newCheckpoint, /\n21\n/);
  await page.close();
});

test("a fork raises FORK with both checkpoints and the proof", async () => {
  const dir = join(work, "f/ledger");
  ll("init", dir, "--origin", "fork.example/ledger");
  append(dir, 30, "a");
  fork(dir, join(work, "f/other")); // a second history from the same keys
  append(join(work, "f/other"), 10, "evil"); // other: 31 common + 10 = 41
  append(dir, 5, "b"); // this one: 31 common + 5 others = 36, what the follower sees
  const portal = await serve(site);
  const ledger = await serve(dir);
  const page = await followIn(portal, ledger);
  // The server starts serving the other history.
  rmSync(dir, { recursive: true });
  cpSync(join(work, "f/other"), dir, { recursive: true });
  await page.waitForFunction(() => window.__alarm !== null, null, { timeout: 20000 });
  const a = await page.evaluate(() => window.__alarm);
  assert.equal(a.code, "FORK", JSON.stringify(a));
  assert.match(a.evidence.oldCheckpoint, /\n36\n/);
  assert.match(a.evidence.newCheckpoint, /\n41\n/);
  assert.ok(a.evidence.proof.length > 0);
  await page.close();
});

test("verifyHistory proves the archive consistent, and finds a digest from another history", async () => {
  const dir = join(work, "h/ledger");
  const other = join(work, "h/other");
  twoHistories(dir, other, "history.example/ledger");
  const portal = await serve(site);
  const ledger = await serve(dir);
  // Archived digests are served immutable: a fresh browser context (and cache) per look.
  const history = async (ledger) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${portal}/index.html`);
    const r = await page.evaluate(async (ledger) => {
      const m = await import("./liveledger_wasm.js");
      await m.default();
      return m.verifyHistory(ledger, {}).catch((e) => ({ rejected: e.code }));
    }, ledger);
    await context.close();
    return r;
  };
  const sizes = readFileSync(join(dir, "digests/index.txt"), "utf8").trim().split("\n").map(Number);
  assert.deepEqual(sizes, [0, 1, 31, 32, 35]);
  const ok = await history(ledger);
  assert.equal(ok.verified, true, JSON.stringify(ok.failure));
  assert.deepEqual(ok.digests.map((d) => d.size), sizes);
  assert.deepEqual(ok.digests.map((d) => d.extends), [null, 0, 1, 31, 32]);
  assert.equal(ok.total, 5);
  // The operator slips a digest of the other history into the archive.
  plantDigest(dir, other);
  const forked = await history(ledger);
  assert.equal(forked.verified, false);
  assert.equal(forked.failure.code, "FORK", JSON.stringify(forked.failure));
  assert.match(forked.failure.evidence.oldCheckpoint, /\n32\n/);
  assert.match(forked.failure.evidence.newCheckpoint, /\n33\n/);
  assert.ok(forked.failure.evidence.proof.length > 0);
  assert.deepEqual(forked.digests.map((d) => d.size), [0, 1, 31, 32], "the rows proved before the fork");
  // A digest whose signature was changed is named.
  writeFileSync(join(dir, "digests/index.txt"), "0\n1\n31\n32\n35\n");
  const cp = readFileSync(join(dir, "digests/32"), "utf8");
  writeFileSync(join(dir, "digests/32"), cp.replace(/— (\S+) (\S)/, (m, k, c) => `— ${k} ${c === "A" ? "B" : "A"}`));
  const bad = await history(ledger);
  assert.equal(bad.failure.code, "BAD_SIGNATURE", JSON.stringify(bad.failure));
  assert.equal(bad.failure.evidence.path, "digests/32");
  // A ledger without an archive (another publisher's log) is NOT_FOUND, not a crash.
  rmSync(join(dir, "digests/index.txt"));
  assert.equal((await history(ledger)).rejected, "NOT_FOUND");
});

test("verifyHistory: an archive read a moment after the checkpoint, while the ledger grew, is no rollback", async () => {
  // The publisher archives digest 35 and then replaces the checkpoint; a verifier read the
  // checkpoint (32) just before, and the index (…, 35) just after. A proxy replays that:
  // its first checkpoint is the older one, every later one the current.
  const dir = join(work, "g/ledger");
  ll("init", dir, "--origin", "grow.example/ledger");
  append(dir, 30, "a");
  append(dir, 1, "b");
  const older = readFileSync(join(dir, "checkpoint"));
  append(dir, 3, "c");
  const upstream = await serve(dir);
  let reads = 0;
  let stuck = false; // later: the checkpoint never catches up with the archive
  const proxy = createHttpServer(async (req, res) => {
    const headers = { "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" };
    if (req.url === "/checkpoint" && (reads++ === 0 || stuck)) {
      res.writeHead(200, headers).end(older);
      return;
    }
    const r = await fetch(upstream + req.url);
    res.writeHead(r.status, headers).end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise((ok) => proxy.listen(0, "127.0.0.1", ok));
  const ledger = `http://127.0.0.1:${proxy.address().port}`;
  const portal = await serve(site);
  const page = await browser.newPage();
  await page.goto(`${portal}/index.html`);
  const r = await page.evaluate(async (ledger) => {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    return m.verifyHistory(ledger, {});
  }, ledger);
  assert.equal(r.verified, true, JSON.stringify(r.failure));
  assert.equal(r.checkpoint.size, 35, "the checkpoint read again");
  assert.ok(reads >= 2);
  // An archive that stays ahead of the checkpoint is a rollback, as before.
  stuck = true;
  const again = await page.evaluate(async (ledger) => (await import("./liveledger_wasm.js")).verifyHistory(ledger, {}), ledger);
  assert.equal(again.verified, false);
  assert.equal(again.failure.code, "ROLLBACK");
  proxy.close();
  await page.close();
});

test("a server that stops answering is FETCH_FAILED after the deadline and retries, not a hang", { timeout: 60000 }, async () => {
  // One server accepts and never answers; the other sends its headers and part of a body.
  const silent = createServer(() => {});
  const partial = createServer((s) => s.once("data", () => s.write("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 1000\r\n\r\nliveledger")));
  const listen = (srv) => new Promise((ok) => srv.listen(0, "127.0.0.1", () => ok(`http://127.0.0.1:${srv.address().port}`)));
  const urls = [await listen(silent), await listen(partial)];
  const portal = await serve(site);
  const page = await browser.newPage();
  await page.goto(`${portal}/index.html`);
  for (const url of urls) {
    // A server that never answers cannot hold the audit: the deadline ends it with
    // FETCH_FAILED (without one, this would never return).
    const r = await page.evaluate(async (url) => {
      const m = await import("./liveledger_wasm.js");
      await m.default();
      return m.audit(url, { keys: ["example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"], timeoutMs: 300 })
        .then(() => ({ code: "VERIFIED" }), (e) => ({ code: e.code, message: e.message }));
    }, url);
    assert.equal(r.code, "FETCH_FAILED", JSON.stringify(r));
    assert.match(r.message, /could not fetch http:\/\/127\.0\.0\.1:\d+\/metadata/);
  }
  silent.close();
  partial.close();
  await page.close();
});
