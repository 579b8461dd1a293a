//! Is a digest fresh enough to be the log's current state? The rule every verifier
//! applies (`verify`, the JS module and its element, the page).
//!
//! A ledger promises a digest at least every `cadence_seconds` (its metadata); a digest
//! older than **twice** that is stale (one missed publication is tolerated). A log that
//! promises no cadence is held to an hour's. A verifier may ask for a stricter maximum
//! age (`--max-age`, the page's own setting, the module's `maxAgeSeconds`); the limit is
//! the smaller of the two. The age runs from the digest's signed time (the time key's
//! cosignature). A digest without one cannot be judged: that fails only when a maximum
//! was asked for.
//!
//! ```text
//! cadence 60 s, signed 100 s ago            fresh  (limit 120 s)
//! cadence 60 s, signed 121 s ago            stale
//! no cadence, signed 2 h 1 s ago            stale  (limit 7200 s)
//! cadence 60 s, max age 30 s, 31 s ago      stale  (limit 30 s)
//! no signed time                            untimed (a failure only with a max age)
//! ```

use crate::checkpoint::VerifiedCheckpoint;
use crate::note::VerifierKey;

/// A checkpoint's signed time: the cosignature of the ledger's time key, else (a log
/// without one) its newest cosignature, a witness's; `None` without cosignatures.
pub fn signed_time(cp: &VerifiedCheckpoint, time_key: Option<&VerifierKey>) -> Option<u64> {
    let verified = cp.note().verified();
    let by = |k: Option<&VerifierKey>| {
        verified
            .iter()
            .filter(|v| k.is_none_or(|k| &v.key == k))
            .filter_map(|v| v.timestamp)
            .max()
    };
    time_key.and_then(|k| by(Some(k))).or_else(|| by(None))
}

/// The cadence a log that promises none is held to.
pub const DEFAULT_CADENCE_SECONDS: u64 = 3600;

/// The age (seconds) beyond which a digest is stale.
pub fn stale_after(cadence_seconds: Option<u64>, max_age_seconds: Option<u64>) -> u64 {
    let promised = cadence_seconds
        .unwrap_or(DEFAULT_CADENCE_SECONDS)
        .saturating_mul(2);
    max_age_seconds.map_or(promised, |m| m.min(promised))
}

/// How fresh a digest is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Signed `age` seconds ago, within `limit`.
    Fresh {
        /// Seconds since the signed time.
        age: u64,
        /// The limit it is within.
        limit: u64,
    },
    /// Signed `age` seconds ago, beyond `limit`.
    Stale {
        /// Seconds since the signed time.
        age: u64,
        /// The limit it is beyond.
        limit: u64,
    },
    /// No signed time.
    Untimed {
        /// A maximum age was asked for (so this fails).
        required: bool,
    },
}

impl Freshness {
    /// Judges a digest signed at `signed_time` (POSIX seconds), now `now`. A signed time
    /// in the future counts as age 0.
    pub fn judge(
        signed_time: Option<u64>,
        now: u64,
        cadence_seconds: Option<u64>,
        max_age_seconds: Option<u64>,
    ) -> Freshness {
        let Some(t) = signed_time else {
            return Freshness::Untimed {
                required: max_age_seconds.is_some(),
            };
        };
        let age = now.saturating_sub(t);
        let limit = stale_after(cadence_seconds, max_age_seconds);
        match age > limit {
            true => Freshness::Stale { age, limit },
            false => Freshness::Fresh { age, limit },
        }
    }

    /// Whether this fails the verification (the verdict `STALE`).
    pub fn fails(&self) -> bool {
        matches!(
            self,
            Freshness::Stale { .. } | Freshness::Untimed { required: true }
        )
    }

    /// Why it fails, in words; `None` when it does not.
    pub fn reason(&self) -> Option<String> {
        match *self {
            Freshness::Stale { age, limit } => Some(format!(
                "the digest was signed {age} s ago; stale after {limit} s (twice the ledger's cadence, or the maximum age asked for)"
            )),
            Freshness::Untimed { required: true } => Some(
                "the checkpoint carries no signed time (no time cosignature), so its age cannot be checked against the maximum asked for".into(),
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_as_the_module_doc_states_it() {
        let j = Freshness::judge;
        assert_eq!(
            j(Some(900), 1000, Some(60), None),
            Freshness::Fresh {
                age: 100,
                limit: 120
            }
        );
        assert_eq!(
            j(Some(879), 1000, Some(60), None),
            Freshness::Stale {
                age: 121,
                limit: 120
            }
        );
        assert_eq!(
            j(Some(880), 1000, Some(60), None),
            Freshness::Fresh {
                age: 120,
                limit: 120
            }
        );
        assert_eq!(
            j(Some(0), 7201, None, None),
            Freshness::Stale {
                age: 7201,
                limit: 7200
            }
        );
        assert_eq!(
            j(Some(969), 1000, Some(60), Some(30)),
            Freshness::Stale { age: 31, limit: 30 }
        );
        assert_eq!(
            j(Some(969), 1000, Some(10), Some(30)),
            Freshness::Stale { age: 31, limit: 20 }
        );
        assert_eq!(
            j(Some(2000), 1000, Some(60), None),
            Freshness::Fresh { age: 0, limit: 120 }
        );
        assert_eq!(
            j(None, 1000, Some(60), None),
            Freshness::Untimed { required: false }
        );
        assert!(!j(None, 1000, Some(60), None).fails());
        assert!(j(None, 1000, Some(60), Some(5)).fails());
        assert!(j(Some(879), 1000, Some(60), None)
            .reason()
            .unwrap()
            .contains("121 s ago"));
        assert_eq!(
            j(Some(u64::MAX), 0, Some(u64::MAX), None),
            Freshness::Fresh {
                age: 0,
                limit: u64::MAX
            }
        );
    }
}
