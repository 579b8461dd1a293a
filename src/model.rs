//! The page's pure logic: progress, the segment heat-map, freshness, alarms in words.
//! No DOM here, so it is tested in Node as well as in Chromium.

use liveledger_wasm::{CheckpointResult, HistoryResult, Resumed, WitnessReport};

/// Audit progress.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    pub entries: u64,
    pub size: u64,
    pub bytes: u64,
    /// Seconds the full audit has run so far (or took, once it is `done`).
    pub seconds: f64,
    /// Events the full audit verified in those seconds (events verified later, by live
    /// following, count in `entries` but not in the rate).
    pub audited: u64,
    /// The full audit has finished.
    pub done: bool,
}

/// A rate measured over less than this is noise (a small ledger audits in a few
/// milliseconds, and the first callback comes before anything is verified).
pub const MIN_RATE_SECONDS: f64 = 1.0;

impl Progress {
    /// From the verifier's `on_progress`: its `verified` count (entries read can run a few
    /// segments ahead of their signatures' verdicts).
    pub fn from_module(p: &liveledger_wasm::Progress, seconds: f64) -> Progress {
        Progress {
            entries: p.verified,
            size: p.size,
            bytes: p.bytes,
            seconds,
            audited: p.verified,
            done: false,
        }
    }

    /// The full audit finished after `seconds`, `size` events verified.
    pub fn finish(&mut self, size: u64, seconds: f64) {
        if !self.done {
            (self.seconds, self.audited, self.done) = (seconds, size, true);
        }
        self.entries = size;
        self.size = size;
    }

    /// Events verified per second, only when it means something: something was verified,
    /// over at least [`MIN_RATE_SECONDS`].
    pub fn rate(&self) -> Option<f64> {
        (self.audited > 0 && self.seconds >= MIN_RATE_SECONDS)
            .then(|| self.audited as f64 / self.seconds)
    }

    pub fn describe(&self) -> String {
        if self.size == 0 {
            return "Starting…".into();
        }
        let pace = match self.rate() {
            Some(r) => format!(" · {r:.0} events/s"),
            // Done too quickly for a rate: say how long it took instead.
            None if self.done => format!(" · audited in {:.1} s", self.seconds),
            None => String::new(),
        };
        format!(
            "{} of {} events verified · {:.1} MB{pace}",
            self.entries,
            self.size,
            self.bytes as f64 / 1e6,
        )
    }
}

/// The placeholders of the explorer's From and Until fields: the first event's time,
/// rounded down to the minute, and the last one's, rounded up, in the form the fields
/// take (`2026-11-27T02:50`); `None` when no event has a time.
pub fn time_placeholders(times: &[f64]) -> Option<(String, String)> {
    let lo = times.iter().copied().reduce(f64::min)?;
    let hi = times.iter().copied().reduce(f64::max)?;
    let minute = |secs: f64| utc(secs).get(..16).map(str::to_owned);
    Some((
        minute((lo / 60.0).floor() * 60.0)?,
        minute((hi / 60.0).ceil() * 60.0)?,
    ))
}

/// The page draws an audit's progress at most this often (four times a second), and
/// hands new events to the explorer as often: events and progress that arrive in between
/// wait in a [`Batch`]. Drawing on every event recomputed the explorer over every event
/// held, for each event: 20x slower than the module's own audit at 100k. With the
/// explorer's views costing what arrived (`window`, `Replay`'s kept state), a handover
/// every half second still left tasks of 84-101 ms at 100k (the events that arrived
/// typed into the window and replayed at once); a quarter of a second's stayed under.
pub const DRAW_EVERY_SECONDS: f64 = 0.25;
/// Events reach the explorer (and the index) once a second. Since the audit applies each
/// event to the state as it is handed over (`explorer::StateFeed`), a handover costs the
/// window's bookkeeping and the draw of the event list, and the draw is what costs: 200 new
/// rows each time, about 3,300 layout objects and 60 ms of layout, which four times a
/// second was a fifth of the main thread at 100k (measured in a Chromium trace).
pub const EVENTS_EVERY_SECONDS: f64 = 1.0;

/// The event list draws this many of its rows at first, and as many more each time its
/// end is scrolled near (or "Show more" is chosen), up to the page it shows. A handover
/// that replaced all 200 rows dirtied about 4,200 of the page's 4,800 layout objects and
/// took 40-85 ms of layout at 100k (a Chromium trace), and the rows' creation was most of
/// the handover's script at 1M; the table shows about 15 rows at a time.
pub const ROWS_AT_FIRST: usize = 40;

/// How many of the list's `page` rows to draw, `drawn` being drawn now: one step more when
/// its scroller's end is within a view's height (`top`, `view` and `content` are its
/// scrollTop, clientHeight and scrollHeight, in pixels), never past `page`, never fewer.
pub fn rows_to_draw(drawn: usize, page: usize, top: f64, view: f64, content: f64) -> usize {
    if top + 2.0 * view >= content {
        more_rows(drawn, page)
    } else {
        drawn
    }
}

/// One step more of the list's `page` rows than `drawn` ("Show more"), never past `page`.
pub fn more_rows(drawn: usize, page: usize) -> usize {
    drawn.saturating_add(ROWS_AT_FIRST).min(page).max(drawn)
}

/// What arrived since the page last drew: events (the page's are
/// [`Row`](crate::window::Row)s) and the newest progress.
#[derive(Debug)]
pub struct Batch<E> {
    events: Vec<E>,
    progress: Option<(Progress, u64)>,
    last_draw: f64,
    last_events: f64,
}

impl<E> Default for Batch<E> {
    fn default() -> Self {
        Batch {
            events: Vec::new(),
            progress: None,
            last_draw: 0.0,
            last_events: 0.0,
        }
    }
}

impl<E> Batch<E> {
    /// A verified event, to draw with the next batch.
    pub fn push_event(&mut self, e: E) {
        self.events.push(e);
    }

    /// The newest progress and the segment it reached (it replaces any older one: the
    /// heat map marks every segment up to it).
    pub fn set_progress(&mut self, p: Progress, segment: u64) {
        self.progress = Some((p, segment));
    }

    /// Whether a draw is due at `now` (seconds).
    pub fn due(&self, now: f64) -> bool {
        now - self.last_draw >= DRAW_EVERY_SECONDS
    }

    /// What to draw now: the newest progress, and the events waiting if they are due (or
    /// `all`, when a verdict is drawn).
    pub fn take(&mut self, now: f64, all: bool) -> (Vec<E>, Option<(Progress, u64)>) {
        self.last_draw = now;
        let events = if all || now - self.last_events >= EVENTS_EVERY_SECONDS {
            self.last_events = now;
            std::mem::take(&mut self.events)
        } else {
            Vec::new()
        };
        (events, self.progress.take())
    }
}

/// Where the event signatures were checked, in words, from an audit result's
/// `signatureEngine` (`"wasm"`, `"webcrypto"`, `"webcrypto-workers:N"`).
pub fn engine_words(engine: &str) -> String {
    match engine.strip_prefix("webcrypto-workers:") {
        Some("1") => "Event signatures checked by your browser's WebCrypto in a background worker, with strict Ed25519 verdicts.".into(),
        Some(n) => format!("Event signatures checked by your browser's WebCrypto in {n} background workers (one per core), with strict Ed25519 verdicts."),
        None if engine == "webcrypto" => "Event signatures checked by your browser's WebCrypto, with strict Ed25519 verdicts.".into(),
        None if engine == "wasm" => "Event signatures checked by strict Ed25519 in WebAssembly.".into(),
        None => String::new(),
    }
}

/// One segment (entry bundle) of the heat-map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

/// The heat map draws at most this many cells. One cell a segment made the map of a
/// million events 3,907 cells (75 rows of the page), which each progress draw laid out
/// and painted again: at 1M, 11.7 s of layout and 16.9 s of paint on the main thread in
/// a 144 s audit (a Chromium trace), with layouts of 10-25 ms and paints of 12-22 ms four
/// times a second. Past this many segments a cell stands for several, so a draw costs the
/// same at any size.
pub const MAX_CELLS: usize = 512;

/// How many segments each drawn cell stands for: 1 up to [`MAX_CELLS`] segments, then
/// the fewest that fit them in `MAX_CELLS` cells.
pub fn segments_per_cell(segments: usize) -> usize {
    segments.div_ceil(MAX_CELLS).max(1)
}

/// The cells to draw for the segments' `cells`, each standing for `per` segments (the
/// last for what is left): failed if any of its segments failed, else pending if any is
/// pending, else verified. With `segments_per_cell`, at most [`MAX_CELLS`] of them.
pub fn drawn_cells(cells: &[Cell], per: usize) -> Vec<Cell> {
    cells
        .chunks(per.max(1))
        .map(|g| {
            if g.contains(&Cell::Failed) {
                Cell::Failed
            } else if g.contains(&Cell::Pending) {
                Cell::Pending
            } else {
                Cell::Verified
            }
        })
        .collect()
}

/// One drawn cell as the map keys it: its place, state, the segments a cell stands for,
/// and how many of them this cell holds (`per`, or what is left for the last). Nothing
/// else goes into its title, so a new segment changes the last cell's key alone and a
/// keyed draw redraws that cell, not every cell.
pub type DrawnCell = (usize, Cell, usize, usize);

/// The heat map to draw for the segments' `cells`: [`drawn_cells`] keyed as [`DrawnCell`].
pub fn heatmap_cells(cells: &[Cell]) -> Vec<DrawnCell> {
    let per = segments_per_cell(cells.len());
    drawn_cells(cells, per)
        .into_iter()
        .enumerate()
        .map(|(i, c)| (i, c, per, per.min(cells.len() - i * per)))
        .collect()
}

/// A drawn cell's title: `i` is its place in the map, `per` what [`segments_per_cell`]
/// gave, `span` how many segments this cell holds (`per` but for the last).
pub fn cell_title(i: usize, per: usize, span: usize, c: Cell) -> String {
    let first = i * per;
    if span <= 1 {
        format!("segment {first}: {}", c.word())
    } else {
        format!("segments {first}-{}: {}", first + span - 1, c.word())
    }
}

/// The heat map's legend: what one cell stands for.
pub fn heatmap_legend(per: usize) -> String {
    if per <= 1 {
        " failed — one cell per segment of 256 events".to_owned()
    } else {
        format!(
            " failed — one cell per {per} segments of 256 events ({} events)",
            per * 256
        )
    }
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

/// The age beyond which a digest is stale: the core's rule
/// (`liveledger_core::freshness`: twice the published cadence, an hour's when none is
/// published, or the visitor's own maximum when that is stricter), in the page's units.
pub fn stale_after(cadence_seconds: Option<f64>, max_age_seconds: Option<f64>) -> f64 {
    liveledger_core::freshness::stale_after(secs(cadence_seconds), secs(max_age_seconds)) as f64
}

fn secs(v: Option<f64>) -> Option<u64> {
    v.filter(|x| x.is_finite() && *x >= 0.0)
        .map(|x| x.round() as u64)
}

/// Fresh or stale, by the core's rule, for a digest signed `age_seconds` ago.
pub fn freshness(
    age_seconds: Option<f64>,
    cadence_seconds: Option<f64>,
    max_age_seconds: Option<f64>,
) -> Freshness {
    use liveledger_core::freshness::Freshness as Core;
    let Some(age) = age_seconds else {
        return Freshness::Unknown;
    };
    let age = age.max(0.0).floor() as u64;
    // The core judges a signed time against now; an age is the same thing from 0.
    match Core::judge(Some(0), age, secs(cadence_seconds), secs(max_age_seconds)) {
        Core::Fresh { age, .. } => Freshness::Fresh(age),
        Core::Stale { age, .. } => Freshness::Stale(age),
        Core::Untimed { .. } => Freshness::Unknown,
    }
}

/// The witnesses line of the digest card: who cosigned, when, and the quorum (`None`:
/// the ledger requires no witnesses).
pub fn witness_words(w: Option<&WitnessReport>) -> String {
    let Some(w) = w else {
        return "none required by this ledger".into();
    };
    let cosigned = w.list.iter().filter(|x| x.cosigned).count();
    let each: Vec<String> = w
        .list
        .iter()
        .map(|x| match (x.cosigned, x.time) {
            (true, Some(t)) => format!("{} ✓ {}", x.name, utc(t as f64)),
            (true, None) => format!("{} ✓", x.name),
            _ => format!("{} —", x.name),
        })
        .collect();
    let mut words = format!(
        "witnessed by {cosigned} of {} (quorum {}{}): {}",
        w.list.len(),
        w.rule,
        if w.source == "pinned" {
            ", pinned"
        } else {
            ", from the ledger's metadata"
        },
        each.join(", ")
    );
    // What each witness holds now (the split-view check): proved consistent, or why not.
    let views: Vec<String> = w
        .views
        .iter()
        .flatten()
        .map(|v| {
            let name = &v.name;
            match (v.consistent, v.size, v.note.as_deref()) {
                (Some(true), Some(n), None) => format!("{name} holds {n}, consistent"),
                (Some(true), Some(_), Some(note)) => format!("{name} {note}, consistent"),
                (_, _, Some(note)) => format!("{name} {note}"),
                _ => format!("{name} —"),
            }
        })
        .collect();
    if !views.is_empty() {
        words += &format!("; asked now: {}", views.join("; "));
    }
    words
}

/// Who signed the digest (`None`: nothing verified yet).
pub fn signers(checkpoint: Option<&CheckpointResult>) -> String {
    let Some(cp) = checkpoint else {
        return "…".into();
    };
    cp.signatures
        .iter()
        .map(|s| match s.kind {
            "cosignature" => format!("{} (cosignature)", s.key),
            _ => format!("{} (log)", s.key),
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
        "BAD_ARCHIVE" => "Archive damaged",
        "FETCH_FAILED" => "Unreachable",
        "NOT_FOUND" => "Not served",
        "STALE" => "Stale",
        "QUORUM" => "Not witnessed",
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
        ("QUORUM", _) => "The ledger requires independent witnesses to cosign every digest, and too few cosigned this one: nothing but the operator vouches for it.".into(),
        ("KEY_CHANGED", _) => "The ledger is no longer signed by the key this browser trusted on its first visit. A key change must be announced by the operator; until you confirm it, nothing from this ledger is trusted.".into(),
        ("STALE", _) => "The newest digest this ledger signed is older than it should be: the ledger may have stopped, or someone may be showing you an old view of it. Everything up to that digest verified.".into(),
        ("BAD_ARCHIVE", _) => "A digest in the ledger's archive is not what the ledger signed, or is not where the archive says. The live ledger may still verify; its published history does not.".into(),
        ("FETCH_FAILED", _) => "The ledger could not be fetched. Nothing was verified; try again later.".into(),
        ("NOT_FOUND", Some(s)) => format!("The ledger does not serve a file its signed digest commits to (segment {s}). Nothing from that digest is shown as verified."),
        ("NOT_FOUND", None) => "The ledger does not serve a file it must: there may be no ledger at this address. Nothing was verified.".into(),
        _ => "The ledger could not be verified.".into(),
    }
}

/// What this browser remembers of a ledger it verified before: the signed checkpoint it
/// verified (stored as the `checkpoint` of the audit result, whose `note` is the signed
/// text). The page hands the note to the verifier as `since`, and the module proves the
/// checkpoint served now extends it: the rule is the core's, not the page's.
#[derive(Clone, Debug, PartialEq)]
pub struct Remembered {
    /// The signed checkpoint, as verified then.
    pub note: String,
    /// Its size and signed time, to say so in words.
    pub size: u64,
    pub signed_time: Option<f64>,
}

/// Reads what was stored; an error says what is wrong with it (the page then discards
/// it with a notice, never trusting it blindly).
pub fn remembered(stored: &str) -> Result<Remembered, String> {
    let v = liveledger_core::jcs::parse(stored.as_bytes())
        .map_err(|e| format!("it is not JSON ({e})"))?;
    let note = v["note"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or("it holds no signed checkpoint")?;
    let size = v["size"].as_u64().ok_or("it holds no size")?;
    Ok(Remembered {
        note: note.to_owned(),
        size,
        signed_time: v["signedTime"].as_f64(),
    })
}

/// The return visit in words, once the module proved today's checkpoint extends the
/// remembered one.
pub fn since_words(r: &Remembered, now_size: u64) -> String {
    let when = r
        .signed_time
        .map(|t| format!(" (signed {})", utc(t)))
        .unwrap_or_default();
    let new = now_size.saturating_sub(r.size);
    format!(
        "This browser verified this ledger up to {} events before{when}; today's digest is proved to extend it, with {new} new events since.",
        r.size
    )
}

/// What the page says of an audit the module continued from a kept resume point (`resumed`
/// of an audit result; `signed`: the kept digest's signed time, as this browser remembers
/// it): where it continued from, and what was verified now; or why the
/// kept point was not used. `None` when the audit started from zero with nothing kept.
pub fn resumed_words(
    resumed: Option<&Resumed>,
    now_size: u64,
    signed: Option<f64>,
) -> Option<String> {
    let from = match resumed? {
        Resumed::Discarded(why) => {
            return Some(format!(
                "What this browser kept to continue its audit of this ledger could not be used ({why}); it was discarded, and every event was verified again."
            ))
        }
        Resumed::From(from) => *from,
    };
    let when = signed
        .map(|t| format!(" (its digest signed {})", utc(t)))
        .unwrap_or_default();
    let new = now_size.saturating_sub(from);
    Some(format!(
        "Verified up to {from} events on an earlier visit{when}; today's digest is proved to extend it, and the {new} new events were verified now."
    ))
}

/// A point in time, seconds since the epoch, as a UTC RFC 3339 string (`…Z`), to the
/// millisecond (rounded down; see [`utc_ceil`]).
pub fn utc(secs: f64) -> String {
    utc_ms((secs * 1000.0).floor())
}

/// [`utc`], rounded up to the millisecond: an inclusive upper bound that keeps `secs`.
pub fn utc_ceil(secs: f64) -> String {
    utc_ms((secs * 1000.0).ceil())
}

fn utc_ms(ms: f64) -> String {
    let ms = ms as i64;
    liveledger_core::time::Timestamp::from_unix(
        ms.div_euclid(1000),
        (ms.rem_euclid(1000) * 1_000_000) as u32,
    )
    .map(|t| t.to_string())
    .unwrap_or_default()
}

/// An event's time (RFC 3339) in seconds since the epoch, with its fraction.
pub fn event_seconds(time: &str) -> Option<f64> {
    let t = liveledger_core::time::Timestamp::parse(time).ok()?;
    Some(t.unix_seconds() as f64 + f64::from(t.nanos()) / 1e9)
}

/// A time-filter bound typed by a visitor, in UTC: `2026-11-27`, `2026-11-27T02:51`,
/// `2026-11-27T02:51:30`, or a full RFC 3339 time. Empty is no bound (`Ok(None)`).
pub fn time_bound(s: &str) -> Result<Option<f64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let full = match s.len() {
        10 => format!("{s}T00:00:00Z"),
        16 => format!("{s}:00Z"),
        19 => format!("{s}Z"),
        _ => s.to_owned(),
    };
    event_seconds(&full)
        .map(Some)
        .ok_or_else(|| format!("expected a UTC time like 2026-11-27T02:51, found {s:?}"))
}

/// One bar of the timeline: events in `[start, end)` (the last bar includes its end).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    pub start: f64,
    pub end: f64,
    pub count: usize,
}

/// Splits the span of `times` into at most `n` equal buckets and counts each.
pub fn timeline(times: &[f64], n: usize) -> Vec<Bucket> {
    let (Some(lo), Some(hi)) = (
        times.iter().copied().reduce(f64::min),
        times.iter().copied().reduce(f64::max),
    ) else {
        return Vec::new();
    };
    let n = n.max(1);
    // At least a millisecond per bucket (event times are written to the millisecond).
    let width = ((hi - lo) / n as f64).max(0.001);
    let count = (((hi - lo) / width).floor() as usize + 1).min(n);
    let mut out: Vec<Bucket> = (0..count)
        .map(|i| Bucket {
            start: lo + width * i as f64,
            end: lo + width * (i + 1) as f64,
            count: 0,
        })
        .collect();
    for &t in times {
        let i = (((t - lo) / width) as usize).min(count - 1);
        out[i].count += 1;
    }
    out
}

/// One archived digest, as the history table shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryRow {
    pub size: u64,
    pub root: String,
    pub signed: String,
    /// "extends 31", "oldest shown", or the failure.
    pub check: String,
    pub ok: bool,
}

/// The rows of a `verify_history` result, newest first; a failure becomes a row after the
/// last digest proved (the digest the proof failed on).
pub fn history_rows(r: &HistoryResult) -> Vec<HistoryRow> {
    let mut rows: Vec<HistoryRow> = r
        .digests
        .iter()
        .enumerate()
        .map(|(i, d)| HistoryRow {
            size: d.size,
            root: d.root.clone(),
            signed: d.signed_time.map(|t| utc(t as f64)).unwrap_or_default(),
            check: match d.extends {
                Some(p) => format!("✔ signed; extends the digest of {p} events"),
                None if i == 0 => "✔ signed; oldest digest checked".to_owned(),
                None => "✔ signed".to_owned(),
            },
            ok: true,
        })
        .collect();
    if let Some(f) = &r.failure {
        let new = f.evidence["newCheckpoint"]
            .as_str()
            .and_then(|n| n.lines().nth(1))
            .and_then(|s| s.parse::<u64>().ok());
        rows.push(HistoryRow {
            size: new.unwrap_or(0),
            root: String::new(),
            signed: String::new(),
            check: format!("⚠ {}: {}", f.code.as_str(), f.message),
            ok: false,
        });
    }
    rows.reverse();
    rows
}

/// One sentence on a `verifyHistory` result.
pub fn history_summary(r: &HistoryResult) -> String {
    let checked = r.digests.len();
    let total = r.total;
    let of = if (checked as u64) < total {
        format!("the newest {checked} of {total}")
    } else {
        format!("all {checked}")
    };
    if r.verified {
        format!("Checked {of} archived digests: each is signed by the log key, each extends the one before it, and the newest extends the current digest.")
    } else {
        format!(
            "The archive is not one consistent history: {}",
            r.failure
                .as_ref()
                .map_or("a digest failed", |f| f.message.as_str())
        )
    }
}
