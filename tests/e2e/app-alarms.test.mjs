// End-to-end: the app (dist/, served on its own origin) verifying a ledger on another
// origin raises the fork alarm when the ledger starts serving another history, shows the
// digest history, and flags an archive holding a digest of another history.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, cpSync, rmSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ll, append, fork, twoHistories, plantDigest, serve, stopServers, launch, app, root } from "./helpers.mjs";

let browser, work, appUrl;

before(async () => {
  assert.ok(existsSync(join(app, "index.html")), `build the app first (cargo xtask app): ${app}`);
  work = mkdtempSync(join(tmpdir(), "ll-app-alarms-"));
  browser = await launch();
  appUrl = await serve(app);
});

after(async () => {
  await browser?.close();
  stopServers();
});

/** Opens the app on `ledger` in a fresh context; resolves with the page once verified. */
async function open(ledger) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${appUrl}/index.html?log=${encodeURIComponent(ledger + "/")}`);
  await page.waitForSelector(".banner.ok", { timeout: 60000 });
  return page;
}

test("the app shows the digest history, every digest checked", async () => {
  const dir = join(work, "h/ledger");
  ll("init", dir, "--origin", "history.example/ledger");
  for (const [n, tag] of [[30, "a"], [1, "b"], [3, "c"]]) append(dir, n, tag);
  const page = await open(await serve(dir));
  await page.waitForSelector("#history-table", { timeout: 30000 });
  assert.match(await page.textContent("#history-summary"), /^Checked all 5 archived digests: each is signed by the log key, each extends the one before it/);
  const sizes = await page.$$eval("#history-table tbody tr td:first-child", (tds) => tds.map((t) => Number(t.textContent)));
  assert.deepEqual(sizes, [35, 32, 31, 1, 0], "newest first");
  assert.match(await page.textContent("#history-table tbody tr:first-child"), /extends the digest of 32 events/);
  // On a phone's width nothing widens the page: tables scroll inside their cards.
  await page.setViewportSize({ width: 390, height: 844 });
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390);
  await page.context().close();
});

test("a fork of the live ledger is an alarm in the app, with the evidence", async () => {
  const dir = join(work, "f/ledger");
  const other = join(work, "f/other");
  ll("init", dir, "--origin", "fork.example/ledger");
  append(dir, 30, "a");
  fork(dir, other);
  append(other, 10, "evil"); // 31 common + 10 = 41
  append(dir, 5, "b"); // 36: what the visitor verifies first
  const ledger = await serve(dir);
  const page = await open(ledger);
  assert.equal(await page.textContent("#size"), "36");
  await page.waitForSelector("#history-summary", { timeout: 30000 }); // the archive, checked before the swap
  // The server starts serving the other history (not atomically: the page may see the
  // new checkpoint before its tiles, which it must take for an upload in progress).
  rmSync(dir, { recursive: true });
  cpSync(other, dir, { recursive: true });
  await page.waitForSelector(".banner.alarm", { timeout: 30000 });
  assert.match(await page.textContent(".banner.alarm h1"), /Forked/);
  assert.match(await page.textContent("#alarm-text"), /different histories to different people/);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Download the evidence")]);
  const evidence = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.equal(evidence.code, "FORK");
  assert.match(evidence.evidence.oldCheckpoint, /\n36\n/);
  assert.match(evidence.evidence.newCheckpoint, /\n41\n/);
  assert.ok(evidence.evidence.proof.length > 0);
  mkdirSync(join(root, "target/e2e"), { recursive: true });
  await page.screenshot({ path: join(root, "target/e2e/app-forked.png"), fullPage: false });
  await page.context().close();
});

test("an archive holding a digest of another history is flagged in the app", async () => {
  const dir = join(work, "a/ledger");
  const other = join(work, "a/other");
  twoHistories(dir, other, "archive.example/ledger");
  plantDigest(dir, other);
  const ledger = await serve(dir);
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const p = await context.newPage();
  await p.goto(`${appUrl}/index.html?log=${encodeURIComponent(ledger + "/")}`);
  await p.waitForSelector("#history-table tr.failed", { timeout: 60000 });
  // The live ledger itself verified (all 35 events); its history does not.
  assert.equal(await p.textContent("#size"), "35");
  assert.match(await p.textContent("#history-summary"), /not one consistent history/);
  assert.match(await p.textContent("#history-table tr.failed"), /FORK/);
  assert.equal(await p.textContent("#history-table tr.failed td:first-child"), "33");
  await p.waitForSelector(".banner.alarm", { timeout: 10000 });
  assert.match(await p.textContent(".banner.alarm h1"), /Forked/);
  await p.screenshot({ path: join(root, "target/e2e/app-history-fork.png"), fullPage: true });
  await p.context().close();
});

test("a digest older than the visitor's maximum is a stale alarm with evidence", async () => {
  const dir = join(work, "s/ledger");
  ll("init", dir, "--origin", "stale.example/ledger");
  append(dir, 3, "a");
  const ledger = await serve(dir);
  await new Promise((ok) => setTimeout(ok, 2500)); // the digest ages; nothing new is signed
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${appUrl}/index.html?maxAge=2&log=${encodeURIComponent(ledger + "/")}`);
  await page.waitForSelector(".banner.alarm", { timeout: 60000 });
  assert.match(await page.textContent(".banner.alarm h1"), /Stale/);
  assert.match(await page.textContent(".banner.alarm"), /signed \d+ s ago; stale after 2 s/);
  assert.equal(await page.textContent("#size"), "4", "what was signed still verified");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Download the evidence")]);
  const evidence = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.equal(evidence.code, "STALE");
  assert.match(evidence.evidence.checkpoint, /^stale\.example\/ledger\n4\n/);
  // Without the visitor's maximum, the ledger's own cadence (60 s) says fresh.
  await page.fill("#max-age", "");
  await page.dispatchEvent("#max-age", "change");
  await page.goto(`${appUrl}/index.html?log=${encodeURIComponent(ledger + "/")}`);
  await page.waitForSelector(".banner.ok", { timeout: 60000 });
  await context.close();
});

test("a receipt file chosen in the page is checked offline", async () => {
  const dir = join(work, "r/ledger");
  ll("init", dir, "--origin", "receipt.example/ledger");
  append(dir, 5, "a");
  const page = await open(await serve(dir));
  await page.fill("#one-seq", "3");
  await page.click("#one-h ~ form button");
  await page.waitForSelector("#one-receipt", { timeout: 30000 });
  const receipt = await page.inputValue("#one-receipt");
  const file = join(work, "r/event.tlog-proof");
  writeFileSync(file, receipt);
  await page.setInputFiles("#receipt-file", file);
  await page.waitForFunction(() => document.querySelector("#receipt-text").value.startsWith("c2sp.org/tlog-proof@v1"), null, { timeout: 10000 });
  const meta = readFileSync(join(dir, "metadata"), "utf8");
  await page.fill("#receipt-key", JSON.parse(meta.split("\n")[1]).log_keys[0]);
  await page.click("#receipt-h ~ form button");
  assert.match(await page.textContent("#receipt-result"), /Entry 3 is in the ledger receipt\.example\/ledger/);
  await page.context().close();
});
