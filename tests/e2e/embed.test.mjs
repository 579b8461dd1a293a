// End-to-end: the example portal (www/embed) on one origin embeds two
// <live-ledger-verify> badges for ledgers served by `liveledger demo` on another origin:
// the live demo ledger must verify and keep verifying as it grows, the tampered copy must
// raise an alarm naming segment 1. Real headless Chromium via playwright-core.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { launch } from "./helpers.mjs";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, process.env.LIVELEDGER_BIN || "target/debug/liveledger");
const site = resolve(root, "target/embed/site");
let demo, browser, urls = {};

function startDemo() {
  const dir = join(mkdtempSync(join(tmpdir(), "ll-e2e-")), "ledger");
  const p = spawn(bin, ["demo", "--dir", dir, "--addr", "127.0.0.1:0", "--embed", site, "--embed-addr", "127.0.0.1:0", "--interval", "0.7"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error("demo did not start: " + out)), 120000);
    p.stdout.on("data", (d) => {
      out += d;
      const ledger = out.match(/ledger\s+(http:\/\/\S+)/);
      const portal = out.match(/portal\s+(http:\/\/\S+)/);
      if (ledger && portal) {
        clearTimeout(timer);
        urls = { ledger: ledger[1], portal: portal[1].split("?")[0] };
        ok(p);
      }
    });
    p.on("exit", (c) => { clearTimeout(timer); fail(new Error(`demo exited ${c}: ${out}`)); });
  });
}

before(async () => {
  demo = await startDemo();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  demo?.kill();
});

const badge = (page, id) => page.evaluate((id) => {
  const el = document.getElementById(id);
  return { state: el.getAttribute("state"), size: Number(el.getAttribute("size") || 0), text: el.shadowRoot.querySelector(".badge").textContent, role: el.shadowRoot.querySelector(".badge").getAttribute("role") };
}, id);

test("the portal on another origin verifies the live ledger and flags the tampered copy", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const url = `${urls.portal}?ledger=${encodeURIComponent(urls.ledger)}`;
  assert.notEqual(new URL(urls.portal).origin, new URL(urls.ledger).origin, "portal and ledger must be different origins");
  const t0 = Date.now();
  await page.goto(url);
  const states = () => page.evaluate(() => ["live", "copy"].map((id) => document.getElementById(id).shadowRoot.querySelector(".badge").textContent + " / " + document.getElementById(id).shadowRoot.querySelector(".badge").title));
  try {
    await page.waitForFunction(() => document.getElementById("live").getAttribute("state") === "verified", null, { timeout: 60000 });
    await page.waitForFunction(() => document.getElementById("copy").getAttribute("state") === "alarm", null, { timeout: 60000 });
  } catch (e) {
    throw new Error(`${e.message}; badges: ${JSON.stringify(await states())}`);
  }
  const live = await badge(page, "live");
  // Reported, not asserted (timings are for benchmarks): load to both verdicts.
  console.log(`# page load to verified badge and tampered alarm: ${Date.now() - t0} ms for ${live.size} events`);
  assert.match(live.text, /Verified\s+\d+ events · digest \d+ s old/);
  assert.ok(live.size > 300, `demo has hundreds of events, badge says ${live.size}`);
  assert.equal(live.role, "status");
  const copy = await badge(page, "copy");
  assert.match(copy.text, /Alarm\s+tampered \(segment 1\)/);
  const events = await page.evaluate(() => window.__ledgerEvents);
  assert.ok(events.some((e) => e.type === "verified" && e.id === "live"), JSON.stringify(events));
  assert.ok(events.some((e) => e.type === "alarm" && e.id === "copy" && e.code === "TAMPERED"), JSON.stringify(events));
  // Live: events appended after the page loaded show up, verified.
  await page.waitForFunction((n) => Number(document.getElementById("live").getAttribute("size")) > n, live.size, { timeout: 30000 });
  const later = await badge(page, "live");
  assert.equal(later.state, "verified");
  mkdirSync(join(root, "target/e2e"), { recursive: true });
  await page.screenshot({ path: join(root, "target/e2e/embed.png"), fullPage: true });
  // Pointing a badge elsewhere aborts its run and starts a new one.
  await page.evaluate((src) => document.getElementById("copy").setAttribute("src", src), urls.ledger);
  await page.waitForFunction(() => document.getElementById("copy").getAttribute("state") === "verified", null, { timeout: 60000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test("one event is verified by inclusion proof with a few small fetches", async () => {
  const page = await browser.newPage();
  await page.goto(urls.portal);
  const r = await page.evaluate(async (ledger) => {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    return await m.verifyEntry(ledger, 42, {});
  }, urls.ledger);
  assert.equal(r.index, 42);
  assert.equal(r.event.seq, 42);
  assert.ok(r.requests <= 5, `${r.requests} requests`);
  // The receipt verifies offline, and fails when changed.
  const offline = await page.evaluate(async ({ receipt, key }) => {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    const ok = m.verifyReceipt(receipt, [key]);
    let code = null;
    try { m.verifyReceipt(receipt.replace("index 42", "index 43"), [key]); } catch (e) { code = e.code; }
    return { index: ok.index, code };
  }, { receipt: r.receipt, key: await (await fetch(urls.ledger + "metadata")).text().then((t) => JSON.parse(t.split("\n")[1]).log_keys[0]) });
  assert.deepEqual(offline, { index: 42, code: "INCLUSION_FAILED" });
  await page.close();
});

test("a full audit reads segments and tiles past the browser's cache; one event uses it", async () => {
  // A full audit reads each file once: through the HTTP cache it would write the whole
  // log to the visitor's disk (and evict what else is cached), and the cache writes cost
  // the browser about a third of its time per request (docs/BENCHMARKS.md).
  const page = await browser.newPage();
  await page.goto(urls.portal);
  const seen = await page.evaluate(async (ledger) => {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    const log = [];
    const real = globalThis.fetch;
    globalThis.fetch = (url, init) => {
      log.push({ url: String(url).slice(ledger.length), cache: init?.cache ?? "default" });
      return real(url, init);
    };
    try {
      await m.audit(ledger, {});
      const audit = log.splice(0);
      await m.verifyEntry(ledger, 3, {});
      return { audit, one: log.splice(0) };
    } finally {
      globalThis.fetch = real;
    }
  }, urls.ledger);
  const tiles = (list) => list.filter((f) => f.url.startsWith("tile/"));
  assert.ok(tiles(seen.audit).some((f) => f.url.startsWith("tile/entries/")), JSON.stringify(seen.audit));
  assert.ok(tiles(seen.audit).some((f) => /^tile\/0\//.test(f.url)), JSON.stringify(seen.audit));
  for (const f of tiles(seen.audit)) assert.equal(f.cache, "no-store", f.url);
  assert.ok(tiles(seen.one).length >= 2, JSON.stringify(seen.one));
  for (const f of tiles(seen.one)) assert.equal(f.cache, "default", f.url);
  await page.close();
});

test("a badge pinning a witness policy the ledger does not meet says it is not witnessed", async () => {
  const wdir = join(mkdtempSync(join(tmpdir(), "ll-w-")), "w");
  const vkey = execFileSync(bin, ["witness", "init", wdir, "--name", "stranger.example"], { encoding: "utf8" }).trim().split("\n").pop();
  const policy = `witness S ${vkey}\nquorum S\n`;
  writeFileSync(join(site, "policy-badge.html"), `<!doctype html><meta charset="utf-8"><title>policy</title>
<script type="module" src="live-ledger-verify.js"></script>
<live-ledger-verify id="pinned" src="${urls.ledger}" policy="${policy}"></live-ledger-verify>
<live-ledger-verify id="metadata" src="${urls.ledger}"></live-ledger-verify>`);
  const page = await browser.newPage();
  await page.goto(`${urls.portal}/policy-badge.html`);
  const state = (id) => page.evaluate((id) => document.getElementById(id)?.getAttribute("state"), id);
  await page.waitForFunction(() => document.getElementById("pinned")?.getAttribute("state") === "alarm", null, { timeout: 60000 });
  assert.match(await page.evaluate(() => document.getElementById("pinned").shadowRoot?.textContent ?? document.getElementById("pinned").textContent), /not witnessed/);
  // The same ledger under its own (metadata) policy: witnessed, verified.
  await page.waitForFunction(() => document.getElementById("metadata")?.getAttribute("state") === "verified", null, { timeout: 60000 });
  assert.equal(await state("pinned"), "alarm");
  await page.close();
});

test("the README's embed snippet works as written", async () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const m = readme.match(/<!-- embed-snippet -->\n```html\n([\s\S]*?)```/);
  assert.ok(m, "README has an embed snippet");
  const snippet = m[1].replace("https://ledger.example.org/payments/", urls.ledger);
  assert.notEqual(snippet, m[1], "the snippet names a ledger URL");
  writeFileSync(join(site, "readme-snippet.html"), `<!doctype html><meta charset="utf-8"><title>snippet</title>\n${snippet}`);
  const page = await browser.newPage();
  await page.goto(`${urls.portal}/readme-snippet.html`);
  await page.waitForFunction(() => document.querySelector("live-ledger-verify")?.getAttribute("state") === "verified", null, { timeout: 60000 });
  await page.close();
});
