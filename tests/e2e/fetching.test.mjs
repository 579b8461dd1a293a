// End-to-end: how the module fetches, in Chromium. Files that are known to be needed
// together are requested together (a visitor far from the server waits for round trips,
// not for bytes), each file once, and a request that fails is retried.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ll, append, serve, stopServers, launch, site } from "./helpers.mjs";

let browser, ledger, portal;

before(async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "ll-fetching-")), "ledger");
  ll("init", dir, "--origin", "example.com/fetching");
  append(dir, 600, "f"); // 601 events: two full segments and a partial one
  ledger = await serve(dir);
  portal = await serve(site);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  stopServers();
});

/**
 * Runs `call` (a function of the module and the ledger URL, as source text) in a page
 * whose `fetch` is watched. Each request gets a round: 1 + the highest round among the
 * requests that had answered when it was made. Requests made together share a round;
 * a request made only after another answered is one round later.
 */
async function watched(url, call) {
  const page = await browser.newPage();
  await page.goto(`${portal}/index.html`);
  const r = await page.evaluate(async ({ url, call }) => {
    const m = await import("./liveledger_wasm.js");
    await m.default();
    const real = globalThis.fetch;
    const log = [];
    globalThis.fetch = (input, init) => {
      // Only the ledger's files: the page's own badges fetch too.
      if (!String(input).startsWith(url + "/")) return real(input, init);
      const answered = log.filter((c) => c.answered).map((c) => c.round);
      const inFlight = 1 + log.filter((c) => !c.answered).length;
      const c = { path: String(input).slice(url.length + 1), round: 1 + Math.max(0, ...answered), answered: false, inFlight };
      log.push(c);
      const p = real(input, init);
      p.then(() => (c.answered = true), () => (c.answered = true));
      return p;
    };
    try {
      const result = await (0, eval)(call)(m, url);
      return { result, log: log.map(({ path, round, inFlight }) => ({ path, round, inFlight })) };
    } catch (e) {
      return { error: { code: e.code, message: e.message }, log };
    } finally {
      globalThis.fetch = real;
    }
  }, { url, call });
  await page.close();
  return r;
}

test("one event takes two round trips: the checkpoint with the metadata, then the segment with every tile", async () => {
  const { result, log, error } = await watched(ledger, "(m, url) => m.verifyEntry(url, 42, {}).then((r) => ({ index: r.index, requests: r.requests }))");
  assert.equal(error, undefined, JSON.stringify(error));
  assert.equal(result.index, 42);
  const rounds = (n) => log.filter((c) => c.round === n).map((c) => c.path).sort();
  assert.deepEqual(rounds(1), ["checkpoint", "metadata"], JSON.stringify(log));
  // The segment and the tiles of the right edge (a partial level-0 tile and the level-1
  // tile above): one round, whatever the order they answer in.
  assert.ok(rounds(2).includes("tile/entries/000"), JSON.stringify(log));
  assert.ok(rounds(2).filter((p) => p.startsWith("tile/0/") || p.startsWith("tile/1/")).length >= 2, JSON.stringify(log));
  assert.equal(Math.max(...log.map((c) => c.round)), 2, JSON.stringify(log));
  // Each file once, and the count the result reports is the count made.
  assert.equal(new Set(log.map((c) => c.path)).size, log.length, JSON.stringify(log));
  assert.equal(result.requests, log.length);
});

test("with the key pinned, one event needs neither the metadata nor a third round", async () => {
  const key = JSON.parse((await (await fetch(`${ledger}/metadata`)).text()).split("\n")[1]).log_keys[0];
  const { result, log, error } = await watched(ledger, `(m, url) => m.verifyEntry(url, 600, { keys: [${JSON.stringify(key)}] }).then((r) => ({ index: r.index }))`);
  assert.equal(error, undefined, JSON.stringify(error));
  assert.equal(result.index, 600);
  assert.ok(!log.some((c) => c.path === "metadata"), JSON.stringify(log));
  assert.deepEqual(log.filter((c) => c.round === 1).map((c) => c.path), ["checkpoint"]);
  assert.equal(Math.max(...log.map((c) => c.round)), 2, JSON.stringify(log));
});

test("an audit fetches each file once, keeping several in flight", async () => {
  const { result, log, error } = await watched(ledger, "(m, url) => m.audit(url, {}).then((r) => ({ entries: r.stats.entries }))");
  assert.equal(error, undefined, JSON.stringify(error));
  assert.equal(result.entries, 601);
  assert.equal(new Set(log.map((c) => c.path)).size, log.length, JSON.stringify(log));
  // Three segments and their tiles after the checkpoint, in fewer rounds than files.
  const files = log.filter((c) => c.path.startsWith("tile/"));
  assert.ok(files.length >= 4, JSON.stringify(log));
  assert.ok(Math.max(...files.map((c) => c.round)) < 1 + files.length, JSON.stringify(log));
});

test("an audit keeps its planned window of requests in flight, and no more", async () => {
  // 3,001 events: 12 segments and their tiles. The module keeps the next 8 files
  // (PREFETCH in crates/wasm) requested while it verifies one.
  const dir = join(mkdtempSync(join(tmpdir(), "ll-window-")), "ledger");
  ll("init", dir, "--origin", "example.com/window");
  append(dir, 3000, "w");
  const big = await serve(dir);
  const { result, log, error } = await watched(big, "(m, url) => m.audit(url, {}).then((r) => ({ entries: r.stats.entries }))");
  assert.equal(error, undefined, JSON.stringify(error));
  assert.equal(result.entries, 3001);
  const files = log.filter((c) => c.path.startsWith("tile/"));
  assert.ok(files.length > 12, JSON.stringify(log));
  const most = Math.max(...files.map((c) => c.inFlight));
  assert.ok(most >= 8, `at most ${most} requests were in flight at once: ${JSON.stringify(log)}`);
  assert.ok(most <= 10, `${most} requests in flight at once, beyond the window of 8 ahead`);
});

test("a request that fails once is retried, also when it was started ahead of time", async () => {
  // In front of the ledger: the first request for each file is a 503.
  const seen = new Set();
  const upstream = new URL(ledger);
  const flaky = createServer((req, res) => {
    if (!seen.has(req.url)) {
      seen.add(req.url);
      res.writeHead(503, { "Access-Control-Allow-Origin": "*" });
      res.end("try again");
      return;
    }
    const up = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { "accept-encoding": "identity" } }, (u) => {
      res.writeHead(u.statusCode, u.headers);
      u.pipe(res);
    });
    up.on("error", () => { res.writeHead(502); res.end(); });
    up.end();
  });
  const url = await new Promise((ok) => flaky.listen(0, "127.0.0.1", () => ok(`http://127.0.0.1:${flaky.address().port}`)));
  try {
    const one = await watched(url, "(m, url) => m.verifyEntry(url, 300, {}).then((r) => ({ index: r.index, requests: r.requests }))");
    assert.equal(one.error, undefined, JSON.stringify(one));
    assert.equal(one.result.index, 300);
    // Every file twice: the 503 and its retry, counted.
    const paths = one.log.map((c) => c.path);
    assert.equal(paths.length, 2 * new Set(paths).size, JSON.stringify(one.log));
    assert.equal(one.result.requests, paths.length, JSON.stringify(one));
    const all = await watched(url, "(m, url) => m.audit(url, {}).then((r) => ({ entries: r.stats.entries }))");
    assert.equal(all.error, undefined, JSON.stringify(all));
    assert.equal(all.result.entries, 601);
  } finally {
    flaky.close();
  }
});
