// End-to-end: a split view caught in the browser. An operator has witness W1 cosign one
// history and witness W2 (which never saw it) another, from the same log key; each
// history alone meets its 1-of-2 quorum. The module (in Node and in Chromium) and the page
// ask both witnesses what they hold, and the second history's visitors get FORK, with the
// witness named in the evidence. Witnesses are `liveledger witness serve` on 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { mkdtempSync } from "node:fs";
import { serve, stopServers, launch, app, site, splitView } from "./helpers.mjs";

let browser, work, appUrl, urls = {};

before(async () => {
  assert.ok(existsSync(join(app, "index.html")), `build the app first (cargo xtask app): ${app}`);
  work = mkdtempSync(join(tmpdir(), "ll-witnesses-"));
  browser = await launch();
  appUrl = await serve(app);
  const a = join(work, "a"), b = join(work, "b");
  await splitView(a, b, "split.example/ledger");
  urls.a = await serve(a);
  urls.b = await serve(b);
});

after(async () => {
  await browser?.close();
  stopServers();
});

test("the module in Node catches the split view, and says which witness holds the other history", async () => {
  const m = await import(pathToFileURL(join(site, "liveledger_wasm.js")));
  await m.default({ module_or_path: readFileSync(join(site, "liveledger_wasm_bg.wasm")) });
  const ok = await m.audit(urls.a + "/", {});
  assert.equal(ok.verified, true);
  assert.equal(ok.witnesses.views[0].consistent, true, JSON.stringify(ok.witnesses));
  // W2 holds b's larger tree (26 entries, a's has 22), whose tiles a's log does not serve: said, not failed.
  assert.equal(ok.witnesses.views[1].consistent, null);
  assert.match(ok.witnesses.views[1].note, /holds size 26; its consistency with the log's 22 could not be checked/);
  await assert.rejects(m.audit(urls.b + "/", {}), (e) => {
    assert.equal(e.code, "FORK", e.message);
    assert.equal(e.evidence.witness, "W1", JSON.stringify(e.evidence));
    return true;
  });
  const skipped = await m.audit(urls.b + "/", { witnessCheck: false });
  assert.equal(skipped.verified, true, "alone, the other history meets its quorum");
  // ... by W2's ML-DSA-44 (subtree/v1) cosignature, verified in Wasm.
  assert.deepEqual(skipped.witnesses.list.map((w) => [w.name, w.cosigned]), [["W1", false], ["W2", true]], JSON.stringify(skipped.witnesses));
});

test("the page shows the fork alarm for the history a witness does not hold", async () => {
  for (const [which, want] of [["a", "ok"], ["b", "alarm"]]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${appUrl}/index.html?log=${encodeURIComponent(urls[which] + "/")}`);
    const banner = await page.waitForSelector(".banner.ok, .banner.alarm", { timeout: 60000 });
    const cls = await banner.getAttribute("class");
    assert.ok(cls.includes(want), `${which}: ${cls}: ${await banner.textContent()}`);
    if (want === "alarm") assert.equal(await banner.getAttribute("data-code"), "FORK");
    else assert.match(await page.textContent("#witnesses"), /witnessed by 1 of 2/);
    await context.close();
  }
});
