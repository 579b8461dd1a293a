// End-to-end: the README's first command, exactly as written there, on a clean copy of
// this checkout (what git tracks or would: no dist/, no target/, no node_modules) in a
// temporary folder. It must install what is missing, build what the demo serves and put
// the browser verifier on http://127.0.0.1:8080/, where headless Chromium must reach the
// "Verified" verdict. A second run in the same folder must build nothing again.
//
// The copy shares this checkout's cargo build cache (CARGO_TARGET_DIR), as a newcomer's
// second clone would not; everything else — the app in dist/, the embed module in
// target/embed, npm's packages, the freshness stamps — it makes for itself.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { root, launch } from "./helpers.mjs";

/** The README's demo command: the first line of its first ```sh block that runs the demo. */
function readmeDemoCommand() {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const block = readme.match(/```sh\n([\s\S]*?)```/);
  assert.ok(block, "README.md has no ```sh block");
  const line = block[1].split("\n").find((l) => /\bxtask demo\b/.test(l));
  assert.ok(line, `the README's first sh block has no demo command:\n${block[1]}`);
  return line.replace(/\s+#.*$/, "").trim();
}

/** Whether something accepts connections on 127.0.0.1:port. */
const listening = (port) => new Promise((ok) => {
  const s = createConnection({ host: "127.0.0.1", port });
  s.once("connect", () => { s.destroy(); ok(true); });
  s.once("error", () => ok(false));
});

/**
 * The files of this checkout that git tracks or would (none it ignores: no target/, dist/
 * or node_modules), as they are in the work tree, copied to `to`. On CI's fresh clone
 * that is the clone; on a developer's machine, the commit they are about to make.
 */
function cleanCopy(to) {
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const f of files) {
    const from = join(root, f);
    if (!existsSync(from)) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(to, f)), { recursive: true });
    copyFileSync(from, join(to, f));
  }
  return files.length;
}

/** The environment a user's shell would give: none of the variables `cargo run` set for us. */
function userEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("CARGO_") && k !== "CARGO_HOME") continue;
    if (k === "LIVELEDGER_BIN" || k === "LIVELEDGER_APP") continue;
    env[k] = v;
  }
  env.CARGO_TARGET_DIR = join(root, "target");
  return env;
}

let running, tmp;

/**
 * Runs `command` in `cwd` in its own process group, until `:8080` serves the ledger's
 * checkpoint; resolves with what it printed so far.
 */
function startDemo(command, cwd) {
  const p = spawn("sh", ["-c", command], { cwd, env: userEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  running = p;
  let out = "";
  const keep = (d) => { out += d; process.stderr.write(d); };
  p.stdout.on("data", keep);
  p.stderr.on("data", keep);
  return new Promise((ok, fail) => {
    p.on("exit", (c) => fail(new Error(`\`${command}\` exited (${c}) before serving:\n${out.slice(-4000)}`)));
    const poll = setInterval(async () => {
      try {
        const r = await fetch("http://127.0.0.1:8080/checkpoint");
        if (r.ok && /ledger\s+http:\/\/127\.0\.0\.1:8080\//.test(out)) { clearInterval(poll); ok(() => out); }
      } catch { /* not yet */ }
    }, 500);
    p.on("exit", () => clearInterval(poll));
  });
}

/** Stops the demo's whole process group (cargo, xtask, liveledger) and waits for it. */
async function stopDemo() {
  const p = running;
  running = undefined;
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((ok) => p.once("exit", ok));
  try { process.kill(-p.pid, "SIGTERM"); } catch { /* already gone */ }
  const t = setTimeout(() => { try { process.kill(-p.pid, "SIGKILL"); } catch { /* gone */ } }, 5000);
  await gone;
  clearTimeout(t);
  for (let i = 0; i < 50 && await listening(8080); i++) await new Promise((r) => setTimeout(r, 100));
}

after(async () => {
  await stopDemo();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("the README's demo command, on a clean copy, serves the verifier, which says Verified", async () => {
  const command = readmeDemoCommand();
  assert.equal(command, "cargo xtask demo");
  for (const port of [8080, 8081]) {
    assert.equal(await listening(port), false, `port ${port} is taken; the demo needs it`);
  }
  tmp = mkdtempSync(join(tmpdir(), "ll-readme-"));
  const checkout = join(tmp, "liveledger");
  const n = cleanCopy(checkout);
  console.log(`# readme demo: ${n} tracked files copied to ${checkout}`);
  assert.equal(existsSync(join(checkout, "dist")), false);

  const t0 = Date.now();
  const printed = await startDemo(command, checkout);
  console.log(`# readme demo: cold (shared cargo cache) to serving: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  // It said what it was doing, step by step.
  for (const step of ["[1/4] tools", "[2/4] the embed module", "[3/4] the browser verifier", "[4/4] the liveledger CLI"]) {
    assert.ok(printed().includes(step), `no "${step}" in what it printed`);
  }
  assert.ok(existsSync(join(checkout, "dist/index.html")), "it built the app into the copy's dist/");

  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto("http://127.0.0.1:8080/");
    // The verifier, not the publisher's plain landing page.
    await page.waitForSelector(".banner.ok", { timeout: 120000 });
    assert.match(await page.textContent(".banner.ok"), /Verified/);
    assert.match(await page.textContent("#verdict-text"), /All \d+ events/);
    // A fast audit shows no "0 events/s", and the time fields suggest this ledger's times.
    const line = await page.textContent(".card progress + p");
    assert.doesNotMatch(line, /\b0 events\/s/, line);
    const from = await page.getAttribute("#explorer-from", "placeholder");
    assert.match(from, /^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
    assert.ok(Math.abs(Date.parse(from + "Z") - Date.now()) < 3600e3, `the From placeholder ${from} is not the demo's own time`);
    assert.deepEqual(errors, []);
    // The example portal on the second origin embeds the badge.
    const portal = await browser.newPage();
    await portal.goto("http://127.0.0.1:8081/?ledger=http://127.0.0.1:8080/");
    await portal.waitForFunction(() => document.getElementById("live")?.getAttribute("state") === "verified", null, { timeout: 120000 });
    // The witnesses' part: the other history under forked/ is not witnessed (no witness
    // cosigns it); after three appends W3 goes down, and the digest card says so.
    const fork = await browser.newPage();
    await fork.goto(`http://127.0.0.1:8080/index.html?log=${encodeURIComponent("http://127.0.0.1:8080/forked/")}`);
    const alarm = await fork.waitForSelector(".banner.alarm", { timeout: 120000 });
    assert.equal(await alarm.getAttribute("data-code"), "QUORUM", await alarm.textContent());
    for (let i = 0; i < 300 && !/went down/.test(printed()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(printed(), /witness W3 \(\S+\) went down/);
    await new Promise((r) => setTimeout(r, 2500)); // the next digest, witnessed by W1 and W2
    const later = await browser.newPage();
    await later.goto("http://127.0.0.1:8080/");
    await later.waitForSelector(".banner.ok", { timeout: 120000 });
    const words = await later.textContent("#witnesses");
    assert.match(words, /witnessed by 2 of 3 .*W3 —; asked now: W1 holds \d+, consistent; W2 holds \d+, consistent; W3 http/, words);
  } finally {
    await browser.close();
  }
  await stopDemo();

  // A second run builds nothing again: every step says it is up to date.
  const warm = await startDemo(command, checkout);
  assert.match(warm(), /the embed module and example portal \(target\/embed\): up to date/);
  assert.match(warm(), /the browser verifier \(dist\/\): up to date/);
  assert.doesNotMatch(warm(), /\$ trunk build|\$ wasm-bindgen |\$ npm install|\$ cargo install/);
  const page = await (await launch()).newPage();
  try {
    await page.goto("http://127.0.0.1:8080/");
    await page.waitForSelector(".banner.ok", { timeout: 120000 });
  } finally {
    await page.context().browser().close();
  }
  await stopDemo();
});
