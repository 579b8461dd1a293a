// <live-ledger-verify src="https://ledger.example.org/" key="name+hash+base64" [event="42"] [live]>
//
// A badge that verifies a Live Ledger (or any C2SP tlog-tiles log) in the visitor's own
// browser: "verifying…", then "verified N events · digest 12 s old", or an alarm.
// Fires `verified` (detail: the result) and `alarm` (detail: the LedgerError) DOM events.
// Theme it with CSS custom properties: --ll-ok, --ll-alarm, --ll-pending, --ll-bg,
// --ll-fg, --ll-radius, --ll-font.
import init, { audit, follow, verifyEntry } from "./liveledger_wasm.js";

const ready = init();

const STYLE = `
:host { display: inline-block; font: var(--ll-font, 600 14px/1.3 system-ui, sans-serif); }
.badge { display: inline-flex; align-items: center; gap: .5em; padding: .35em .75em;
  border-radius: var(--ll-radius, 999px); background: var(--ll-bg, #f6f8fa);
  color: var(--ll-fg, #1f2328); border: 2px solid var(--ll-pending, #9a6700); }
.badge[data-state="verified"] { border-color: var(--ll-ok, #1a7f37); }
.badge[data-state="alarm"] { border-color: var(--ll-alarm, #cf222e); }
.icon { font-size: 1.1em; }
.badge[data-state="verified"] .icon { color: var(--ll-ok, #1a7f37); }
.badge[data-state="alarm"] .icon { color: var(--ll-alarm, #cf222e); }
.detail { font-weight: 400; opacity: .85; }
`;

const ICON = { pending: "…", verified: "✔", alarm: "⚠" };
const WORD = { pending: "Verifying", verified: "Verified", alarm: "Alarm" };

function age(seconds) {
  if (seconds == null) return "";
  const s = Math.max(0, Math.round(Date.now() / 1000 - seconds));
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

export class LiveLedgerVerify extends HTMLElement {
  static observedAttributes = ["src", "key", "policy", "event", "live"];

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = `<style>${STYLE}</style><span class="badge" part="badge" role="status" aria-live="polite" data-state="pending"><span class="icon" aria-hidden="true"></span><span class="word"></span> <span class="detail"></span></span>`;
    this.badge = root.querySelector(".badge");
    this.state = "pending";
    this.result = null;
  }

  // Attributes set before the element upgrades, and its connection, arrive as several
  // callbacks in a row: coalesce them into one start, so one badge runs one verification.
  connectedCallback() { this.schedule(); }
  disconnectedCallback() { this.controller?.abort(); clearInterval(this.ticker); }
  attributeChangedCallback(name, before, after) { if (before !== after && this.isConnected) this.schedule(); }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => { this.scheduled = false; if (this.isConnected) this.start(); });
  }

  show(state, detail, title) {
    this.state = state;
    this.badge.dataset.state = state;
    this.badge.querySelector(".icon").textContent = ICON[state];
    this.badge.querySelector(".word").textContent = WORD[state];
    this.badge.querySelector(".detail").textContent = detail;
    this.badge.title = title || "";
    this.setAttribute("state", state);
  }

  verified(r) {
    this.render(r);
    this.dispatchEvent(new CustomEvent("verified", { detail: r, bubbles: true, composed: true }));
  }

  render(r) {
    this.result = r;
    const cp = r.checkpoint;
    const n = cp.size;
    const when = cp.signedTime != null ? ` · digest ${age(cp.signedTime)} old` : "";
    // The core's limit (twice the ledger's cadence), against the age now: a badge left
    // open goes stale when the ledger stops publishing.
    const limit = r.freshness?.staleAfterSeconds;
    if (limit != null && cp.signedTime != null && Date.now() / 1000 - cp.signedTime > limit) {
      this.show("alarm", `stale · digest ${age(cp.signedTime)} old, beyond ${limit} s`, `${cp.origin}: STALE, the ledger promised a digest at least every ${limit / 2} s`);
    } else {
      this.show("verified", `${n} ${n === 1 ? "event" : "events"}${when}`, `${cp.origin} at size ${n}, root ${cp.root}, trust: ${r.trust}`);
    }
    this.setAttribute("size", String(n));
  }

  alarm(e) {
    if (e && e.code === "ABORTED") return;
    const where = e?.evidence?.segment != null ? ` (segment ${e.evidence.segment})` : "";
    const what = { TAMPERED: "tampered", FORK: "forked", ROLLBACK: "rolled back", BAD_SIGNATURE: "bad signature",
      INCLUSION_FAILED: "not included", FETCH_FAILED: "unreachable", NOT_FOUND: "missing data", QUORUM: "not witnessed" }[e?.code] || (e?.code || "error").toLowerCase();
    this.show("alarm", `${what}${where}`, e?.message || String(e));
    this.dispatchEvent(new CustomEvent("alarm", { detail: e, bubbles: true, composed: true }));
  }

  async start() {
    this.controller?.abort();
    clearInterval(this.ticker);
    const src = this.getAttribute("src");
    if (!src) return;
    const controller = (this.controller = new AbortController());
    const key = this.getAttribute("key");
    const opts = { signal: controller.signal };
    if (key) opts.keys = [key];
    // A C2SP tlog-policy (its text) whose witness quorum the ledger's checkpoints must meet,
    // instead of the one in the ledger's metadata.
    const policy = this.getAttribute("policy");
    if (policy) opts.policy = policy;
    this.show("pending", "…");
    try {
      await ready;
      if (this.hasAttribute("event")) {
        const r = await verifyEntry(src, Number(this.getAttribute("event")), opts);
        if (controller.signal.aborted) return;
        this.result = r;
        this.show("verified", `event ${r.index} is in the ledger of ${r.checkpoint.size}`, `root ${r.checkpoint.root}`);
        this.dispatchEvent(new CustomEvent("verified", { detail: r, bubbles: true, composed: true }));
      } else if (this.hasAttribute("live")) {
        this.ticker = setInterval(() => this.result && this.state === "verified" && this.render(this.result), 5000);
        await follow(src, { ...opts, intervalMs: Number(this.getAttribute("interval") || 3000), onDigest: (r) => this.verified(r) });
      } else {
        const r = await audit(src, opts);
        if (!controller.signal.aborted) this.verified(r);
      }
    } catch (e) {
      if (!controller.signal.aborted) this.alarm(e);
    }
  }
}

if (!customElements.get("live-ledger-verify")) customElements.define("live-ledger-verify", LiveLedgerVerify);
