// A portal written in TypeScript, as its authors would: every export of the module, with
// its options and its result used as typed. `types.test.mjs` compiles it with `tsc
// --strict` against the module's .d.ts; nothing here runs.
import init, {
  audit,
  follow,
  signatureEngine,
  verifyCheckpoint,
  verifyEntry,
  verifyHistory,
  verifyReceipt,
  verifySignatures,
  version,
  type AuditResult,
  type CheckpointResult,
  type EntryResult,
  type HistoryResult,
  type LedgerError,
  type LedgerErrorCode,
  type LedgerOptions,
  type VerifierKey,
} from "./liveledger_wasm.js";

export async function portal(url: string, key: VerifierKey): Promise<string[]> {
  await init();
  const said: string[] = [`module ${version()}`];
  const opts: LedgerOptions = { keys: [key], signatures: "auto", onProgress: (p) => said.push(`${p.verified}/${p.size}`) };
  const r: AuditResult = await audit(url, opts);
  said.push(`${r.checkpoint.size} entries, root ${r.checkpoint.rootHex}, trust ${r.trust}`);
  if (r.freshness.stale) said.push(`stale after ${r.freshness.staleAfterSeconds ?? 0} s`);
  for (const w of r.witnesses?.list ?? []) said.push(`${w.name}: ${w.cosigned}`);
  const cp: CheckpointResult = verifyCheckpoint(r.checkpoint.note, [key], null);
  said.push(cp.origin);
  const one: EntryResult = await verifyEntry(url, 0, { keys: [key] });
  const again: EntryResult = verifyReceipt(one.receipt, [key]);
  said.push(`${again.index} ${again.leafHash} ${again.proof.length}`);
  const h: HistoryResult = await verifyHistory(url, { keys: [key], limit: 10 });
  if (h.failure) said.push(`${h.failure.alarm}: ${h.failure.message}`);
  const engine: string = await signatureEngine({ signatures: "wasm" });
  const verdicts: boolean[] = await verifySignatures([{ key: "00".repeat(32), signature: "00".repeat(64), message: "" }], undefined);
  said.push(engine, String(verdicts[0]));
  const controller = new AbortController();
  const done: undefined = await follow(url, {
    keys: [key],
    signal: controller.signal,
    intervalMs: 3000,
    onDigest: (d: AuditResult) => said.push(String(d.checkpoint.size)),
    onAlarm: (e: LedgerError) => {
      const code: LedgerErrorCode = e.code;
      said.push(code);
    },
  });
  said.push(String(done));
  return said;
}
