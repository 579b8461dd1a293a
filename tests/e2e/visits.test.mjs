// End-to-end: what one browser profile remembers of a ledger across visits. Whatever it
// verified once, every later checkpoint served at that address must be proved to extend
// it (the module's `since`, a consistency proof from the tiles): a fork at a larger or
// the same size, and a rollback, are alarms with both signed checkpoints as evidence; a
// remembered checkpoint of another ledger, or a damaged memory, is discarded with a
// notice. The app is served on its own origin; the ledgers by `liveledger serve`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, cpSync, rmSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ll, append, fork, serve, stopServers, launch, app } from "./helpers.mjs";

let browser, work, appUrl;

before(async () => {
  assert.ok(existsSync(join(app, "index.html")), `build the app first (cargo xtask app): ${app}`);
  work = mkdtempSync(join(tmpdir(), "ll-visits-"));
  browser = await launch();
  appUrl = await serve(app);
});

after(async () => {
  await browser?.close();
  stopServers();
});

/** Visits the app on `ledger` in `context` (one browser profile); resolves with the page once it has a verdict. */
async function visit(context, ledger) {
  const page = await context.newPage();
  await page.goto(`${appUrl}/index.html?log=${encodeURIComponent(ledger + "/")}`);
  await page.waitForSelector(".banner.ok, .banner.alarm", { timeout: 60000 });
  return page;
}

/** The server at `dir` starts serving the history at `from` instead. */
function swap(dir, from) {
  rmSync(dir, { recursive: true });
  cpSync(from, dir, { recursive: true });
}

/**
 * A ledger of 31 events at `dir`, a copy of it at `<dir>-31`, and `other`: the same
 * first 31 events, then `evil` others. `dir` then grows by 5 more (36 events).
 */
function histories(name, evil) {
  const dir = join(work, name, "ledger");
  const other = join(work, name, "other");
  ll("init", dir, "--origin", `${name}.example/ledger`);
  append(dir, 30, "a");
  fork(dir, other);
  cpSync(dir, dir + "-31", { recursive: true });
  append(other, evil, "evil");
  append(dir, 5, "b");
  return { dir, other, old: dir + "-31" };
}

async function evidence(page) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Download the evidence")]);
  return JSON.parse(readFileSync(await download.path(), "utf8"));
}

test("a fork to a larger size, served on a later visit, is the Forked alarm with both checkpoints", async () => {
  const { dir, other } = histories("larger", 20); // 36 verified; then a 51-event fork
  const ledger = await serve(dir);
  const context = await browser.newContext({ acceptDownloads: true });
  const first = await visit(context, ledger);
  assert.equal(await first.textContent("#size"), "36");
  await first.close();
  swap(dir, other);
  const page = await visit(context, ledger);
  assert.match(await page.textContent(".banner.alarm h1"), /Forked/);
  const e = await evidence(page);
  assert.equal(e.code, "FORK");
  assert.match(e.evidence.oldCheckpoint, /^larger\.example\/ledger\n36\n/);
  assert.match(e.evidence.newCheckpoint, /^larger\.example\/ledger\n51\n/);
  assert.ok(e.evidence.proof.length > 0, "the consistency proof that failed");
  // Nothing of the fork was shown as verified.
  assert.notEqual(await page.textContent("#size"), "51");
  await context.close();
});

test("a fork at the same size on a later visit is the Forked alarm", async () => {
  const { dir, other } = histories("equal", 5); // 36 and 36
  const ledger = await serve(dir);
  const context = await browser.newContext({ acceptDownloads: true });
  await (await visit(context, ledger)).close();
  swap(dir, other);
  const page = await visit(context, ledger);
  assert.match(await page.textContent(".banner.alarm h1"), /Forked/);
  const e = await evidence(page);
  assert.equal(e.code, "FORK");
  assert.match(e.evidence.oldCheckpoint, /\n36\n/);
  assert.match(e.evidence.newCheckpoint, /\n36\n/);
  assert.notEqual(e.evidence.oldCheckpoint, e.evidence.newCheckpoint);
  await context.close();
});

test("an older checkpoint served on a later visit is the Rolled back alarm", async () => {
  const { dir, old } = histories("rollback", 1);
  const ledger = await serve(dir);
  const context = await browser.newContext({ acceptDownloads: true });
  await (await visit(context, ledger)).close();
  swap(dir, old); // the same history, 31 events: what was verified is gone
  const page = await visit(context, ledger);
  assert.match(await page.textContent(".banner.alarm h1"), /Rolled back/);
  const e = await evidence(page);
  assert.equal(e.code, "ROLLBACK");
  assert.match(e.evidence.oldCheckpoint, /\n36\n/);
  assert.match(e.evidence.newCheckpoint, /\n31\n/);
  await context.close();
});

test("a return visit proves the grown ledger extends what was verified, and says so", async () => {
  const { dir } = histories("grown", 1);
  const ledger = await serve(dir);
  const context = await browser.newContext();
  await (await visit(context, ledger)).close();
  append(dir, 300, "c"); // 336: across a tile boundary
  const page = await visit(context, ledger);
  assert.equal(await page.textContent("#size"), "336");
  assert.match(await page.textContent("#memory-note"), /Verified up to 36 events on an earlier visit .*proved to extend it, and the 300 new events were verified now/);
  await context.close();
});

test("a return visit reads only the new entries, says so, and offers to verify everything again", async () => {
  const dir = join(work, "return", "ledger");
  ll("init", dir, "--origin", "return.example/ledger");
  append(dir, 600, "a"); // 601 events: bundles 000, 001 and 002.p/89
  const ledger = await serve(dir);
  const context = await browser.newContext();
  const bundles = (page) => {
    const seen = [];
    page.on("request", (r) => { if (r.url().includes("/tile/entries/")) seen.push(r.url().split("/tile/entries/")[1]); });
    return seen;
  };
  const first = await context.newPage();
  const firstBundles = bundles(first);
  await first.goto(`${appUrl}/index.html?log=${encodeURIComponent(ledger + "/")}`);
  await first.waitForSelector(".banner.ok", { timeout: 60000 });
  assert.deepEqual(firstBundles.sort(), ["000", "001", "002.p/89"]);
  await first.close();
  append(dir, 20, "b"); // 621
  const page = await context.newPage();
  const seen = bundles(page);
  await page.goto(`${appUrl}/index.html?log=${encodeURIComponent(ledger + "/")}`);
  await page.waitForSelector(".banner.ok", { timeout: 60000 });
  await page.waitForSelector("#memory-note");
  assert.equal(await page.textContent("#size"), "621");
  assert.deepEqual(seen, ["002.p/109"], "only the bundle with the new entries");
  assert.match(await page.textContent("#memory-note"), /Verified up to 601 events on an earlier visit .*the 20 new events were verified now/);
  // The explorer searches every event, the earlier visit's too, in this browser's index.
  const count = (re) => page.waitForFunction((src) => {
    const c = document.querySelector("#explorer-count");
    return c.dataset.done === "true" && new RegExp(src).test(c.textContent);
  }, re.source, { timeout: 30000 });
  await count(/^621 matching events.*events before 601 from this browser's index/);
  // The state too: the keys the earlier visit's events set, read from the index.
  await page.waitForFunction(() => /^620 keys/.test(document.querySelector("#state-h ~ p").textContent), null, { timeout: 30000 });
  await page.fill("#explorer-search", 'inv/a17"');
  await count(/^1 matching event/);
  assert.match(await page.textContent("#explorer-table tbody"), /inv\/a17/);
  await page.click("#explorer-table tbody button");
  assert.match(await page.textContent("#event-detail"), /^Event 18Signature/);
  // "Verify every event again": the kept point is dropped and the page audits from zero.
  const again = bundles(page);
  again.length = 0;
  await Promise.all([page.waitForNavigation(), page.click("#full-audit")]);
  await page.waitForSelector(".banner.ok", { timeout: 60000 });
  assert.deepEqual(again.sort(), ["000", "001", "002.p/109"]);
  assert.equal(await page.$("#full-audit"), null);
  // A kept point that does not hold (its tree edge changed): discarded, said so, and
  // every event verified again.
  const key = `liveledger:resume:${ledger}/`;
  const kept = await page.evaluate((k) => localStorage.getItem(k), key);
  assert.ok(kept, "a resume point is kept");
  const bad = kept.replace(/"edge":\["(.)/, (m, c) => `"edge":["${c === "A" ? "B" : "A"}`);
  await page.evaluate(([k, v]) => localStorage.setItem(k, v), [key, bad]);
  const damaged = await visit(context, ledger);
  assert.match(await damaged.textContent(".banner.ok h1"), /Verified/);
  assert.match(await damaged.textContent("#memory-note"), /kept to continue its audit .*could not be used \(its tree edge does not recompute/);
  // An index this browser kept for another ledger is not searched, and is said so.
  await damaged.evaluate(async () => {
    const name = (await indexedDB.databases()).map((d) => d.name).find((n) => n.startsWith("liveledger:"));
    const db = await new Promise((ok, no) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = no; });
    await new Promise((ok, no) => {
      const tx = db.transaction("info", "readwrite");
      tx.objectStore("info").put({ origin: "other.example/ledger", key: "x", covered: 621 }, "ledger");
      tx.oncomplete = ok; tx.onerror = no;
    });
    db.close();
  });
  append(dir, 1, "c"); // 622
  const other = await visit(context, ledger);
  await other.waitForSelector("#index-note");
  assert.match(await other.textContent("#index-note"), /belongs to another ledger or key \(other\.example\/ledger\); it is not searched/);
  await other.waitForFunction(() => document.querySelector("#explorer-count").dataset.done === "true");
  assert.match(await other.textContent("#explorer-count"), /^1 matching event/);
  await context.close();
});

test("a remembered checkpoint of another ledger, or a damaged memory, is discarded with a notice", async () => {
  const a = join(work, "mem/a");
  const b = join(work, "mem/b");
  ll("init", a, "--origin", "a.example/ledger");
  append(a, 3, "a");
  ll("init", b, "--origin", "b.example/ledger");
  append(b, 4, "b");
  const [la, lb] = [await serve(a), await serve(b)];
  const context = await browser.newContext();
  const first = await visit(context, la);
  // This browser's memory of A, filed under B's address: validly signed, by another key.
  const stored = await first.evaluate(() => localStorage.getItem(Object.keys(localStorage).find((k) => k.startsWith("liveledger:last:"))));
  assert.match(JSON.parse(stored).note, /^a\.example\/ledger\n4\n/);
  await first.evaluate(([k, v]) => localStorage.setItem(k, v), [`liveledger:last:${lb}/`, stored]);
  const page = await visit(context, lb);
  assert.match(await page.textContent(".banner.ok h1"), /Verified/);
  assert.equal(await page.textContent("#size"), "5");
  assert.match(await page.textContent("#memory-note"), /does not belong to this ledger or its key .*discarded/);
  // What it remembers now is B's own checkpoint.
  const now = await page.evaluate((k) => localStorage.getItem(k), `liveledger:last:${lb}/`);
  assert.match(JSON.parse(now).note, /^b\.example\/ledger\n5\n/);
  // A memory that is not even JSON: discarded, said so, and the visit verifies.
  await page.evaluate((k) => localStorage.setItem(k, "{not json"), `liveledger:last:${lb}/`);
  const again = await visit(context, lb);
  assert.match(await again.textContent(".banner.ok h1"), /Verified/);
  assert.match(await again.textContent("#memory-note"), /could not be read \(it is not JSON/);
  await context.close();
});
