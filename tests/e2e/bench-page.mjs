// Benchmark driver (not a test), run by `cargo xtask bench-page`: the page's full audit
// against the module's own, in one Chromium, each in a fresh context (nothing cached),
// on a signed ledger of N events, two rounds. The module's time is `audit()` with an
// `onEvent` callback on a bare page (the engine alone); the page's is from navigation
// to its "Verified" verdict (page load and the app's start included). Long tasks
// (main-thread tasks over 50 ms) are counted with the Long Tasks API, and those over
// 100 ms; the Wasm memory of each (it never shrinks, so its size at the end is its peak). Then the return
// visit: 1,000 new events appended, the page opened again in the same browser profile
// (its kept resume point: only the new entries are read), to its "Verified" verdict.
// With a reference module (an embed site of another build), its `audit()` is timed in the
// same rounds, right after this build's.
// usage: node bench-page.mjs BIN APPDIR SITEDIR N [REFERENCE_APPDIR|-] [REFERENCE_SITEDIR]
// Prints one JSON object per line.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, serve, stopServers } from "./helpers.mjs";
const [bin, appDir, siteDir, nStr, refArg, refSiteDir] = process.argv.slice(2);
const refDir = refArg === "-" ? undefined : refArg;
const n = Number(nStr);
const dir = join(mkdtempSync(join(tmpdir(), "pb-")), "ledger");
execFileSync(bin, ["init", dir, "--origin", "bench.example/ledger", "--cadence", "86400"]);
let seq = 0;
const appendEvents = (k) => {
  execFileSync(bin, ["append", dir], { input: Array.from({ length: k }, (_, i) => JSON.stringify({ kind: "payment", source: "erp", key: `inv/${seq + i}`, body: { amount: `${i}.00`, currency: "EUR" } })).join("\n"), maxBuffer: 1 << 28 });
  seq += k;
};
for (let done = 0; done < n; done += 10000) {
  appendEvents(Math.min(10000, n - done));
}
const ledger = await serve(dir, bin);
const app = await serve(appDir, bin);
const site = await serve(siteDir, bin);
const ref = refDir ? await serve(refDir, bin) : null;
const refSite = refSiteDir ? await serve(refSiteDir, bin) : null;
// The module's signed audit on a bare page of `base`, in a fresh context.
const timeModule = async (base) => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${base}/index.html`);
  const mod = await page.evaluate(async (url) => {
    const m = await import("./liveledger_wasm.js");
    const wasm = await m.default();
    let events = 0;
    const t0 = performance.now();
    await m.audit(url + "/", { onEvent: () => events++ });
    // Wasm memory never shrinks: its size after the audit is its peak.
    return { seconds: (performance.now() - t0) / 1000, events, wasmBytes: wasm.memory.buffer.byteLength };
  }, ledger);
  await ctx.close();
  return mod;
};
const browser = await launch();
for (let round = 0; round < 2; round++) {
  const mod = await timeModule(site);
  const refMod = refSite ? await timeModule(refSite) : null;
  const timePage = async (base, again) => {
    const ctx = await browser.newContext();
    await ctx.addInitScript(() => {
      window.__long = [];
      addEventListener("TrunkApplicationStarted", (e) => { window.__wasm = e.detail.wasm; });
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push({ at: e.startTime, ms: e.duration }); }).observe({ type: "longtask", buffered: true });
    });
    const page = await ctx.newPage();
    const t0 = Date.now();
    await page.goto(`${base}/index.html?log=${encodeURIComponent(ledger + "/")}`);
    await page.waitForSelector(".banner.ok", { timeout: 3600000 });
    const seconds = (Date.now() - t0) / 1000;
    // Each task over 100 ms with when it began, and when the audit's first bundle was
    // requested (resource timing, the same clock): what ran before the audit, and during.
    const long = await page.evaluate(() => {
      const over = window.__long.filter((t) => t.ms > 100);
      const first = performance.getEntriesByType("resource").find((r) => r.name.includes("/tile/entries/"));
      return {
        count: window.__long.length, over100: over.length, over100At: over.map((t) => t.at / 1000),
        max: Math.max(0, ...window.__long.map((t) => t.ms)), auditFrom: first ? first.startTime / 1000 : null,
        heapBytes: performance.memory?.usedJSHeapSize, wasmBytes: window.__wasm?.memory?.buffer.byteLength,
      };
    });
    await page.close();
    let ret = null;
    if (again) {
      appendEvents(1000);
      const p2 = await ctx.newPage();
      let bundles = 0;
      p2.on("request", (r) => { if (r.url().includes("/tile/entries/")) bundles++; });
      const t1 = Date.now();
      await p2.goto(`${base}/index.html?log=${encodeURIComponent(ledger + "/")}`);
      await p2.waitForSelector(".banner.ok", { timeout: 3600000 });
      await p2.waitForFunction(() => /earlier visit/.test(document.querySelector("#memory-note")?.textContent ?? ""), null, { timeout: 600000 });
      ret = { seconds: (Date.now() - t1) / 1000, bundles };
    }
    await ctx.close();
    return { seconds, ratio: seconds / mod.seconds, longTasks: long.count, longOver100: long.over100, longOver100At: long.over100At, auditFrom: long.auditFrom, longestTaskMs: long.max, heapBytes: long.heapBytes, wasmBytes: long.wasmBytes, returnVisit: ret };
  };
  const row = { round, events: mod.events, module: mod.seconds, moduleWasmBytes: mod.wasmBytes, referenceModule: refMod?.seconds, page: await timePage(app, true) };
  if (ref) row.reference = await timePage(ref);
  console.log(JSON.stringify(row));
}
await browser.close();
stopServers();
