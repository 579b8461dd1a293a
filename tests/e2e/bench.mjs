// Benchmark driver (not a test): the JS module's audit in Node and in headless Chromium
// (the page's own code path), and one-event verification's requests and bytes.
// Run by `cargo xtask bench-wasm`, which serves the logs and passes a JSON config file:
//   {"site": URL of target/embed/site, "siteDir": its directory,
//    "audits": [{"name", "url", "keys", "level", "signatures"}],
//    "fetchOnly": [{"name", "url", "paths": [...]}],
//    "oneEvent": [{"name", "url", "keys", "level", "index"}]}
// Prints one JSON object per line: {"kind": "audit"|"fetch-only"|"one-event", ...}.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { launch } from "./helpers.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = (o) => console.log(JSON.stringify(o));

// Node: the module as published (web target), initialised from its bytes.
const m = await import(pathToFileURL(join(cfg.siteDir, "liveledger_wasm.js")));
await m.default({ module_or_path: readFileSync(join(cfg.siteDir, "liveledger_wasm_bg.wasm")) });
for (const a of cfg.audits) {
  const t0 = performance.now();
  const r = await m.audit(a.url, { keys: a.keys, level: a.level, signatures: a.signatures });
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

const browser = await launch();
const page = await browser.newPage();
await page.goto(`${cfg.site}/bench-blank`); // any page on the module's origin
for (const a of cfg.audits) {
  const r = await page.evaluate(async (a) => {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    await m.signatureEngine({ signatures: a.signatures }); // started before the clock, as a page would
    const t0 = performance.now();
    const r = await m.audit(a.url, { keys: a.keys, level: a.level, signatures: a.signatures });
    return { engine: r.signatureEngine, entries: r.stats.entries, bytes: r.stats.bytes, seconds: (performance.now() - t0) / 1000 };
  }, a);
  out({ kind: "audit", runtime: "chromium", name: a.name, ...r });
}
if (ed) {
  const r = await page.evaluate(async ({ url, key, src }) => {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    const note = await (await fetch(url + "checkpoint")).text();
    const rates = new Function("return " + src)();
    return rates(m, note, key, 2000);
  }, { url: ed.url, key: ed.key, src: ed25519Rates.toString() });
  out({ kind: "ed25519", runtime: "chromium", ...r });
}
for (const f of cfg.fetchOnly ?? []) {
  const seconds = await page.evaluate(async (f) => {
    const t0 = performance.now();
    let next = 0;
    async function worker() {
      while (next < f.paths.length) {
        const r = await fetch(f.url + f.paths[next++]);
        await r.arrayBuffer();
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker));
    return (performance.now() - t0) / 1000;
  }, f);
  out({ kind: "fetch-only", runtime: "chromium", name: f.name, files: f.paths.length, seconds });
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
    return {
      requests: r.requests, decodedBytes: r.bytes, ms,
      transferBytes: res.reduce((n, e) => n + e.transferSize, 0),
      files: res.map((e) => `${e.name.slice(o.url.length)} ${e.transferSize}`),
    };
  }, o);
  out({ kind: "one-event", name: o.name, index: o.index, ...r });
  await context.close();
}
await browser.close();
