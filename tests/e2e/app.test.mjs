// End-to-end: the browser verifier app (dist/, built by Trunk) served with the demo
// ledger. Real headless Chromium via playwright-core.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { launch } from "./helpers.mjs";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, process.env.LIVELEDGER_BIN || "target/debug/liveledger");
const app = resolve(root, process.env.LIVELEDGER_APP || "dist");
let demo, browser, ledger, dir;

before(async () => {
  assert.ok(existsSync(join(app, "index.html")), `build the app first (cargo xtask app): ${app}`);
  dir = join(mkdtempSync(join(tmpdir(), "ll-app-")), "ledger");
  demo = spawn(bin, ["demo", "--dir", dir, "--addr", "127.0.0.1:0", "--app", app, "--interval", "0.7"], { stdio: ["ignore", "pipe", "inherit"] });
  ledger = await new Promise((ok, fail) => {
    let out = "";
    demo.stdout.on("data", (d) => { out += d; const m = out.match(/ledger\s+(http:\/\/\S+)/); if (m) ok(m[1]); });
    demo.on("exit", (c) => fail(new Error(`demo exited ${c}: ${out}`)));
  });
  browser = await launch();
});

after(async () => { await browser?.close(); demo?.kill(); });

test("the app verifies the ledger it is served with, and shows it growing", async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const t0 = Date.now();
  await page.goto(ledger);
  await page.waitForSelector(".banner.ok", { timeout: 60000 });
  console.log(`# app: page load to verified: ${Date.now() - t0} ms`);
  const size = Number(await page.textContent("#size"));
  const cp = await (await fetch(ledger + "checkpoint")).text();
  const served = Number(cp.split("\n")[1]);
  assert.ok(size > 300 && size <= served, `page says ${size}, checkpoint says ${served}`);
  assert.match(await page.textContent("#verdict-text"), new RegExp(`All ${size} events`));
  const cells = await page.$$eval(".heatmap .cell", (cs) => cs.map((c) => c.className));
  assert.equal(cells.length, Math.ceil(size / 256));
  assert.ok(cells.every((c) => c.includes("verified")), cells.join(","));
  // The demo's digests are witnessed (2 of 3 must cosign), and the card says by whom.
  assert.match(await page.textContent("#witnesses"), /witnessed by [23] of 3 \(quorum 2 of \(W1, W2, W3\), from the ledger's metadata\): W1 /);
  // The signatures were checked in Web Workers (one per core), and the page says so.
  assert.match(await page.textContent("#engine"), /WebCrypto in (a background worker|\d background workers)/);
  // Live: events appended after the page loaded are verified and counted.
  await page.waitForFunction((n) => Number(document.querySelector("#size").textContent) > n, size, { timeout: 30000 });
  assert.match(await page.textContent("#live-text"), /new events verified since you opened this page/);
  mkdirSync(join(root, "target/e2e"), { recursive: true });
  await page.screenshot({ path: join(root, "target/e2e/app-verified.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the app flags the tampered copy at segment 1 and offers the evidence", async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(`${ledger}?log=${encodeURIComponent(ledger + "tampered/")}`);
  await page.waitForSelector(".banner.alarm", { timeout: 60000 });
  assert.match(await page.textContent(".banner.alarm h1"), /Tampered/);
  assert.match(await page.textContent("#alarm-text"), /segment 1 was changed/);
  const failed = await page.$$eval(".heatmap .cell", (cs) => cs.map((c, i) => c.className.includes("failed") ? i : -1).filter((i) => i >= 0));
  assert.deepEqual(failed, [1]);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Download the evidence")]);
  assert.equal(download.suggestedFilename(), "liveledger-evidence.json");
  await page.screenshot({ path: join(root, "target/e2e/app-tampered.png"), fullPage: true });
  await page.close();
});

test("one event by inclusion proof, and its receipt checked offline in the page", async () => {
  const page = await browser.newPage();
  await page.goto(ledger);
  await page.waitForSelector(".banner.ok", { timeout: 60000 });
  await page.fill("#one-seq", "42");
  await page.click("#one-h ~ form button");
  await page.waitForSelector("#one-result", { timeout: 30000 });
  assert.match(await page.textContent("#one-result"), /Event 42 is in the signed ledger of \d+ events/);
  const receipt = await page.inputValue("#one-receipt");
  assert.match(receipt, /^c2sp.org\/tlog-proof@v1\nextra /);
  const meta = await (await fetch(ledger + "metadata")).text();
  const key = JSON.parse(meta.split("\n")[1]).log_keys[0];
  await page.fill("#receipt-text", receipt);
  await page.fill("#receipt-key", key);
  await page.click("#receipt-h ~ form button");
  assert.match(await page.textContent("#receipt-result"), /Entry 42 is in the ledger demo.liveledger.example\/ledger/);
  await page.fill("#receipt-text", receipt.replace("index 42", "index 41"));
  await page.click("#receipt-h ~ form button");
  assert.match(await page.textContent("#receipt-result"), /INCLUSION_FAILED/);
  await page.close();
});

test("the explorer lists, filters and explains verified events; the state view replays them", async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  await page.goto(ledger);
  await page.waitForSelector(".banner.ok", { timeout: 60000 });
  const size = Number(await page.textContent("#size"));
  assert.match(await page.textContent("#explorer-count"), new RegExp(`^${size} matching events`));
  // The list draws its first 40 rows; 40 more each time "Show more" is chosen or its end
  // is scrolled near.
  const rows = (n) => page.waitForFunction((n) => document.querySelectorAll("#explorer-table tbody tr").length === n, n, { timeout: 10000 });
  assert.ok(size > 120, `${size} events: the demo ledger fills more than three steps`);
  await rows(40);
  assert.equal(await page.textContent("#explorer-more"), `Show more (40 of ${Math.min(size, 200)} drawn)`);
  await page.click("#explorer-more");
  await rows(80);
  await page.$eval("#explorer-table", (t) => t.parentElement.scrollTo(0, t.parentElement.scrollHeight));
  await rows(120);
  // Filter by kind.
  await page.selectOption("select >> nth=0", "custody.transfer");
  const kinds = await page.$$eval("#explorer-table tbody tr td:nth-child(3)", (tds) => [...new Set(tds.map((t) => t.textContent))]);
  assert.deepEqual(kinds, ["custody.transfer"]);
  await page.selectOption("select >> nth=0", "");
  // The timeline: a bar narrows the list to its time span; a bad bound says what it wants.
  const bars = await page.$$("#explorer-timeline .bar");
  assert.ok(bars.length >= 1);
  const counts = await page.$$eval("#explorer-timeline .bar", (bs) => bs.map((b) => Number(b.getAttribute("aria-label").split(" ")[0])));
  assert.equal(counts.reduce((a, b) => a + b, 0), Number((await page.textContent("#explorer-count")).split(" ")[0]), "every event is in one bar");
  const first = counts.findIndex((c) => c > 0);
  await bars[first].click();
  assert.match(await page.inputValue("#explorer-from"), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/);
  const inBar = Number((await page.textContent("#explorer-count")).split(" ")[0]);
  assert.ok(inBar >= counts[first] && inBar < size, `${inBar} events after choosing a bar of ${counts[first]}`);
  const times = await page.$$eval("#explorer-table tbody tr td:nth-child(2)", (tds) => tds.map((t) => t.textContent));
  const [from, until] = [await page.inputValue("#explorer-from"), await page.inputValue("#explorer-until")];
  assert.ok(times.every((t) => Date.parse(t) >= Date.parse(from) && Date.parse(t) <= Date.parse(until)), `${from}..${until}: ${times}`);
  await page.fill("#explorer-from", "last tuesday");
  assert.match(await page.textContent("#explorer-time-error"), /expected a UTC time like .* found "last tuesday"/);
  await page.click("text=All times");
  assert.match(await page.textContent("#explorer-count"), new RegExp(`^${size} matching events`));
  // The amended payment links to its correction, and back.
  await page.fill("#explorer-search", "wrong currency unit");
  const correction = Number(await page.textContent("#explorer-table tbody tr td button"));
  await page.click("#explorer-table tbody tr td button");
  const target = Number((await page.textContent("#event-detail")).match(/Corrects \(amend\) event (\d+)/)[1]);
  await page.click(`#event-detail button:text-is("${target}")`);
  assert.match(await page.textContent("#event-detail"), new RegExp(`Corrected by event\\(s\\) ${correction}`));
  // The private KYC payload: revealed by the operator, checked in the page.
  await page.fill("#explorer-search", "kyc.record");
  await page.click("#explorer-table tbody tr td button");
  const seq = Number((await page.textContent("#event-detail h3")).replace("Event ", ""));
  const secret = JSON.parse(readFileSync(join(dir + ".keys", "private", `${seq}.json`), "utf8"));
  await page.fill("#reveal-body", JSON.stringify(secret.body));
  await page.fill("#reveal-salt", secret.salt);
  await page.click("#reveal-body ~ button");
  assert.match(await page.textContent("#reveal-result"), /open the commitment/);
  await page.fill("#reveal-body", JSON.stringify({ ...secret.body, name: "Someone Else" }));
  await page.click("#reveal-body ~ button");
  assert.match(await page.textContent("#reveal-result"), /do not open/);
  // State: one row per key, the amended invoice at its amended value.
  assert.match(await page.textContent("#state-h ~ p"), /^\d+ keys/);
  assert.match(await page.textContent("#state-table"), /"amount":"1.00"/);
  await page.screenshot({ path: join(root, "target/e2e/app-explorer.png"), fullPage: false });
  await page.close();
});

test("a ledger whose log key changes raises an alarm instead of being trusted anew", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(ledger);
  await page.waitForSelector(".banner.ok", { timeout: 60000 });
  const k = await page.evaluate(() => Object.keys(localStorage).find((x) => x.startsWith("liveledger:key:")));
  assert.ok(k, "the first verified visit remembers the log key");
  await page.reload();
  await page.waitForSelector(".banner.ok", { timeout: 60000 });
  assert.match(await page.textContent("main"), /pinned in this browser on your first visit/);
  // Simulate the ledger switching keys: this browser remembers another one.
  await page.evaluate((k) => localStorage.setItem(k, "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"), k);
  await page.reload();
  await page.waitForSelector(".banner.alarm", { timeout: 60000 });
  assert.match(await page.textContent(".banner.alarm h1"), /Key changed/);
  // The visitor can accept an announced rotation, which trusts the ledger's key anew.
  await page.click("text=forget the old one");
  await page.waitForSelector(".banner.ok", { timeout: 60000 });
  await context.close();
});
