// Profiling driver (not a test, not run by CI): the page's audit of a ledger directory
// under V8's sampling CPU profiler (CDP Profiler); prints the functions that took the
// main thread's time, by self time and by total time. For Wasm names, build the app with
// its name section kept (see docs/BENCHMARKS.md, "The page against its engine").
// usage: node profile-page.mjs BIN APPDIR LEDGERDIR OUT.cpuprofile
import { writeFileSync } from "node:fs";
import { launch, serve, stopServers } from "./helpers.mjs";
const [bin, appDir, dir, out] = process.argv.slice(2);
const ledger = await serve(dir, bin);
const app = await serve(appDir, bin);
const browser = await launch();
const ctx = await browser.newContext();
const page = await ctx.newPage();
const cdp = await ctx.newCDPSession(page);
await cdp.send("Profiler.enable");
await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
await cdp.send("Profiler.start");
const t0 = Date.now();
await page.goto(`${app}/index.html?log=${encodeURIComponent(ledger + "/")}`);
await page.waitForSelector(".banner.ok", { timeout: 3600000 });
const took = (Date.now() - t0) / 1000;
const { profile } = await cdp.send("Profiler.stop");
await browser.close();
stopServers();
writeFileSync(out, JSON.stringify(profile));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
const self = new Map(), total = new Map();
const dt = new Map();
profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) || 0) + (profile.timeDeltas[i] || 0)));
const name = (n) => n.callFrame.functionName || `(anonymous ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber})`;
let all = 0;
for (const [id, us] of dt) {
  all += us;
  const n = byId.get(id);
  self.set(name(n), (self.get(name(n)) || 0) + us);
  const seen = new Set();
  for (let k = id; k !== undefined; k = parent.get(k)) {
    const m = name(byId.get(k));
    if (!seen.has(m)) { seen.add(m); total.set(m, (total.get(m) || 0) + us); }
  }
}
const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([f, us]) => `${(us / 1e6).toFixed(2).padStart(7)} s  ${f}`).join("\n");
console.log(`verified in ${took.toFixed(1)} s; ${(all / 1e6).toFixed(1)} s sampled on the main thread`);
console.log(`by self time:\n${top(self, 40)}\n\nby total time:\n${top(total, 60)}`);
