// Profiling driver (not a test, not run by CI): the page's audit of a ledger directory
// under a Chromium trace; prints the main thread's tasks over 50 ms and what each spent
// its time on (Layout, GC, script...). How session 16 found the page's long tasks (#20).
// usage: node trace-page.mjs BIN APPDIR LEDGERDIR TRACE.json
//   (a ledger: one bench-page made under /tmp/pb-*/ledger, or `liveledger init` + append)
import { readFileSync } from "node:fs";
import { launch, serve, stopServers } from "./helpers.mjs";
const [bin, appDir, dir, out] = process.argv.slice(2);
const ledger = await serve(dir, bin);
const app = await serve(appDir, bin);
const browser = await launch();
const ctx = await browser.newContext();
const page = await ctx.newPage();
await browser.startTracing(page, { path: out, categories: ["devtools.timeline", "v8", "v8.execute", "disabled-by-default-devtools.timeline", "blink.user_timing"] });
await page.goto(`${app}/index.html?log=${encodeURIComponent(ledger + "/")}`);
await page.waitForSelector(".banner.ok", { timeout: 3600000 });
await browser.stopTracing();
await browser.close();
stopServers();
const t = JSON.parse(readFileSync(out, "utf8"));
const evs = (t.traceEvents || t).filter((e) => e.ph === "X" && e.dur);
const main = evs.filter((e) => e.name === "RunTask" && e.dur > 50000);
// the renderer main thread: the tid with the most FunctionCall time
const byTid = {};
for (const e of evs) if (e.name === "Layout") byTid[e.tid] = (byTid[e.tid] || 0) + e.dur;
const tid = Number(Object.entries(byTid).sort((a, b) => b[1] - a[1])[0][0]);
const long = main.filter((e) => e.tid === tid);
console.log(`${long.length} long tasks on the main thread`);
for (const task of long.sort((a, b) => b.dur - a.dur).slice(0, 12)) {
  const inside = evs.filter((e) => e.tid === tid && e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur && e !== task);
  const sum = {};
  for (const e of inside) sum[e.name] = (sum[e.name] || 0) + e.dur;
  const top = Object.entries(sum).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`).join(", ");
  console.log(`${(task.dur / 1000).toFixed(0)} ms at ${((task.ts - long[0].ts) / 1e6).toFixed(1)} s: ${top}`);
}
