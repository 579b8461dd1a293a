// End-to-end: a split view caught in the browser. An operator has witness W1 cosign one
// history and witness W2 (which never saw it) another, from the same log key; each
// history alone meets its 1-of-2 quorum. The module (in Node and in Chromium) and the page
// ask both witnesses what they hold, and the second history's visitors get FORK, with the
// witness named in the evidence. Witnesses are `liveledger witness serve` on 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { readFileSync } from "node:fs";
import { bin, ll, append, fork, serve, stopServers, launch, app, site } from "./helpers.mjs";

let browser, work, appUrl, urls = {};
const witnesses = [];

const freePort = () => new Promise((ok) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); }); });

/** `liveledger witness serve` on `port`; resolves once it listens. */
function witness(wdir, key, port) {
  const p = spawn(bin, ["witness", "serve", wdir, "--addr", `127.0.0.1:${port}`, "--no-access-log", "--log", key], { stdio: ["ignore", "pipe", "inherit"] });
  witnesses.push(p);
  return new Promise((ok, fail) => {
    p.stdout.once("data", () => ok(p));
    p.on("exit", (c) => fail(new Error(`witness exited ${c}`)));
  });
}
const stop = (p) => new Promise((ok) => { p.once("exit", ok); p.kill(); });

before(async () => {
  assert.ok(existsSync(join(app, "index.html")), `build the app first (cargo xtask app): ${app}`);
  work = mkdtempSync(join(tmpdir(), "ll-witnesses-"));
  browser = await launch();
  appUrl = await serve(app);
  const a = join(work, "a"), b = join(work, "b");
  ll("init", a, "--origin", "split.example/ledger");
  append(a, 20, "shared");
  const key = JSON.parse(execFileSync(bin, ["verify", a, "--json"], { encoding: "utf8" })).keys[0];
  const vkeys = [1, 2].map((i) => ll("witness", "init", join(work, `w${i}`), "--name", `w${i}.example`).trim().split("\n").pop());
  const [p1, p2] = [await freePort(), await freePort()];
  const w1 = await witness(join(work, "w1"), key, p1);
  writeFileSync(join(work, "policy"), `witness W1 ${vkeys[0]} http://127.0.0.1:${p1}/\nwitness W2 ${vkeys[1]} http://127.0.0.1:${p2}/\ngroup g any W1 W2\nquorum g\n`);
  const quick = { ...process.env, LIVELEDGER_WITNESS_TIMEOUT_MS: "500" };
  execFileSync(bin, ["policy", a, join(work, "policy")], { env: quick });
  fork(a, b);
  execFileSync(bin, ["append", a], { env: quick, input: JSON.stringify({ kind: "payment", source: "erp", key: "inv/A", body: { amount: "1.00" } }) + "\n" });
  await stop(w1);
  await witness(join(work, "w2"), key, p2);
  execFileSync(bin, ["append", b], { env: quick, input: Array.from({ length: 5 }, (_, i) => JSON.stringify({ kind: "payment", source: "erp", key: `inv/B${i}`, body: { amount: "2.00" } })).join("\n") });
  await witness(join(work, "w1"), key, p1);
  urls.a = await serve(a);
  urls.b = await serve(b);
});

after(async () => {
  await browser?.close();
  for (const p of witnesses) p.kill();
  stopServers();
});

test("the module in Node catches the split view, and says which witness holds the other history", async () => {
  const m = await import(pathToFileURL(join(site, "liveledger_wasm.js")));
  await m.default({ module_or_path: readFileSync(join(site, "liveledger_wasm_bg.wasm")) });
  const ok = await m.audit(urls.a + "/", {});
  assert.equal(ok.verified, true);
  assert.equal(ok.witnesses.views[0].consistent, true, JSON.stringify(ok.witnesses));
  await assert.rejects(m.audit(urls.b + "/", {}), (e) => {
    assert.equal(e.code, "FORK", e.message);
    assert.equal(e.evidence.witness, "W1", JSON.stringify(e.evidence));
    return true;
  });
  const skipped = await m.audit(urls.b + "/", { witnessCheck: false });
  assert.equal(skipped.verified, true, "alone, the other history meets its quorum");
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
