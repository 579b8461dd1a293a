// What a portal gets wrong, each line an error `tsc --strict` must report (the test
// counts them): were the exports typed `any`, none would be.
import { audit, verifyCheckpoint, verifyEntry, verifySignatures, type AuditResult } from "./liveledger_wasm.js";

export async function misuse(url: string): Promise<void> {
  await audit(url, { keys: "not-a-list" });
  await audit(url, { signatures: "gpu" });
  const size: string = (await audit(url, undefined)).checkpoint.size;
  const r: AuditResult = await verifyEntry(url, 0, undefined);
  verifyCheckpoint("note", [1, 2]);
  await verifySignatures([{ key: "00" }], undefined);
  void size;
  void r;
}
