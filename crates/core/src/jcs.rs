//! RFC 8785 JSON Canonicalization Scheme (JCS), for one byte form per event.
//!
//! - objects: members sorted by their names' UTF-16 code units, no whitespace;
//! - strings: `"` `\` and control characters escaped (`\b \t \n \f \r`, else `\u00xx`),
//!   everything else as UTF-8;
//! - numbers: ECMAScript `Number.prototype.toString` of the IEEE 754 double; an integer
//!   that no double holds exactly is refused rather than silently rounded.
//!
//! [`parse_canonical`] accepts bytes only if they are already in this form, which also
//! rejects duplicate member names, whitespace and alternative number spellings.

use serde_json::{Map, Number, Value};

mod float;

/// The largest integer a double holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// JSON that is not, or cannot be made, canonical.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JcsError {
    /// Not JSON (or nested deeper than 127).
    #[error("not valid JSON: {0}")]
    Syntax(String),
    /// A number outside what a double holds exactly, or not finite.
    #[error("number {0} cannot be represented exactly as an IEEE 754 double")]
    Number(String),
    /// Valid JSON, but not in canonical form.
    #[error("JSON is not in RFC 8785 canonical form (first difference at byte {offset}); canonical is {canonical:?}")]
    NotCanonical {
        /// The first byte that differs.
        offset: usize,
        /// The canonical form (cut to 200 characters).
        canonical: String,
    },
}

/// Appends the canonical form of `v`.
pub fn write_canonical(v: &Value, out: &mut String) -> Result<(), JcsError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out)?;
            }
            out.push(']');
        }
        Value::Object(m) => write_canonical_object(m, out)?,
    }
    Ok(())
}

/// The canonical form of `v`.
pub fn to_canonical(v: &Value) -> Result<String, JcsError> {
    let mut s = String::new();
    write_canonical(v, &mut s)?;
    Ok(s)
}

/// Appends the canonical form of the object `m` (as [`write_canonical`] of `Value::Object(m)`,
/// without the copy).
pub fn write_canonical_object(m: &Map<String, Value>, out: &mut String) -> Result<(), JcsError> {
    let mut members: Vec<(&String, &Value)> = m.iter().collect();
    // Members are sorted here, whatever order the map iterates in: serde_json's `Map` is
    // a B-tree (byte order) by default, but insertion-ordered when any crate in a build
    // turns on its `preserve_order` feature, and Cargo unifies features. (The tests run
    // with it on: see this crate's dev-dependencies.)
    //
    // RFC 8785 orders names by UTF-16 code units. That differs from byte (code point)
    // order only between a character from U+E000 to U+FFFF and one above U+FFFF (a
    // surrogate pair, which sorts first), so without a name holding a character above
    // U+FFFF (UTF-8 lead byte 0xF0 to 0xF4), byte order is the order.
    let less: fn(&str, &str) -> bool = if m.keys().any(|k| astral(k)) {
        utf16_less
    } else {
        |a, b| a.as_bytes() < b.as_bytes()
    };
    // A B-tree's members are already in byte order: one pass finds that.
    if !members.windows(2).all(|w| less(w[0].0, w[1].0)) {
        // Names are unique: an unstable sort gives the one order.
        heapsort(&mut members, |a, b| less(a.0, b.0));
    }
    out.push('{');
    for (i, (k, v)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, out);
        out.push(':');
        write_canonical(v, out)?;
    }
    out.push('}');
    Ok(())
}

fn write_number(n: &Number, out: &mut String) -> Result<(), JcsError> {
    // RFC 8785 numbers are IEEE 754 doubles, written as ECMAScript writes them. An
    // integer is read as its nearest double; if that double is not written with the
    // integer's own digits, the integer would be changed by a round trip, so it is
    // refused, never rounded.
    let mut buf = ryu_js::Buffer::new();
    let (f, digits) = if let Some(u) = n.as_u64() {
        (u as f64, Some(u.to_string()))
    } else if let Some(i) = n.as_i64() {
        (i as f64, Some(i.to_string()))
    } else {
        (n.as_f64().unwrap_or(f64::NAN), None)
    };
    // The evidence is the number as read: an integer's own digits. (Not `Number`'s
    // `Display`: it links serde_json's float formatter and its tables, 5 kB gzip in the
    // browser builds, for a case that cannot arise: a `Number` is never infinite.)
    if !f.is_finite() {
        return Err(JcsError::Number(
            digits.unwrap_or_else(|| buf.format(f).into()),
        ));
    }
    let written = if f == 0.0 { "0" } else { buf.format_finite(f) }; // -0 too
    if let Some(d) = digits.filter(|d| d != written) {
        return Err(JcsError::Number(d));
    }
    out.push_str(written);
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    // Runs of characters written as they are are copied whole. Every escaped character
    // is ASCII, so `i` is always on a character boundary.
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escaped.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        } else {
            out.push_str(escaped);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Parses JSON that must already be canonical.
///
/// Canonical bytes are read in one pass that checks the form as it goes ([`Reader`] in
/// strict mode). Anything it refuses is read again without the checks and written
/// canonically, to say what is wrong: not JSON, a number no double holds exactly, or
/// where the bytes first differ from their canonical form.
pub fn parse_canonical(bytes: &[u8]) -> Result<Value, JcsError> {
    if let Ok(v) = Reader::new(bytes, true).document() {
        return Ok(v);
    }
    let v = parse(bytes)?;
    let canonical = to_canonical(&v)?;
    if canonical.as_bytes() == bytes {
        // The strict reader and the writer disagree; the writer decides.
        return Ok(v);
    }
    let offset = canonical
        .bytes()
        .zip(bytes.iter())
        .position(|(a, b)| a != *b)
        .unwrap_or(canonical.len().min(bytes.len()));
    Err(JcsError::NotCanonical {
        offset,
        canonical: canonical.chars().take(200).collect(),
    })
}

/// Parses any JSON text (RFC 8259), whitespace allowed, for documents that are read
/// but not signed. A member name given twice keeps its last value. Numbers are read
/// as serde_json reads them: an integer as `u64` or `i64` where it fits, anything else
/// as the nearest double.
pub fn parse(bytes: &[u8]) -> Result<Value, JcsError> {
    Reader::new(bytes, false).document().map_err(|f| match f {
        Fail::Syntax { at, expected } => {
            let found = match bytes.get(at) {
                None => "the end".to_owned(),
                Some(b) if b.is_ascii_graphic() => format!("'{}'", *b as char),
                Some(b) => format!("byte 0x{b:02x}"),
            };
            JcsError::Syntax(format!("expected {expected} at byte {at}, found {found}"))
        }
        // Only the strict reader stops for these.
        Fail::NotCanonical => JcsError::Syntax("not canonical".to_owned()),
    })
}

/// How deep arrays and objects may nest (as serde_json, which stops at the 128th).
const MAX_DEPTH: usize = 127;

enum Fail {
    Syntax {
        at: usize,
        expected: &'static str,
    },
    /// Valid so far, but not the canonical spelling (strict mode only).
    NotCanonical,
}

/// A JSON reader over bytes. In strict mode it also refuses anything the canonical
/// writer would not have written: whitespace, members out of order or repeated, an
/// escape other than the one the writer uses, a number not spelled as ECMAScript
/// spells it.
struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    strict: bool,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8], strict: bool) -> Self {
        Reader { b, i: 0, strict }
    }

    fn document(mut self) -> Result<Value, Fail> {
        self.ws();
        let v = self.value(MAX_DEPTH)?;
        self.ws();
        if self.i != self.b.len() {
            return Err(self.fail("the end of the document"));
        }
        Ok(v)
    }

    fn fail(&self, expected: &'static str) -> Fail {
        Fail::Syntax {
            at: self.i,
            expected,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    fn ws(&mut self) {
        if !self.strict {
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
                self.i += 1;
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, Fail> {
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.fail("a JSON value")),
        }
    }

    fn word(&mut self, w: &'static str, v: Value) -> Result<Value, Fail> {
        if !self.b[self.i..].starts_with(w.as_bytes()) {
            return Err(self.fail(w));
        }
        self.i += w.len();
        Ok(v)
    }

    /// Steps into an array or object at its opening bracket, if nesting allows.
    fn open(&mut self, depth: usize) -> Result<(), Fail> {
        if depth == 0 {
            return Err(self.fail("at most 127 nested arrays and objects"));
        }
        self.i += 1;
        self.ws();
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<Value, Fail> {
        self.open(depth)?;
        let mut a = Vec::new();
        if self.eat(b']') {
            return Ok(Value::Array(a));
        }
        loop {
            self.ws();
            a.push(self.value(depth - 1)?);
            self.ws();
            if self.eat(b']') {
                return Ok(Value::Array(a));
            }
            if !self.eat(b',') {
                return Err(self.fail("',' or ']'"));
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, Fail> {
        self.open(depth)?;
        let mut m = Map::new();
        if self.eat(b'}') {
            return Ok(Value::Object(m));
        }
        // Canonical members come in strictly increasing UTF-16 order. The map keeps byte
        // order, which agrees until a name above U+FFFF: until then the member before is
        // the map's last; from then on it is kept here.
        let mut before: Option<String> = None;
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.fail("a member name in quotes"));
            }
            let k = self.string()?;
            if self.strict {
                let k_astral = astral(&k);
                let in_order = match &before {
                    Some(p) => utf16_less(p, &k),
                    // No name so far above U+FFFF: bytes order them unless this one is.
                    None => m.keys().next_back().is_none_or(|p| {
                        if k_astral {
                            utf16_less(p, &k)
                        } else {
                            p.as_str() < k.as_str()
                        }
                    }),
                };
                if !in_order {
                    return Err(Fail::NotCanonical);
                }
                if before.is_some() || k_astral {
                    before = Some(k.clone());
                }
            }
            self.ws();
            if !self.eat(b':') {
                return Err(self.fail("':'"));
            }
            self.ws();
            let v = self.value(depth - 1)?;
            m.insert(k, v);
            self.ws();
            if self.eat(b'}') {
                return Ok(Value::Object(m));
            }
            if !self.eat(b',') {
                return Err(self.fail("',' or '}'"));
            }
        }
    }

    /// A string; `self.i` is at its opening quote.
    fn string(&mut self) -> Result<String, Fail> {
        self.i += 1;
        let start = self.i;
        let mut out = Vec::new();
        let mut run = self.i;
        loop {
            match self.peek() {
                Some(b'"') => break,
                Some(b'\\') => {
                    out.extend_from_slice(&self.b[run..self.i]);
                    self.escape(&mut out)?;
                    run = self.i;
                }
                Some(0..=0x1f) => return Err(self.fail("a control character written as an escape")),
                Some(_) => self.i += 1,
                None => return Err(self.fail("'\"' to end the string")),
            }
        }
        out.extend_from_slice(&self.b[run..self.i]);
        self.i += 1;
        // Escapes are ASCII and add only whole characters, so the text is UTF-8 iff the
        // bytes between the quotes are; those say where it is not.
        String::from_utf8(out).map_err(|_| Fail::Syntax {
            at: start
                + core::str::from_utf8(&self.b[start..self.i])
                    .err()
                    .map_or(0, |e| e.valid_up_to()),
            expected: "UTF-8",
        })
    }

    /// One escape; `self.i` is at its backslash.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Fail> {
        self.i += 1;
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'/') if !self.strict => '/',
            Some(b'u') => {
                self.i += 1;
                let (unit, lower) = self.hex4()?;
                let c = match unit {
                    0xd800..=0xdbff => {
                        if !(self.b[self.i..].starts_with(b"\\u")) {
                            return Err(self.fail("'\\u' and a low surrogate after a high one"));
                        }
                        self.i += 2;
                        let (low, _) = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            self.i -= 4;
                            return Err(self.fail("a low surrogate after a high one"));
                        }
                        let cp = 0x10000
                            + ((u32::from(unit) - 0xd800) << 10)
                            + (u32::from(low) - 0xdc00);
                        char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER)
                    }
                    0xdc00..=0xdfff => {
                        self.i -= 4;
                        return Err(self.fail("a high surrogate before a low one"));
                    }
                    u => char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER),
                };
                // The writer spells as `\u00xx` (lower case) only the control characters
                // that have no short escape.
                if self.strict
                    && !(lower && unit < 0x20 && !matches!(unit, 8 | 9 | 0xa | 0xc | 0xd))
                {
                    return Err(Fail::NotCanonical);
                }
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                return Ok(());
            }
            Some(b'/') => return Err(Fail::NotCanonical),
            _ => return Err(self.fail("an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX")),
        };
        self.i += 1;
        out.push(c as u8);
        Ok(())
    }

    /// Four hex digits: their value, and whether none was an upper-case letter.
    fn hex4(&mut self) -> Result<(u16, bool), Fail> {
        let mut v = 0u16;
        let mut lower = true;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => {
                    lower = false;
                    c - b'A' + 10
                }
                _ => return Err(self.fail("four hex digits after '\\u'")),
            };
            v = v << 4 | u16::from(d);
            self.i += 1;
        }
        Ok((v, lower))
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, Fail> {
        let start = self.i;
        let negative = self.eat(b'-');
        if !self.eat(b'0') && self.digits() == 0 {
            return Err(self.fail("a digit"));
        }
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            if self.digits() == 0 {
                return Err(self.fail("a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.i += 1;
            let _ = self.eat(b'+') || self.eat(b'-');
            if self.digits() == 0 {
                return Err(self.fail("a digit in the exponent"));
            }
        }
        // Only ASCII digits, signs, '.' and 'e' were read.
        let text = core::str::from_utf8(&self.b[start..self.i]).unwrap_or_default();
        let n = match (integer, negative) {
            (true, false) => text.parse::<u64>().ok().map(Number::from),
            // "-0" is the double -0, as serde_json reads it.
            (true, true) => text
                .parse::<i64>()
                .ok()
                .filter(|&i| i != 0)
                .map(Number::from),
            _ => None,
        };
        let n = match n {
            Some(n) => n,
            None => Number::from_f64(float::parse(text.as_bytes())).ok_or(Fail::Syntax {
                at: start,
                expected: "a number a double can hold",
            })?,
        };
        // An integer of at most 15 digits, not "-0", is held exactly and written with its
        // own digits; anything else is compared with how the writer writes it.
        if self.strict && !(integer && text.len() - usize::from(negative) <= 15 && text != "-0") {
            let mut w = String::new();
            if write_number(&n, &mut w).is_err() || w != text {
                return Err(Fail::NotCanonical);
            }
        }
        Ok(Value::Number(n))
    }
}

/// Whether `s` holds a character above U+FFFF (UTF-8 lead byte 0xF0 to 0xF4).
fn astral(s: &str) -> bool {
    s.bytes().any(|c| c >= 0xf0)
}

/// Whether `a` sorts before `b` by UTF-16 code units (see [`write_canonical_object`]).
fn utf16_less(a: &str, b: &str) -> bool {
    a.encode_utf16().lt(b.encode_utf16())
}

/// Sorts `v` by `less`, in place and not stably: a heapsort, O(n log n) whatever the
/// input, in a few hundred bytes of Wasm where the standard library's sort is 3 kB.
fn heapsort<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    // Moves v[root] down until it is not less than its children, within v[..end].
    let sift = |v: &mut [T], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            break;
        }
        if child + 1 < end && less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !less(&v[root], &v[child]) {
            break;
        }
        v.swap(root, child);
        root = child;
    };
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift(v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_sorted_by_the_writer_not_by_the_map() {
        // The tests build serde_json with `preserve_order` (see Cargo.toml): the map
        // iterates in insertion order, so the order out is the writer's own.
        let m: Map<String, Value> = [("b", 1u64), ("a", 2), ("\u{10000}", 3), ("\u{e000}", 4)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect();
        assert_eq!(
            m.keys().next().map(String::as_str),
            Some("b"),
            "serde_json's preserve_order is off in this test build"
        );
        assert_eq!(
            to_canonical(&Value::Object(m)).unwrap(),
            "{\"a\":2,\"b\":1,\"\u{10000}\":3,\"\u{e000}\":4}"
        );
        let m: Map<String, Value> = [("z", 1u64), ("y", 2)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect();
        assert_eq!(
            to_canonical(&Value::Object(m)).unwrap(),
            "{\"y\":2,\"z\":1}"
        );
    }

    #[test]
    fn heapsort_sorts_every_short_sequence() {
        // Every sequence of up to 7 values from 0..4 (repeats included), as sort does.
        for len in 0..=7u32 {
            for code in 0..4usize.pow(len) {
                let v: Vec<usize> = (0..len).map(|i| code / 4usize.pow(i) % 4).collect();
                let mut ours = v.clone();
                heapsort(&mut ours, |a, b| a < b);
                let mut want = v;
                want.sort();
                assert_eq!(ours, want);
            }
        }
        let mut big: Vec<u64> = (0..5000u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40)
            .collect();
        heapsort(&mut big, |a, b| a < b);
        assert!(big.windows(2).all(|w| w[0] <= w[1]));
    }

    /// The escaping rule, one character at a time, as RFC 8785 states it.
    fn model(s: &str) -> String {
        let mut out = String::from('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\u{c}' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn written(s: &str) -> String {
        let mut out = String::new();
        write_string(s, &mut out);
        out
    }

    #[test]
    fn every_character_is_written_as_the_rule_says() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            for s in [c.to_string(), format!("a{c}é{c}{c}\u{1f600}")] {
                assert_eq!(written(&s), model(&s), "{:?}", c as u32);
            }
        }
        assert_eq!(
            written("\u{1}x\u{1f}\"\\\u{7f}"),
            "\"\\u0001x\\u001f\\\"\\\\\u{7f}\""
        );
    }

    /// Every name of up to two characters from each range where the orders could
    /// differ, all in one object: the members come out in UTF-16 order.
    #[test]
    fn every_short_name_is_written_in_utf16_order() {
        let chars = [
            'a',
            '\u{7ff}',
            '\u{d7ff}',
            '\u{e000}',
            '\u{fb33}',
            '\u{ffff}',
            '\u{10000}',
            '\u{1f600}',
            '\u{10ffff}',
        ];
        let mut names = vec![String::new()];
        for &c in &chars {
            names.push(c.to_string());
            for &d in &chars {
                names.push(format!("{c}{d}"));
            }
        }
        let m: Map<String, Value> = names.iter().map(|n| (n.clone(), Value::Null)).collect();
        let written = to_canonical(&Value::Object(m)).unwrap();
        names.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
        let want: Vec<String> = names.iter().map(|n| format!("\"{n}\":null")).collect();
        assert_eq!(written, format!("{{{}}}", want.join(",")));
    }

    #[test]
    fn members_are_sorted_by_utf16_code_units() {
        // U+FB33 (one UTF-16 unit, 0xFB33) sorts after U+1F600 (surrogates 0xD83D 0xDE00),
        // though its UTF-8 bytes sort before; U+E000 likewise. ASCII names keep byte order.
        for (names, order) in [
            (
                vec!["\u{fb33}", "\u{1f600}", "a"],
                vec!["a", "\u{1f600}", "\u{fb33}"],
            ),
            (vec!["\u{e000}", "\u{10000}"], vec!["\u{10000}", "\u{e000}"]),
            (vec!["b", "a", "B", "aa"], vec!["B", "a", "aa", "b"]),
        ] {
            let m: Map<String, Value> =
                names.iter().map(|n| (n.to_string(), Value::Null)).collect();
            let got = to_canonical(&Value::Object(m)).unwrap();
            let want = format!(
                "{{{}}}",
                order
                    .iter()
                    .map(|n| format!("\"{n}\":null"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            assert_eq!(got, want);
        }
    }
}
