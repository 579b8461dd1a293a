//! The paths of a published ledger: what each one is, and how long its bytes stay the same.
//!
//! ```text
//! checkpoint              the current digest                      Current
//! metadata                the signed ledger metadata              Revalidate
//! tile/<L>/<N>            a full hash tile                        Immutable
//! tile/entries/<N>        a full entry bundle                     Immutable
//! tile/…/<N>.p/<W>        a partial tile or bundle                FixedByPath
//! digests/<size>          an archived digest                      Immutable
//! digests/index.txt       the archive's index                     Revalidate
//! anything else           (the app, digest pages, …)              Revalidate
//! ```
//!
//! A partial tile's path names its width, so its bytes never change either; but it is
//! deleted once the full tile exists (tlog-tiles allows that), so it is not `Immutable`.
//! Tile paths are recognised by [`crate::tiles`] (the only module that parses them): a
//! path under `tile/` that is not canonical is `Other`, never a tile.
//!
//! Servers and object stores take their cache policy from [`Lifetime`], and the route
//! class of their metrics from [`Published::class`], so that no server decides what a
//! file is by testing strings of its own.

use core::str::FromStr;

use crate::checkpoint::parse_decimal;
use crate::tiles::{TileKind, TilePath};

/// The current digest's path.
pub const CHECKPOINT: &str = "checkpoint";
/// The signed ledger metadata's path.
pub const METADATA: &str = "metadata";
/// The digest archive's index.
pub const DIGEST_INDEX: &str = "digests/index.txt";

/// The directory of the digest archive (and of its pages).
pub const DIGESTS: &str = "digests";
/// The digest archive's page for people (`Other`: the publisher's, not a format).
pub const DIGEST_PAGES: &str = "digests/index.html";

/// The path of the archived digest of size `size`: `digests/<size>`.
pub fn digest(size: u64) -> String {
    format!("{DIGESTS}/{size}")
}

/// The page for people of the archived digest of size `size`: `digests/<size>.html`.
pub fn digest_page(size: u64) -> String {
    format!("{DIGESTS}/{size}.html")
}

/// What a path of a published ledger names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Published {
    /// `checkpoint`: the current digest, replaced on every publish.
    Checkpoint,
    /// `metadata`: the signed ledger metadata (replaced when governance changes).
    Metadata,
    /// A hash tile or entry bundle, full or partial.
    Tile(TilePath),
    /// `digests/<size>`: a digest as it was published.
    Digest(u64),
    /// `digests/index.txt`: which digests are archived.
    DigestIndex,
    /// Anything else: the browser verifier, digest pages, the operator's own files.
    Other,
}

/// How long the bytes at a path stay what they are: what caches may do with them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lifetime {
    /// Replaced at any time, and the newest matters: never cached (`no-store`).
    Current,
    /// May change: cached, but revalidated before every use (`no-cache`).
    Revalidate,
    /// Never changes while it exists, but may be deleted (a partial tile): cached a day.
    FixedByPath,
    /// Never changes and never goes away: cached for a year, `immutable`.
    Immutable,
}

impl Published {
    /// Classifies a path relative to the ledger's root (no leading `/`, no query).
    pub fn classify(path: &str) -> Published {
        match path {
            "checkpoint" => return Published::Checkpoint,
            "metadata" => return Published::Metadata,
            "digests/index.txt" => return Published::DigestIndex,
            _ => {}
        }
        if let Some(size) = path.strip_prefix("digests/") {
            if let Some(size) = parse_decimal(size) {
                return Published::Digest(size);
            }
        }
        if path.starts_with("tile/") {
            if let Ok(t) = TilePath::from_str(path) {
                return Published::Tile(t);
            }
        }
        Published::Other
    }

    /// How long its bytes stay the same.
    pub fn lifetime(&self) -> Lifetime {
        match self {
            Published::Checkpoint => Lifetime::Current,
            Published::Tile(t) if t.is_full() => Lifetime::Immutable,
            Published::Tile(_) => Lifetime::FixedByPath,
            Published::Digest(_) => Lifetime::Immutable,
            Published::Metadata | Published::DigestIndex | Published::Other => Lifetime::Revalidate,
        }
    }

    /// A short, bounded name for the kind of path, for metrics and logs: `checkpoint`,
    /// `metadata`, `tile`, `partial_tile`, `bundle`, `partial_bundle`, `digest`,
    /// `digest_index` or `other`.
    pub fn class(&self) -> &'static str {
        match self {
            Published::Checkpoint => "checkpoint",
            Published::Metadata => "metadata",
            Published::Tile(t) => match (t.kind(), t.is_full()) {
                (TileKind::Entries, true) => "bundle",
                (TileKind::Entries, false) => "partial_bundle",
                (TileKind::Hashes(_), true) => "tile",
                (TileKind::Hashes(_), false) => "partial_tile",
            },
            Published::Digest(_) => "digest",
            Published::DigestIndex => "digest_index",
            Published::Other => "other",
        }
    }

    /// The `Content-Type` a server or an object store gives the file at `path`: the
    /// ledger's own files by what they are, the rest (the app, digest pages) by extension.
    pub fn content_type(path: &str) -> &'static str {
        let kind = Published::classify(path);
        if kind.is_note_text() {
            return "text/plain; charset=utf-8";
        }
        if matches!(kind, Published::Tile(_)) {
            return "application/octet-stream";
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        match name.rsplit_once('.').map(|(_, e)| e) {
            Some("html") => "text/html; charset=utf-8",
            Some("js" | "mjs") => "text/javascript; charset=utf-8",
            Some("wasm") => "application/wasm",
            Some("css") => "text/css; charset=utf-8",
            Some("json") => "application/json",
            Some("svg") => "image/svg+xml",
            Some("png") => "image/png",
            Some("ts" | "txt" | "md") => "text/plain; charset=utf-8",
            _ => "application/octet-stream",
        }
    }

    /// Whether the file is text that a verifier reads as a signed note or index (served
    /// as `text/plain`), rather than bytes or a web asset.
    pub fn is_note_text(&self) -> bool {
        matches!(
            self,
            Published::Checkpoint
                | Published::Metadata
                | Published::Digest(_)
                | Published::DigestIndex
        )
    }
}

impl Lifetime {
    /// The `Cache-Control` header value for this lifetime.
    pub fn cache_control(&self) -> &'static str {
        match self {
            Lifetime::Current => "no-store",
            Lifetime::Revalidate => "no-cache",
            Lifetime::FixedByPath => "public, max-age=86400",
            Lifetime::Immutable => "public, max-age=31536000, immutable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::{bundle_at, hash_tiles, partial_tiles};

    #[test]
    fn the_ledgers_files_have_their_types_and_the_rest_theirs_by_extension() {
        assert_eq!(
            Published::content_type("checkpoint"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            Published::content_type("digests/12"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            Published::content_type("digests/12.html"),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            Published::content_type("tile/0/000"),
            "application/octet-stream"
        );
        assert_eq!(
            Published::content_type("tile/entries/000.p/3"),
            "application/octet-stream"
        );
        assert_eq!(Published::content_type("app_bg.wasm"), "application/wasm");
        assert_eq!(
            Published::content_type("liveledger.d.ts"),
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn every_path_a_publisher_writes_is_classified_by_what_it_is() {
        // Every tile and bundle of trees up to a few tiles: full ones immutable, partial
        // ones fixed by their path.
        for size in [1u64, 255, 256, 257, 65_536, 65_537, 70_000] {
            for t in hash_tiles(size).chain(partial_tiles(size)) {
                let p = Published::classify(&t.to_string());
                assert_eq!(p, Published::Tile(t), "{t}");
                let want = if t.is_full() {
                    Lifetime::Immutable
                } else {
                    Lifetime::FixedByPath
                };
                assert_eq!(p.lifetime(), want, "{t}");
            }
            let last = bundle_at(size, (size - 1) / 256).unwrap();
            let class = Published::classify(&last.to_string()).class();
            assert_eq!(
                class,
                if size % 256 == 0 {
                    "bundle"
                } else {
                    "partial_bundle"
                }
            );
        }
        assert_eq!(
            Published::classify("checkpoint").lifetime(),
            Lifetime::Current
        );
        assert_eq!(Published::classify("digests/17"), Published::Digest(17));
        assert_eq!(
            Published::classify("digests/17").lifetime(),
            Lifetime::Immutable
        );
        assert_eq!(
            Published::classify("digests/index.txt"),
            Published::DigestIndex
        );
        assert_eq!(Published::classify("metadata").class(), "metadata");
        assert_eq!(Published::classify("tile/0/x001/000").class(), "tile");
    }

    #[test]
    fn near_misses_are_other_files_revalidated_never_cached_as_immutable() {
        for p in [
            "digests/017",
            "digests/17.html",
            "digests/",
            "digests/index.html",
            "tile/0/1",
            "tile/0/0000",
            "tile/entries/000.p/0",
            "tile/entries/000.p/256",
            "tile/64/000",
            "tile/0/000.gz",
            "tile/entries/000/",
            "/checkpoint",
            "checkpoint/",
            "Checkpoint",
            "index.html",
            "",
        ] {
            let c = Published::classify(p);
            assert_eq!(c, Published::Other, "{p:?}");
            assert_eq!(c.lifetime(), Lifetime::Revalidate, "{p:?}");
            assert!(!c.is_note_text());
        }
    }

    #[test]
    fn cache_control_grows_with_the_lifetime() {
        let all = [
            Lifetime::Current,
            Lifetime::Revalidate,
            Lifetime::FixedByPath,
            Lifetime::Immutable,
        ];
        assert_eq!(
            all.map(|l| l.cache_control()),
            [
                "no-store",
                "no-cache",
                "public, max-age=86400",
                "public, max-age=31536000, immutable"
            ]
        );
    }
}
