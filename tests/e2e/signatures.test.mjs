// End-to-end: the signature engines of the JS module give `verify_strict`'s verdicts.
//
// The edge-case corpus (crates/core/tests/ed25519-edge-cases.json, written by the core's
// sigcheck tests with the verdicts of ed25519-dalek's verify_strict) goes through every
// engine the module can pick: WebCrypto in Web Workers and on the page's thread in
// Chromium, WebCrypto in Node, and Wasm. Then signed ledgers are audited in Chromium with
// the engine the page gets by default, a good one and one with a forged signature.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, ll, append, serve, stopServers, launch, site } from "./helpers.mjs";

const corpus = JSON.parse(readFileSync(join(root, "crates/core/tests/ed25519-edge-cases.json"), "utf8"));
const checks = corpus.map((c) => ({ key: c.key, signature: c.sig, message: c.msg }));
const want = corpus.map((c) => c.verifyStrict);

let browser, work, portal, page;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "ll-sig-"));
  browser = await launch();
  portal = await serve(site);
  page = await browser.newPage();
  await page.goto(`${portal}/index.html`);
  await page.evaluate(async () => {
    window.m = await import("./liveledger_wasm.js");
    await window.m.default();
  });
});

after(async () => {
  await browser?.close();
  stopServers();
});

test("the corpus has what it should: valid, invalid and every unusual kind", () => {
  assert.ok(corpus.length > 100);
  assert.ok(want.filter(Boolean).length >= 8, "some signatures hold");
  const kinds = new Set(corpus.map((c) => c.unusual));
  for (const k of [null, "NonCanonicalS", "NonCanonicalKey", "SmallOrderKey", "NonCanonicalR", "SmallOrderR"]) {
    assert.ok(kinds.has(k), `no case of ${k}`);
  }
});

test("in Chromium every engine gives verify_strict's verdicts", async () => {
  for (const signatures of ["auto", "webcrypto", "wasm"]) {
    const r = await page.evaluate(async ({ checks, signatures }) => ({
      engine: await window.m.signatureEngine({ signatures }),
      verdicts: await window.m.verifySignatures(checks, { signatures }),
    }), { checks, signatures });
    const expected = { auto: /^webcrypto-workers:[1-4]$/, webcrypto: /^webcrypto$/, wasm: /^wasm$/ }[signatures];
    assert.match(r.engine, expected, `${signatures} chose ${r.engine}`);
    const wrong = corpus.filter((c, i) => r.verdicts[i] !== want[i]).map((c) => c.name);
    assert.deepEqual(wrong, [], `${r.engine} disagrees with verify_strict`);
  }
});

test("in Node WebCrypto (no workers there) gives verify_strict's verdicts", async () => {
  const m = await import(join(site, "liveledger_wasm.js"));
  await m.default({ module_or_path: readFileSync(join(site, "liveledger_wasm_bg.wasm")) });
  assert.equal(await m.signatureEngine({}), "webcrypto");
  const verdicts = await m.verifySignatures(checks, {});
  assert.deepEqual(verdicts, want);
  await assert.rejects(m.verifySignatures([{ key: "00", signature: "", message: "" }], {}), /key must be 32 bytes of hex, found "00"/);
  await assert.rejects(m.signatureEngine({ signatures: "gpu" }), /signatures must be "auto", "webcrypto" or "wasm", found "gpu"/);
  await assert.rejects(m.signatureEngine({ signatures: 2 }), /signatures must be a string, found 2/);
});

/** Flips `"source":"erp"` to `"erq"` in the `nth` payment of the 201-event ledger's
 * segment: the event still parses, but its signature no longer holds. */
function forgeSignature(dir, nth) {
  const file = join(dir, "tile/entries/000.p/201");
  const bytes = readFileSync(file);
  let at = -1;
  for (let i = 0; i <= nth; i++) at = bytes.indexOf('"source":"erp"', at + 1);
  assert.ok(at > 0, "event found");
  bytes[at + 12] = "q".charCodeAt(0);
  writeFileSync(file, bytes);
}

test("a signed ledger audits with workers, and a forged signature is found at its event", async () => {
  const good = join(work, "good");
  ll("init", good, "--origin", "good.example/ledger");
  append(good, 200, "a");
  const ok = await page.evaluate(async (url) => {
    const r = await window.m.audit(url, {});
    return { engine: r.signatureEngine, signatures: r.stats.signatures };
  }, await serve(good));
  assert.match(ok.engine, /^webcrypto-workers:/);
  assert.equal(ok.signatures, 201);
  // Event 50 of the partial segment: every later event still chains (the verifier reads
  // on past it while the verdict is out), but the audit must fail at event 50 itself,
  // with either engine.
  const forged = join(work, "forged");
  ll("init", forged, "--origin", "forged.example/ledger");
  append(forged, 200, "a");
  forgeSignature(forged, 49);
  const url = await serve(forged);
  for (const signatures of ["auto", "wasm"]) {
    const e = await page.evaluate(async ({ url, signatures }) => {
      try {
        await window.m.audit(url, { signatures });
        return null;
      } catch (e) {
        return { code: e.code, entry: e.evidence?.entry, detail: e.evidence?.detail };
      }
    }, { url, signatures });
    assert.ok(e, `${signatures}: the forged ledger verified`);
    assert.equal(e.code, "TAMPERED");
    assert.equal(e.entry, 50, JSON.stringify(e));
    assert.match(e.detail, /signature/i);
  }
});

test("a page whose policy forbids workers still verifies, with WebCrypto on its own thread", async () => {
  // The portal's Content-Security-Policy allows no workers: the pool cannot start, and the
  // module falls back instead of failing or hanging.
  const portalDir = join(work, "csp-portal");
  cpSync(site, portalDir, { recursive: true });
  writeFileSync(join(portalDir, "csp.html"), `<!doctype html><meta http-equiv="Content-Security-Policy" content="worker-src 'none'"><title>csp</title>`);
  const cspPortal = await serve(portalDir);
  const dir = join(work, "csp-ledger");
  ll("init", dir, "--origin", "csp.example/ledger");
  append(dir, 20, "a");
  const url = await serve(dir);
  const p = await browser.newPage();
  const violations = [];
  p.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  await p.goto(`${cspPortal}/csp.html`);
  const r = await p.evaluate(async (url) => {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    const t0 = performance.now();
    const r = await m.audit(url, {});
    return { engine: r.signatureEngine, signatures: r.stats.signatures, ms: performance.now() - t0 };
  }, url);
  assert.equal(r.engine, "webcrypto");
  assert.equal(r.signatures, 21);
  assert.ok(violations.length > 0, "the policy was not in force: the test proves nothing");
  await p.close();
});
