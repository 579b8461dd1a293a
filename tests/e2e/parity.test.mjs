// One verdict everywhere: a table of cases — the golden ledger, a tampered copy, metadata
// variants, wrong and rotated keys, a fork and a rollback against a checkpoint trusted
// before, a stale digest, a ledger whose metadata demands witnesses, live witnesses holding one history
// or another (a split view) or answering garbage, a log without metadata, a segment or a
// tile not served, a truncated segment, a server error, a checkpoint that changes during
// the audit — each
// verified by `liveledger verify --json`, by the JS module in Node, by the same module in
// headless Chromium, and by the page. All four must give the verdict the table says:
// verified or not, the code, the level, the failing segment.
//
// A second table does the same for the digest archive (a planted digest of another
// history, one the log did not sign, one misnamed, an index out of order, a digest newer
// than the checkpoint, no archive): `verify --history --json`, `verifyHistory` in Node
// and in Chromium give the same code, alarm and file; the page raises the same alarm. A
// third table continues from a kept resume point (a grown ledger, a larger fork, an older
// checkpoint, a damaged point): `verify --keep`, `audit` with `resume` in Node and in
// Chromium give the same verdict and say the same of the point.
//
// The cases are crafted here: metadata is rewritten and re-signed with the ledger's own
// log key (read from its key directory), as an operator could.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { createServer, request } from "node:http";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, cpSync, rmSync, readFileSync, writeFileSync, readdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, ll, append, fork, serve, stopServers, launch, site, app, splitView } from "./helpers.mjs";

const ORIGIN = "parity.example/ledger";
let work, browser, page, appUrl, module_;

// --- signed notes, as C2SP signed-note writes them --------------------------------------

const b64 = (b) => Buffer.from(b).toString("base64");
const keyId = (name, type, pub) =>
  createHash("sha256").update(Buffer.concat([Buffer.from(name + "\n"), Buffer.from([type]), pub])).digest().subarray(0, 4);

/** A signer from a `PRIVATE+KEY+name+hash+base64(type ‖ seed)` file. */
function signerFrom(secret) {
  const [, , name, , ...rest] = secret.trim().split("+");
  const raw = Buffer.from(rest.join("+"), "base64");
  const priv = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), raw.subarray(1)]), format: "der", type: "pkcs8" });
  return withPub(name, raw[0], priv);
}
function withPub(name, type, priv) {
  const pub = createPublicKey(priv).export({ format: "der", type: "spki" }).subarray(-32);
  return { name, type, priv, vkey: `${name}+${keyId(name, type, pub).toString("hex")}+${b64(Buffer.concat([Buffer.from([type]), pub]))}`, id: keyId(name, type, pub) };
}
/** A fresh cosignature/v1 (0x04) verifier key, for a witness nobody runs. */
const witnessKey = (name) => withPub(name, 0x04, generateKeyPairSync("ed25519").privateKey).vkey;
const signNote = (text, k) => `${text}\n— ${k.name} ${b64(Buffer.concat([k.id, sign(null, Buffer.from(text), k.priv)]))}\n`;
/** A cosignature/v1 line by `k` at `ts` over a note's `text`. */
function cosignLine(text, k, ts) {
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(BigInt(ts));
  return `— ${k.name} ${b64(Buffer.concat([k.id, t, sign(null, Buffer.from(`cosignature/v1\ntime ${ts}\n${text}`), k.priv)]))}\n`;
}

/** RFC 8785 for the metadata's plain values (ASCII names, integers, strings). */
const canon = (v) => Array.isArray(v) ? `[${v.map(canon).join(",")}]`
  : v && typeof v === "object" ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(",")}}`
  : JSON.stringify(v);

const readMeta = (dir) => JSON.parse(readFileSync(join(dir, "metadata"), "utf8").split("\n")[1]);
/** Rewrites `dir`'s metadata with `edit`, signed by `by` (default: the ledger's log key). */
function rewriteMeta(dir, edit, by = signerFrom(readFileSync(join(work, "golden.keys/log.key"), "utf8"))) {
  const m = readMeta(dir);
  edit(m);
  writeFileSync(join(dir, "metadata"), signNote(`liveledger/metadata/v1\n${canon(m)}\n`, by));
}

// --- the cases ----------------------------------------------------------------------------

/** name → { dir, key?, since? (a signed checkpoint), policy?, faults? (a maker of what a
 * proxy before the log answers instead of it), want: {verified, code, level, segment} } */
const cases = {};
const ok = (level) => ({ verified: true, code: null, level, segment: null });
const no = (code, segment = null) => ({ verified: false, code, level: null, segment });

function craft() {
  const golden = join(work, "golden");
  ll("init", golden, "--origin", ORIGIN, "--cadence", "3600"); // fresh for the whole test
  append(golden, 100, "a");
  const other = join(work, "other");
  fork(golden, other);
  append(other, 49, "evil"); // 150: another history after the first 101 events
  append(golden, 200, "b"); // 301: two segments
  const later = join(work, "later");
  fork(golden, later);
  append(later, 10, "c"); // 311: the same history, further on
  const logKey = readMeta(golden).log_keys[0];
  const copy = (name) => { const d = join(work, name); cpSync(golden, d, { recursive: true }); return d; };

  cases.golden = { dir: golden, want: ok("ledger") };
  cases["golden, pinned key"] = { dir: golden, key: logKey, want: ok("ledger") };
  const tampered = copy("tampered");
  const segDir = join(tampered, "tile/entries/001.p"); // segment 1: entries 256..300
  const segPath = join(segDir, readdirSync(segDir)[0]);
  const b = readFileSync(segPath);
  b[b.length - 5] ^= 1;
  writeFileSync(segPath, b);
  cases.tampered = { dir: tampered, want: no("TAMPERED", 1) };
  rewriteMeta(copy("no-entries"), (m) => delete m.entries);
  cases["metadata without entries"] = { dir: join(work, "no-entries"), want: no("BAD_INPUT") };
  rewriteMeta(copy("bad-key"), (m) => m.log_keys.push("not-a-key"));
  cases["metadata with a malformed log key"] = { dir: join(work, "bad-key"), want: no("BAD_INPUT") };
  rewriteMeta(copy("no-origin"), (m) => delete m.origin);
  cases["metadata without origin"] = { dir: join(work, "no-origin"), want: no("BAD_INPUT") };
  rewriteMeta(copy("unknown"), (m) => { m.retention = { years: 10 }; });
  cases["metadata with an unknown field"] = { dir: join(work, "unknown"), want: ok("ledger") };
  rewriteMeta(copy("opaque"), (m) => { m.entries = "opaque"; });
  cases["metadata saying opaque entries"] = { dir: join(work, "opaque"), want: ok("log") };
  const elsewhere = join(work, "elsewhere");
  ll("init", elsewhere, "--origin", "elsewhere.example/ledger");
  cases["a wrong pinned key"] = { dir: golden, key: readMeta(elsewhere).log_keys[0], want: no("BAD_SIGNATURE") };
  // The metadata names (and is signed by) a new key; the checkpoint is still the old one's.
  const rotated = copy("rotated");
  const newKey = signerFrom(readFileSync(join(work, "elsewhere.keys/log.key"), "utf8"));
  rewriteMeta(rotated, (m) => { m.log_keys = [newKey.vkey]; }, newKey);
  cases["a rotated key the checkpoint is not signed by"] = { dir: rotated, want: no("BAD_SIGNATURE") };
  cases["a fork of a checkpoint trusted before"] = { dir: golden, since: readFileSync(join(other, "checkpoint"), "utf8"), want: no("FORK") };
  cases["a rollback from a checkpoint trusted before"] = { dir: golden, since: readFileSync(join(later, "checkpoint"), "utf8"), want: no("ROLLBACK") };
  cases["a checkpoint trusted before, extended"] = { dir: later, since: readFileSync(join(golden, "checkpoint"), "utf8"), want: ok("ledger") };
  rewriteMeta(copy("witnessed"), (m) => { m.witnesses = { keys: [witnessKey("w1.example"), witnessKey("w2.example"), witnessKey("w3.example")], threshold: 2 }; });
  cases["metadata demanding 2 of 3 witnesses, none cosigned"] = { dir: join(work, "witnessed"), want: no("QUORUM") };
  // A tlog-policy in the metadata (issue #18): its quorum, one of two witnesses, unmet.
  const policy = `witness A ${witnessKey("a.example")} https://a.example/\nwitness B ${witnessKey("b.example")}\ngroup AB any A B\nquorum AB\n`;
  rewriteMeta(copy("policied"), (m) => { m.policy = policy; });
  cases["a tlog-policy in the metadata, its quorum unmet"] = { dir: join(work, "policied"), want: no("QUORUM") };
  // A policy the verifier pins (a file, an option, ?policy=) instead of the metadata's.
  cases["a pinned tlog-policy the ledger does not meet"] = { dir: golden, policy: `witness P ${witnessKey("p.example")}\nquorum P\n`, want: no("QUORUM") };
  cases["a pinned tlog-policy asking for no witnesses, over the metadata's"] = { dir: join(work, "policied"), policy: "quorum none\n", want: ok("ledger") };
  rewriteMeta(copy("bad-policy"), (m) => { m.policy = "witness A\nquorum A\n"; });
  cases["a malformed tlog-policy in the metadata"] = { dir: join(work, "bad-policy"), want: no("BAD_INPUT") };
  // A digest signed (its time key's cosignature) three hours ago, by a ledger that
  // promises one an hour: stale (core's rule, twice the cadence), for every verifier.
  const stale = copy("stale");
  const text = readFileSync(join(golden, "checkpoint"), "utf8").split("\n\n")[0] + "\n";
  const keyDir = join(work, "golden.keys");
  const logSigner = signerFrom(readFileSync(join(keyDir, "log.key"), "utf8"));
  const timeSigner = signerFrom(readFileSync(join(keyDir, "time.key"), "utf8"));
  writeFileSync(join(stale, "checkpoint"), signNote(text, logSigner) + cosignLine(text, timeSigner, Math.floor(Date.now() / 1000) - 3 * 3600));
  cases["a digest signed 3 h ago by a ledger promising one an hour"] = { dir: stale, want: no("STALE") };
  // What a log may fail to serve, or serve wrong (issue #33): one verdict for each. A file
  // the checkpoint commits to and the log does not serve is NOT_FOUND at its segment
  // (FORMAT.md, "A file the log does not serve"), whichever file it is.
  rmSync(join(copy("no-bundle"), "tile/entries/000"));
  cases["a segment the log does not serve (404)"] = { dir: join(work, "no-bundle"), want: no("NOT_FOUND", 0) };
  rmSync(join(copy("no-tile"), "tile/0/000"));
  cases["a hash tile the log does not serve (404)"] = { dir: join(work, "no-tile"), want: no("NOT_FOUND", 0) };
  const cut = copy("truncated");
  const cutPath = join(cut, "tile/entries/001.p", readdirSync(join(cut, "tile/entries/001.p"))[0]);
  writeFileSync(cutPath, readFileSync(cutPath).subarray(0, -10));
  cases["a truncated segment"] = { dir: cut, want: no("TAMPERED", 1) };
  // A server error on a segment, every time: nothing was learned about the log.
  cases["a server error (503) on a segment, every time"] = {
    dir: golden, faults: () => (path) => (path === "/tile/entries/000" ? { status: 503, body: "down" } : null), want: no("FETCH_FAILED"),
  };
  // The checkpoint changes while the audit runs (the ledger grew after the verifier read
  // it): each verifier audits the one it read, whose partial tiles the log still serves,
  // and a follower goes on to the new one.
  const first = readFileSync(join(golden, "checkpoint"));
  cases["a checkpoint that changes during the audit"] = {
    dir: later, faults: () => { let n = 0; return (path) => (path === "/checkpoint" && n++ === 0 ? { status: 200, body: first } : null); },
    want: ok("ledger"),
  };
  const bare = copy("bare");
  rmSync(join(bare, "metadata"));
  cases["no metadata, a pinned key"] = { dir: bare, key: logKey, want: ok("log") };
  cases["no metadata, no key"] = { dir: bare, want: no("NO_KEY") };
}

/** The digest history (issue #16): name → { dir, want: {verified, code, alarm, path} }. */
const histories = {};
const held = () => ({ verified: true, code: null, alarm: null, path: null });
const broken = (code, alarm, path) => ({ verified: false, code, alarm, path });

function craftHistories() {
  const golden = join(work, "golden"), other = join(work, "other");
  const index = (dir) => readFileSync(join(dir, "digests/index.txt"), "utf8").trim().split("\n").map(Number);
  const sizes = index(golden);
  assert.ok(sizes.includes(101) && sizes.includes(301), `golden's archive: ${sizes}`);
  histories["the golden archive"] = { dir: golden, want: held() };
  const copy = (name) => { const d = join(work, name); cpSync(golden, d, { recursive: true }); return d; };
  const setIndex = (dir, list) => writeFileSync(join(dir, "digests/index.txt"), [...new Set(list)].sort((a, b) => a - b).map((n) => `${n}\n`).join(""));
  // The operator slips in a digest of another history the same key signed (150 events).
  const planted = copy("h-planted");
  cpSync(join(other, "checkpoint"), join(planted, "digests/150"));
  setIndex(planted, [...sizes, 150]);
  histories["a digest of another history planted in the archive"] = { dir: planted, want: broken("FORK", "FORK", "digests/150") };
  // A digest signed by a key that is not the log's.
  const foreign = copy("h-foreign");
  const elsewhere = signerFrom(readFileSync(join(work, "elsewhere.keys/log.key"), "utf8"));
  const text = readFileSync(join(golden, "digests/101"), "utf8").split("\n\n")[0] + "\n";
  writeFileSync(join(foreign, "digests/101"), signNote(text, elsewhere));
  histories["an archived digest the log did not sign"] = { dir: foreign, want: broken("BAD_SIGNATURE", "BAD_ARCHIVE", "digests/101") };
  // digests/101 holding the digest of 301.
  const misnamed = copy("h-misnamed");
  cpSync(join(golden, "digests/301"), join(misnamed, "digests/101"));
  histories["an archived digest not where the index says"] = { dir: misnamed, want: broken("TAMPERED", "BAD_ARCHIVE", "digests/101") };
  const unsorted = copy("h-unsorted");
  writeFileSync(join(unsorted, "digests/index.txt"), "301\n101\n");
  histories["an index out of order"] = { dir: unsorted, want: broken("BAD_ARCHIVE", "BAD_ARCHIVE", "digests/index.txt") };
  // The log rolled back: its archive holds a digest of 311, its checkpoint is of 301.
  const rolled = copy("h-rolled");
  cpSync(join(work, "later", "checkpoint"), join(rolled, "digests/311"));
  setIndex(rolled, [...sizes, 311]);
  histories["an archived digest newer than the checkpoint"] = { dir: rolled, want: broken("ROLLBACK", "ROLLBACK", "digests/311") };
  const none = copy("h-none");
  rmSync(join(none, "digests"), { recursive: true });
  histories["no archive"] = { dir: none, want: broken("NOT_FOUND", null, null) };
}

const historyCli = (url) => {
  let out;
  try {
    out = execFileSync(bin, ["verify", url, "--json", "--history"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    out = e.stdout;
  }
  const j = JSON.parse(out);
  if (!j.history) return broken(j.code, null, null);
  const f = j.history.failure;
  return f ? broken(f.code, f.alarm, f.path) : held();
};

/** `verifyHistory` wherever `m` was loaded (a string to run in the page too). */
const historyOf = async (m, url) => {
  try {
    const r = await m.verifyHistory(url, { signatures: "wasm" });
    const f = r.failure;
    return f ? { verified: false, code: f.code, alarm: f.alarm, path: f.evidence?.path ?? null } : { verified: true, code: null, alarm: null, path: null };
  } catch (e) {
    return { verified: false, code: e.code, alarm: null, path: null };
  }
};

/** The page raises the history's alarm (none when the ledger has no archive). */
async function pageAlarm(url, want) {
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(`${appUrl}/index.html?${new URLSearchParams({ log: url + "/" })}`);
  await p.waitForSelector("#history-summary", { timeout: 60000 });
  // The alarm is raised as the history's result is shown; an ok banner must stay ok.
  const banner = await p.waitForSelector(want ? ".banner.alarm" : ".banner.ok", { timeout: 10000 }).catch(() => p.$(".banner"));
  const alarm = (await banner.getAttribute("class")).includes("alarm") ? await banner.getAttribute("data-code") : null;
  await context.close();
  return alarm;
}

/** Continuing from a kept resume point (issue #20): name → { dir, point, want: {verified, code, resumed} }. */
const resumes = {};

async function craftResumes() {
  const golden = join(work, "golden"), later = join(work, "later"), other = join(work, "other");
  const pointOf = async (dir) => (await module_.audit(await serve(dir), { signatures: "wasm" })).resumePoint;
  const kept = await pointOf(golden); // 301
  const keptLater = await pointOf(later); // 311
  const bigfork = join(work, "r-bigfork");
  fork(other, bigfork); // 150: another history after 101 events, by the same key
  append(bigfork, 200, "fork"); // 350
  resumes["a grown ledger, continued from its kept point"] = { dir: later, point: kept, want: { verified: true, code: null, resumed: 301 } };
  resumes["a larger fork of the kept point"] = { dir: bigfork, point: kept, want: { verified: false, code: "FORK", resumed: null } };
  resumes["an older checkpoint than the kept point"] = { dir: golden, point: keptLater, want: { verified: false, code: "ROLLBACK", resumed: null } };
  const damaged = kept.replace(/"edge":\["(.)/, (m, c) => `"edge":["${c === "A" ? "B" : "A"}`);
  resumes["a kept point whose tree edge changed"] = { dir: later, point: damaged, want: { verified: true, code: null, resumed: "discarded" } };
}

const resumedOf = (r) => (r?.from !== undefined ? r.from : r?.discarded ? "discarded" : null);

function resumeCli(url, point) {
  const f = join(work, "keep-" + createHash("sha256").update(url + point).digest("hex").slice(0, 8));
  writeFileSync(f, point);
  let out;
  try {
    out = execFileSync(bin, ["verify", url, "--json", "--keep", f], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    out = e.stdout;
  }
  const j = JSON.parse(out);
  return { verified: j.verified, code: j.code ?? null, resumed: j.verified ? resumedOf(j.resumed) : null };
}

const resumeModule = async (m, url, point) => {
  try {
    const r = await m.audit(url, { signatures: "wasm", resume: point });
    return { verified: r.verified, code: null, resumed: r.resumed?.from !== undefined ? r.resumed.from : r.resumed?.discarded ? "discarded" : null };
  } catch (e) {
    return { verified: false, code: e.code, resumed: null };
  }
};

/** A server in front of `upstream` that answers what `respond(path)` returns (status and
 * body, with CORS) and forwards every other request as it is. */
const proxies = [];
function faulty(upstream, respond) {
  const up = new URL(upstream);
  const server = createServer((req, res) => {
    const own = respond(req.url.split("?")[0]);
    if (own) {
      res.writeHead(own.status, { "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store", "Content-Type": "text/plain" });
      res.end(own.body);
      return;
    }
    const fwd = request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: { ...req.headers, host: up.host, "accept-encoding": "identity" } }, (u) => {
      res.writeHead(u.statusCode, u.headers);
      u.pipe(res);
    });
    fwd.on("error", () => { res.writeHead(502); res.end(); });
    req.pipe(fwd);
  });
  proxies.push(server);
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(`http://127.0.0.1:${server.address().port}`)));
}

// --- the verifiers ------------------------------------------------------------------------

const cli = async (url, c) => {
  const args = ["verify", url, "--json"];
  if (c.key) args.push("--key", c.key);
  if (c.since) {
    const f = join(work, "since-" + createHash("sha256").update(c.since).digest("hex").slice(0, 8));
    writeFileSync(f, c.since);
    args.push("--since", f);
  }
  if (c.policy) {
    const f = join(work, "policy-" + createHash("sha256").update(c.policy).digest("hex").slice(0, 8));
    writeFileSync(f, c.policy);
    args.push("--policy", f);
  }
  // Not execFileSync: a case's proxy runs in this process, and must answer meanwhile.
  const out = await promisify(execFile)(bin, args, { encoding: "utf8" }).then((r) => r.stdout, (e) => e.stdout);
  const j = JSON.parse(out);
  return { verified: j.verified, code: j.code ?? null, level: j.verified ? j.level : null, segment: j.failure?.segment ?? null };
};

/** The JS module's `audit`, wherever `m` was loaded; its result as the table writes it. */
async function moduleVerdict(m, url, c) {
  const opts = { signatures: "wasm" };
  if (c.key) opts.keys = [c.key];
  if (c.since) opts.since = c.since;
  if (c.policy) opts.policy = c.policy;
  try {
    const r = await m.audit(url, opts);
    // Verified data, but stale by the core's rule: every verifier fails it as STALE.
    if (r.freshness.stale) return { verified: false, code: "STALE", level: null, segment: null };
    return { verified: r.verified, code: null, level: r.level, segment: null };
  } catch (e) {
    return { verified: false, code: e.code, level: null, segment: e.evidence?.segment ?? null };
  }
}

async function chromium(url, c) {
  return page.evaluate(async ([url, c]) => {
    const opts = { signatures: "wasm" };
    if (c.key) opts.keys = [c.key];
    if (c.since) opts.since = c.since;
    if (c.policy) opts.policy = c.policy;
    try {
      const r = await window.m.audit(url, opts);
      if (r.freshness.stale) return { verified: false, code: "STALE", level: null, segment: null };
      return { verified: r.verified, code: null, level: r.level, segment: null };
    } catch (e) {
      return { verified: false, code: e.code, level: null, segment: e.evidence?.segment ?? null };
    }
  }, [url, { key: c.key, since: c.since, policy: c.policy }]);
}

/** The page: a browser profile that verified `since` on an earlier visit, if given. */
async function thePage(url, c) {
  const context = await browser.newContext();
  const log = url + "/";
  if (c.since) {
    const size = Number(c.since.split("\n")[1]);
    await context.addInitScript(([k, v]) => { if (!localStorage.getItem(k + ":set")) { localStorage.setItem(k, v); localStorage.setItem(k + ":set", "1"); } },
      [`liveledger:last:${log}`, JSON.stringify({ note: c.since, size })]);
  }
  const p = await context.newPage();
  const q = new URLSearchParams({ log });
  if (c.key) q.set("key", c.key);
  if (c.policy) q.set("policy", c.policy);
  await p.goto(`${appUrl}/index.html?${q}`);
  const banner = await p.waitForSelector(".banner.ok, .banner.alarm", { timeout: 60000 });
  const okay = (await banner.getAttribute("class")).includes("ok");
  const seg = await banner.getAttribute("data-segment");
  const r = okay
    ? { verified: true, code: null, level: await banner.getAttribute("data-level"), segment: null }
    : { verified: false, code: await banner.getAttribute("data-code"), level: null, segment: seg === null ? null : Number(seg) };
  await context.close();
  return r;
}

before(async () => {
  assert.ok(existsSync(join(app, "index.html")), `build the app first (cargo xtask app): ${app}`);
  work = mkdtempSync(join(tmpdir(), "ll-parity-"));
  craft();
  craftHistories();
  // Live witnesses (issue #18): the split-view rule, the same in every verifier.
  const wa = join(work, "live-a"), wb = join(work, "live-b");
  await splitView(wa, wb, "split.parity.example/ledger");
  cases["live witnesses: its 1-of-2 policy met, the views consistent or unprovable"] = { dir: wa, want: ok("ledger") };
  cases["live witnesses: a split view, a witness holds another history"] = { dir: wb, want: no("FORK") };
  // A witness whose monitoring read answers garbage: it proves nothing either way (a note,
  // core's audit::views), and the quorum, met by the cosignatures served, still holds.
  const garbage = await faulty("http://127.0.0.1:9", () => ({ status: 200, body: "garbage\n\u0000 not a signed note\n" }));
  const garbled = readFileSync(`${wa}.policy`, "utf8").replace(/http:\/\/127\.0\.0\.1:\d+\//, `${garbage}/`);
  assert.notEqual(garbled, readFileSync(`${wa}.policy`, "utf8"));
  cases["live witnesses: one answers garbage"] = { dir: wa, policy: garbled, want: ok("ledger") };
  browser = await launch();
  const portal = await serve(site);
  appUrl = await serve(app);
  page = await browser.newPage();
  await page.goto(`${portal}/index.html`);
  await page.evaluate(async () => {
    window.m = await import("./liveledger_wasm.js");
    await window.m.default();
  });
  module_ = await import(join(site, "liveledger_wasm.js"));
  await module_.default({ module_or_path: readFileSync(join(site, "liveledger_wasm_bg.wasm")) });
});

after(async () => {
  await browser?.close();
  stopServers();
  for (const p of proxies) p.close();
});

test("every verifier gives every case the verdict of the table", async () => {
  const rows = [];
  for (const [name, c] of Object.entries(cases)) {
    // A case with faults puts a proxy of its own before each verifier (its state fresh).
    const upstream = await serve(c.dir);
    const url = async () => (c.faults ? faulty(upstream, c.faults()) : upstream);
    const got = {
      cli: await cli(await url(), c),
      node: await moduleVerdict(module_, await url(), c),
      chromium: await chromium(await url(), c),
      page: await thePage(await url(), c),
    };
    for (const [who, v] of Object.entries(got)) {
      rows.push(`${name} | ${who} | ${JSON.stringify(v)}`);
      assert.deepEqual(v, c.want, `${name}: ${who} says ${JSON.stringify(v)}, the table ${JSON.stringify(c.want)}`);
    }
  }
  console.log("# " + rows.join("\n# "));
  assert.equal(Object.keys(cases).length, 29);
});

test("every verifier gives every digest-history case the verdict of the table", async () => {
  const rows = [];
  for (const [name, c] of Object.entries(histories)) {
    const url = await serve(c.dir);
    const got = {
      cli: historyCli(url),
      node: await historyOf(module_, url),
      chromium: await page.evaluate(`(${historyOf})(window.m, ${JSON.stringify(url)})`),
    };
    for (const [who, v] of Object.entries(got)) {
      rows.push(`${name} | ${who} | ${JSON.stringify(v)}`);
      assert.deepEqual(v, c.want, `${name}: ${who} says ${JSON.stringify(v)}, the table ${JSON.stringify(c.want)}`);
    }
    // The page: the alarm the table says, and none where the ledger has no archive.
    const alarm = await pageAlarm(url, c.want.alarm);
    rows.push(`${name} | page | ${alarm}`);
    assert.equal(alarm, c.want.alarm, `${name}: the page raises ${alarm}`);
  }
  console.log("# " + rows.join("\n# "));
  assert.equal(Object.keys(histories).length, 7);
});

test("every verifier continues from a kept resume point as the table says", async () => {
  await craftResumes();
  const rows = [];
  for (const [name, c] of Object.entries(resumes)) {
    const url = await serve(c.dir);
    const got = {
      cli: resumeCli(url, c.point),
      node: await resumeModule(module_, url, c.point),
      chromium: await page.evaluate(`(${resumeModule})(window.m, ${JSON.stringify(url)}, ${JSON.stringify(c.point)})`),
    };
    for (const [who, v] of Object.entries(got)) {
      rows.push(`${name} | ${who} | ${JSON.stringify(v)}`);
      assert.deepEqual(v, c.want, `${name}: ${who} says ${JSON.stringify(v)}, the table ${JSON.stringify(c.want)}`);
    }
  }
  console.log("# " + rows.join("\n# "));
  assert.equal(Object.keys(resumes).length, 4);
});
