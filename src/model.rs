//! The page's pure logic: progress, the segment heat-map, freshness, alarms in words.
//! No DOM here, so it is tested in Node as well as in Chromium.

use serde_json::Value;

/// Audit progress.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    pub entries: u64,
    pub size: u64,
    pub bytes: u64,
    /// Events per second of the audit so far.
    pub rate: f64,
}

impl Progress {
    pub fn from_json(p: &Value, seconds: f64) -> Progress {
        Progress {
            entries: p["entries"].as_u64().unwrap_or(0),
            size: p["size"].as_u64().unwrap_or(0),
            bytes: p["bytes"].as_u64().unwrap_or(0),
            rate: if seconds > 0.0 {
                p["entries"].as_f64().unwrap_or(0.0) / seconds
            } else {
                0.0
            },
        }
    }

    pub fn describe(&self) -> String {
        if self.size == 0 {
            return "Starting…".into();
        }
        format!(
            "{} of {} events verified · {:.1} MB · {:.0} events/s",
            self.entries,
            self.size,
            self.bytes as f64 / 1e6,
            self.rate
        )
    }
}

/// One segment (entry bundle) of the heat-map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    Pending,
    Verified,
    Failed,
}

impl Cell {
    pub fn class(&self) -> &'static str {
        match self {
            Cell::Pending => "pending",
            Cell::Verified => "verified",
            Cell::Failed => "failed",
        }
    }
    pub fn word(&self) -> &'static str {
        match self {
            Cell::Pending => "pending",
            Cell::Verified => "verified",
            Cell::Failed => "failed",
        }
    }
}

fn segments(size: u64) -> usize {
    size.div_ceil(256) as usize
}

/// The auditor finished reading `segment` of a ledger of `size`: it and all before it
/// are verified (segments are verified in order).
pub fn advance(cells: &mut Vec<Cell>, size: u64, segment: u64) {
    cells.resize(segments(size).max(cells.len()), Cell::Pending);
    for c in cells.iter_mut().take(segment as usize + 1) {
        if *c != Cell::Failed {
            *c = Cell::Verified;
        }
    }
}

/// A digest of `size` verified: every segment is.
pub fn all_verified(cells: &mut Vec<Cell>, size: u64) {
    cells.resize(segments(size), Cell::Pending);
    for c in cells.iter_mut() {
        if *c != Cell::Failed {
            *c = Cell::Verified;
        }
    }
}

pub fn mark_failed(cells: &mut Vec<Cell>, segment: u64) {
    let i = segment as usize;
    if cells.len() <= i {
        cells.resize(i + 1, Cell::Pending);
    }
    cells[i] = Cell::Failed;
}

pub fn heatmap_label(cells: &[Cell]) -> String {
    let n = |k| cells.iter().filter(|c| **c == k).count();
    format!(
        "{} segments: {} verified, {} pending, {} failed",
        cells.len(),
        n(Cell::Verified),
        n(Cell::Pending),
        n(Cell::Failed)
    )
}

/// How old a digest is against the ledger's published cadence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    Unknown,
    Fresh(u64),
    Stale(u64),
}

/// Stale when older than twice the cadence (one missed publication is tolerated).
pub fn freshness(age_seconds: Option<f64>, cadence_seconds: Option<f64>) -> Freshness {
    match age_seconds {
        None => Freshness::Unknown,
        Some(a) => {
            let a = a.max(0.0);
            let limit = cadence_seconds.unwrap_or(3600.0) * 2.0;
            if a > limit {
                Freshness::Stale(a as u64)
            } else {
                Freshness::Fresh(a as u64)
            }
        }
    }
}

pub fn signers(checkpoint: &Value) -> String {
    let Some(sigs) = checkpoint["signatures"].as_array() else {
        return "…".into();
    };
    sigs.iter()
        .map(|s| {
            let k = s["key"].as_str().unwrap_or("?");
            match s["kind"].as_str() {
                Some("cosignature") => format!("{k} (cosignature)"),
                _ => format!("{k} (log)"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn alarm_title(code: &str) -> &'static str {
    match code {
        "TAMPERED" => "Tampered",
        "FORK" => "Forked",
        "ROLLBACK" => "Rolled back",
        "BAD_SIGNATURE" => "Bad signature",
        "KEY_CHANGED" => "Key changed",
        "FETCH_FAILED" | "NOT_FOUND" => "Unreachable",
        _ => "Cannot verify",
    }
}

pub fn alarm_explanation(code: &str, segment: Option<u64>) -> String {
    match (code, segment) {
        ("TAMPERED", Some(s)) => format!("The ledger's data does not match what was signed: segment {s} was changed after it was published."),
        ("TAMPERED", None) => "The ledger's data does not match what was signed.".into(),
        ("FORK", _) => "The ledger published a digest that does not extend the one verified before: it shows different histories to different people.".into(),
        ("ROLLBACK", _) => "The ledger went back to an older, smaller digest than one already verified: events were removed.".into(),
        ("BAD_SIGNATURE", _) => "A signature does not verify with the ledger's key.".into(),
        ("KEY_CHANGED", _) => "The ledger is no longer signed by the key this browser trusted on its first visit. A key change must be announced by the operator; until you confirm it, nothing from this ledger is trusted.".into(),
        ("FETCH_FAILED" | "NOT_FOUND", _) => "The ledger could not be fetched. Nothing was verified; try again later.".into(),
        _ => "The ledger could not be verified.".into(),
    }
}

/// Compares the digest verified now with the one this browser verified before for the
/// same ledger: a smaller size is a rollback, the same size with another root a fork.
/// Returns the alarm (with both digests as evidence), if any.
pub fn compare_with_memory(before: &Value, now: &Value) -> Option<Value> {
    let (b, n) = (before["size"].as_u64()?, now["size"].as_u64()?);
    let code = if n < b {
        "ROLLBACK"
    } else if n == b && before["root"] != now["root"] {
        "FORK"
    } else {
        return None;
    };
    Some(serde_json::json!({
        "code": code,
        "message": format!("this browser verified a digest of size {b} before; the ledger now shows size {n}"),
        "evidence": {"oldCheckpoint": before["note"], "newCheckpoint": now["note"]},
    }))
}
