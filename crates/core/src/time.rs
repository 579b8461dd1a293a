//! Strict RFC 3339 UTC timestamps: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
//!
//! One instant has one spelling: upper-case `T` and `Z`, no offset, a fraction of 1 to 9
//! digits without trailing zeros (or none), years 0001–9999, no leap second.

use core::fmt;

/// A time that is not strict RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time {found:?} is not RFC 3339 UTC of the form 2026-11-26T12:00:00.5Z: {why}")]
pub struct TimeError {
    /// The text found (cut).
    pub found: String,
    /// What is wrong.
    pub why: &'static str,
}

/// An instant, as seconds and nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    // Howard Hinnant's algorithm, proleptic Gregorian.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

impl Timestamp {
    /// From seconds and nanoseconds since the epoch (years 0001–9999).
    pub fn from_unix(secs: i64, nanos: u32) -> Option<Self> {
        let min = days_from_civil(1, 1, 1) * 86400;
        let max = days_from_civil(10000, 1, 1) * 86400;
        (nanos < 1_000_000_000 && secs >= min && secs < max).then_some(Timestamp { secs, nanos })
    }

    /// Seconds since the epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }

    /// Parses the one canonical spelling.
    pub fn parse(s: &str) -> Result<Self, TimeError> {
        let bad = |why| TimeError {
            found: crate::hash::cut(s),
            why,
        };
        let b = s.as_bytes();
        if b.len() < 20 || b.len() > 30 {
            return Err(bad("wrong length"));
        }
        let digits = |r: core::ops::Range<usize>| -> Result<u32, TimeError> {
            let part = &b[r];
            if part.iter().all(u8::is_ascii_digit) {
                Ok(part.iter().fold(0u32, |a, d| a * 10 + (d - b'0') as u32))
            } else {
                Err(bad("expected digits"))
            }
        };
        if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(bad("separators must be - - T : :"));
        }
        let (y, mo, d) = (digits(0..4)? as i64, digits(5..7)?, digits(8..10)?);
        let (h, mi, se) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
        if y == 0 || !(1..=12).contains(&mo) {
            return Err(bad("year or month out of range"));
        }
        let mdays = [
            31,
            if is_leap(y) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if d == 0 || d > mdays[mo as usize - 1] || h > 23 || mi > 59 || se > 59 {
            return Err(bad("day or time of day out of range"));
        }
        let rest = &b[19..];
        let nanos = match rest {
            [b'Z'] => 0,
            [b'.', frac @ .., b'Z'] => {
                if frac.is_empty() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
                    return Err(bad("fraction must be 1 to 9 digits"));
                }
                if frac.last() == Some(&b'0') {
                    return Err(bad("fraction must not end in 0"));
                }
                let mut n = 0u32;
                for i in 0..9 {
                    n = n * 10 + frac.get(i).map_or(0, |d| (d - b'0') as u32);
                }
                n
            }
            _ => return Err(bad("must end in Z (UTC), after an optional fraction")),
        };
        let secs = days_from_civil(y, mo, d) * 86400 + (h * 3600 + mi * 60 + se) as i64;
        Ok(Timestamp { secs, nanos })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(86400);
        let sod = self.secs.rem_euclid(86400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )?;
        if self.nanos != 0 {
            let mut frac = format!("{:09}", self.nanos);
            while frac.ends_with('0') {
                frac.pop();
            }
            write!(f, ".{frac}")?;
        }
        f.write_str("Z")
    }
}
