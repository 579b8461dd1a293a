// Benchmark driver (not a test): what a witness policy costs the JS module's audit in
// headless Chromium. Run by `cargo xtask bench-witness`, which serves the ledgers (and the
// witnesses, on 127.0.0.1) and passes a JSON config file:
//   {"site": URL of target/embed/site, "rounds": N,
//    "audits": [{"name", "url", "opts"}]}
// The audits are run in turn, round after round (so a slow moment hurts each alike).
// Prints one JSON object per audit: {"name", "round", "seconds", "entries", "views"}.
import { readFileSync } from "node:fs";
import { launch } from "./helpers.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const browser = await launch();
const page = await browser.newPage();
await page.goto(`${cfg.site}/index.html`); // any page on the module's origin
await page.evaluate(async () => {
  window.m = await import("./liveledger_wasm.js");
  await window.m.default();
  await window.m.signatureEngine({}); // started before the clock, as a page would
});
for (let round = 0; round < cfg.rounds; round++) {
  for (const a of cfg.audits) {
    const r = await page.evaluate(async (a) => {
      const t0 = performance.now();
      const r = await window.m.audit(a.url, a.opts);
      return { seconds: (performance.now() - t0) / 1000, entries: r.stats.entries, views: r.witnesses?.views?.length ?? 0, met: r.witnesses?.met ?? null };
    }, a);
    console.log(JSON.stringify({ name: a.name, round, ...r }));
  }
}
await browser.close();
