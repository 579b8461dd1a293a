//! The static HTML a publisher writes beside the log: one page per digest, an index of
//! digests, and a landing page. Plain HTML and CSS, no script: readable anywhere, and the
//! browser verifier does the verifying.

use liveledger_core::hash::Hash;
use liveledger_core::note::VerifiedNote;

pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}\
code,pre{font:14px ui-monospace,monospace;overflow-wrap:anywhere}pre{background:#f4f6f8;padding:1rem;border-radius:6px;white-space:pre-wrap}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #d8dee4;vertical-align:top}\
a{color:#0a58ca}.ok{color:#116329}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

fn rfc3339(secs: u64) -> String {
    liveledger_core::time::Timestamp::from_unix(secs as i64, 0)
        .map_or_else(|| secs.to_string(), |t| t.to_string())
}

/// The page for the digest of `size`.
pub fn digest_page(
    origin: &str,
    size: u64,
    note: &VerifiedNote,
    previous: Option<u64>,
    proof: Option<&[Hash]>,
) -> String {
    let cp = liveledger_core::checkpoint::Checkpoint::parse(note.text()).ok();
    let root = cp.as_ref().map(|c| c.root).unwrap_or_default();
    let mut sigs = String::new();
    for s in note.note().signatures() {
        let v = note
            .verified()
            .iter()
            .find(|v| v.key.name() == s.name && v.key.id() == s.key_id);
        let what = match v {
            Some(v) => match v.timestamp {
                Some(t) => format!("cosignature, time {}", rfc3339(t)),
                None => "log signature".into(),
            },
            None => "not checked here (unknown key)".into(),
        };
        sigs.push_str(&format!(
            "<tr><td><code>{}+{:08x}</code></td><td>{}</td></tr>",
            escape(&s.name),
            s.key_id,
            escape(&what)
        ));
    }
    let time = note
        .verified()
        .iter()
        .filter_map(|v| v.timestamp)
        .max()
        .map(rfc3339);
    let prev = match (previous, proof) {
        (Some(p), Some(proof)) => {
            let hashes: Vec<String> = proof.iter().map(|h| h.to_base64()).collect();
            format!(
                "<h2>Consistency with the previous digest</h2><p>This digest extends <a href=\"{p}.html\">digest {p}</a>. \
RFC 6962 consistency proof from size {p} to {size} ({} hashes):</p><pre>{}</pre>",
                proof.len(),
                escape(&hashes.join("\n"))
            )
        }
        _ => "<p>This is the first digest of the ledger.</p>".into(),
    };
    let body = format!(
        "<p><a href=\"index.html\">All digests</a> · <a href=\"../index.html?digest={size}\">Verify in your browser</a></p>\
<h1>Digest {size} of <code>{o}</code></h1>\
<table><tr><th>Origin</th><td><code>{o}</code></td></tr><tr><th>Size</th><td>{size} events</td></tr>\
<tr><th>Root</th><td><code>{rb}</code><br><code>{rh}</code></td></tr><tr><th>Signed time</th><td>{t}</td></tr></table>\
<h2>Signatures</h2><table>{sigs}</table>{prev}\
<h2>The signed digest</h2><p>Download: <a href=\"{size}\">digests/{size}</a></p><pre>{n}</pre>",
        o = escape(origin),
        rb = root.to_base64(),
        rh = root.to_hex(),
        t = time.unwrap_or_else(|| "none".into()),
        n = escape(&String::from_utf8_lossy(&note.note().to_bytes())),
    );
    page(&format!("Digest {size} of {origin}"), &body)
}

/// The index of every digest, newest first.
pub fn digest_index(origin: &str, sizes: &[u64]) -> String {
    let rows: String = sizes
        .iter()
        .rev()
        .map(|s| format!("<tr><td><a href=\"{s}.html\">digest {s}</a></td><td><a href=\"{s}\">signed note</a></td></tr>"))
        .collect();
    page(
        &format!("Digests of {origin}"),
        &format!("<h1>Digests of <code>{}</code></h1><p>{} digests, newest first.</p><table>{rows}</table>", escape(origin), sizes.len()),
    )
}

/// A landing page, until the browser verifier is installed in its place.
pub fn landing(origin: &str) -> String {
    page(
        origin,
        &format!(
            "<h1><code>{}</code></h1><p>A Live Ledger. The signed digest is <a href=\"checkpoint\">checkpoint</a>; \
every digest is archived in <a href=\"digests/index.html\">digests</a>. Verify it with \
<code>liveledger verify URL</code>.</p>",
            escape(origin)
        ),
    )
}
