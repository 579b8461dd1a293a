// Benchmark driver (not a test): the JS module's audit in Node and in headless Chromium
// (the page's own code path), and one-event verification's requests and bytes.
// Run by `cargo xtask bench-wasm`, which serves the logs and passes a JSON config file:
//   {"site": URL of target/embed/site, "siteDir": its directory,
//    "audits": [{"name", "url", "keys", "level", "signatures", "checkTiles"}],
//    "fetchOnly": [{"name", "url", "paths": [...]}],
//    "oneEvent": [{"name", "url", "keys", "level", "index"}],
//    "chromiumArgs": [extra flags for the timed Chromium runs (the test certificate's key)]}
// Prints one JSON object per line: {"kind": "audit"|"fetch-only"|"one-event"|"ed25519",
// "runtime": "node"|"chromium"|"chromium-devtools", ...}.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromiumArgs, chromiumPath, launch } from "./helpers.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = (o) => console.log(JSON.stringify(o));

// Node: the module as published (web target), initialised from its bytes.
const m = await import(pathToFileURL(join(cfg.siteDir, "liveledger_wasm.js")));
await m.default({ module_or_path: readFileSync(join(cfg.siteDir, "liveledger_wasm_bg.wasm")) });
for (const a of cfg.audits) {
  const t0 = performance.now();
  const r = await m.audit(a.url, { keys: a.keys, level: a.level, signatures: a.signatures, checkTiles: a.checkTiles });
  const s = (performance.now() - t0) / 1000;
  out({ kind: "audit", runtime: "node", name: a.name, engine: r.signatureEngine, entries: r.stats.entries, bytes: r.stats.bytes, seconds: s });
}

// Ed25519 verifications per second: the module's verifyCheckpoint (one strict Ed25519
// verification of a checkpoint note, plus parsing), and WebCrypto's Ed25519 for comparison.
const ed = cfg.ed25519;
async function ed25519Rates(m, note, key, n) {
  let t0 = performance.now();
  for (let i = 0; i < n; i++) m.verifyCheckpoint(note, [key]);
  const wasm = n / ((performance.now() - t0) / 1000);
  let webcrypto = null;
  try {
    const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const msg = new TextEncoder().encode(note);
    const sig = await crypto.subtle.sign("Ed25519", kp.privateKey, msg);
    t0 = performance.now();
    for (let i = 0; i < n; i++) await crypto.subtle.verify("Ed25519", kp.publicKey, sig, msg);
    webcrypto = n / ((performance.now() - t0) / 1000);
  } catch (e) {
    webcrypto = null; // no Ed25519 in this runtime's WebCrypto
  }
  return { wasm, webcrypto };
}
if (ed) {
  const note = await (await fetch(ed.url + "checkpoint")).text();
  out({ kind: "ed25519", runtime: "node", ...(await ed25519Rates(m, note, ed.key, 2000)) });
}

// Chromium, timed: each audit, the Ed25519 rates and each plain fetch run in a Chromium of
// their own, with a fresh profile (nothing cached: a visitor's first audit) and no DevTools
// client attached, as in a visitor's browser. (Under Playwright every request also becomes
// DevTools protocol events, serialised by the browser and parsed by the driver on the same
// two cores: the same audit took 1.3-1.9x as long. One audit is repeated under
// Playwright below, to show the difference in the same run.) The page is a file in the
// module's directory, so it is on the module's origin (Web Workers need that); it posts its
// result to a server of ours, then {"kind":"done"}.
async function page(job) {
  const report = (msg) => fetch(REPORT, { method: "POST", mode: "no-cors", body: JSON.stringify(msg) });
  try {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    if (job.kind === "audit") {
      await m.signatureEngine({ signatures: job.signatures }); // started before the clock, as a page would
      const t0 = performance.now();
      const r = await m.audit(job.url, { keys: job.keys, level: job.level, signatures: job.signatures, checkTiles: job.checkTiles });
      const seconds = (performance.now() - t0) / 1000;
      await report({ kind: "audit", runtime: "chromium", name: job.name, engine: r.signatureEngine, entries: r.stats.entries, bytes: r.stats.bytes, seconds });
    } else if (job.kind === "ed25519") {
      const note = await (await fetch(job.url + "checkpoint")).text();
      const rates = new Function("return " + ED25519_RATES)();
      await report({ kind: "ed25519", runtime: "chromium", ...(await rates(m, note, job.key, 2000)) });
    } else if (job.kind === "fetch-only") {
      // As the audit fetches: 8 in flight, past the browser's cache (`no-store`).
      const t0 = performance.now();
      let next = 0;
      async function worker() {
        while (next < job.paths.length) {
          const r = await fetch(job.url + job.paths[next++], { cache: "no-store" });
          await r.arrayBuffer();
        }
      }
      await Promise.all(Array.from({ length: 8 }, worker));
      await report({ kind: "fetch-only", runtime: "chromium", name: job.name, files: job.paths.length, seconds: (performance.now() - t0) / 1000 });
    }
  } catch (e) {
    await report({ kind: "error", message: String(e?.message ?? e) });
  }
  await report({ kind: "done" });
}

async function chromiumWithoutDevTools(job) {
  const got = [];
  let finish;
  const done = new Promise((ok) => (finish = ok));
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      res.end();
      try {
        const msg = JSON.parse(body);
        if (msg.kind === "done") finish();
        else got.push(msg);
      } catch {}
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const report = `http://127.0.0.1:${server.address().port}/`;
  const html = join(cfg.siteDir, "bench-run.html");
  writeFileSync(html, `<!doctype html><meta charset="utf-8"><script type="module">
const REPORT = ${JSON.stringify(report)}; const ED25519_RATES = ${JSON.stringify(ed25519Rates.toString())};
${page.toString()}
page(${JSON.stringify(job)});
</script>`);
  const profile = mkdtempSync(join(tmpdir(), "ll-bench-"));
  const child = spawn(chromiumPath, ["--headless", ...chromiumArgs, ...(cfg.chromiumArgs ?? []), `--user-data-dir=${profile}`, `${cfg.site}/bench-run.html`], {
    stdio: "ignore",
    detached: true, // its own process group: its helpers end with it
  });
  const exit = new Promise((ok) => child.on("exit", ok));
  const exited = exit.then((c) => `chromium exited (${c}) before the page was done`);
  const timeout = new Promise((ok) => setTimeout(() => ok("the page was not done after 30 minutes"), 30 * 60 * 1000).unref());
  const failed = await Promise.race([done.then(() => null), exited, timeout]);
  try {
    process.kill(-child.pid);
  } catch {}
  await exit; // its profile is written to until it has exited
  server.close();
  rmSync(html, { force: true });
  // Chromium's helper processes may still be closing files in it.
  rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  for (const msg of got) {
    if (msg.kind === "error") throw new Error(`in Chromium (${job.kind} ${job.name ?? ""}): ${msg.message}`);
    out(msg);
  }
  if (failed) throw new Error(failed);
}
for (const a of cfg.audits) await chromiumWithoutDevTools({ kind: "audit", ...a });
if (ed) await chromiumWithoutDevTools({ kind: "ed25519", ...ed });
for (const f of cfg.fetchOnly ?? []) await chromiumWithoutDevTools({ kind: "fetch-only", ...f });

// Under Playwright (a DevTools client attached): the first audit again, for comparison.
const browser = await launch();
{
  const page = await browser.newPage();
  await page.goto(`${cfg.site}/bench-blank`); // any page on the module's origin
  const a = cfg.audits[0];
  const r = await page.evaluate(async (a) => {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    const t0 = performance.now();
    const r = await m.audit(a.url, { keys: a.keys, level: a.level, signatures: a.signatures, checkTiles: a.checkTiles });
    return { entries: r.stats.entries, seconds: (performance.now() - t0) / 1000 };
  }, a);
  out({ kind: "audit", runtime: "chromium-devtools", name: a.name, ...r });
  await page.close();
}
for (const o of cfg.oneEvent) {
  // A fresh context: nothing cached from the audits above.
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(`${cfg.site}/bench-blank`);
  const r = await p.evaluate(async (o) => {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    performance.clearResourceTimings();
    const t0 = performance.now();
    const r = await m.verifyEntry(o.url, o.index, { keys: o.keys, level: o.level });
    const ms = performance.now() - t0;
    const res = performance.getEntriesByType("resource").filter((e) => e.name.startsWith(o.url));
    // Round trips: the longest chain of requests each made after the one before had
    // answered (what a visitor far from the server waits for).
    const byStart = [...res].sort((a, b) => a.startTime - b.startTime);
    const round = new Map();
    for (const e of byStart) {
      const before = byStart.filter((d) => round.has(d) && d.responseEnd <= e.startTime).map((d) => round.get(d));
      round.set(e, 1 + Math.max(0, ...before));
    }
    return {
      requests: r.requests, decodedBytes: r.bytes, ms,
      roundTrips: Math.max(0, ...round.values()),
      transferBytes: res.reduce((n, e) => n + e.transferSize, 0),
      files: res.map((e) => `${e.name.slice(o.url.length)} ${e.transferSize}`),
    };
  }, o);
  out({ kind: "one-event", name: o.name, index: o.index, ...r });
  await context.close();
}
await browser.close();
