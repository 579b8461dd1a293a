//! Decimal text to the nearest IEEE 754 double (ties to even), small rather than fast.
//!
//! The standard library's parser carries a table of 128-bit powers of five that costs
//! the browser builds 14 kB gzip. Numbers that are not integers are rare in ledger
//! documents, so this one keeps only a fast path for short decimals and does everything
//! else exactly with a small big-integer division.
//!
//! - **Fast path** (Clinger): at most 15 significant digits and a power of ten up to
//!   22 either way. Both operands are exact doubles, so one IEEE multiplication or
//!   division rounds once, correctly.
//! - **Exact path**: the value is `A / B` with `A` the digits and `B` a power of ten
//!   (or the other way up). The 64-bit quotient of `A * 2^s / B`, with a sticky bit for
//!   any remainder, is rounded to 53 bits (fewer for subnormals) by hand.
//! - Digits past the 768th are replaced by a single 1: 768 significant digits tell any
//!   two halfway points apart, and the 1 keeps "above the truncation" visible.

/// `text` matches `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` (checked by the
/// reader). The result may be infinite; the caller decides what that means.
pub(super) fn parse(text: &[u8]) -> f64 {
    let (negative, rest) = match text.split_first() {
        Some((b'-', r)) => (true, r),
        _ => (false, text),
    };
    let (mantissa, exp_part) = match rest.iter().position(|&c| c == b'e' || c == b'E') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b""[..]),
    };
    // The exponent, saturated well past where every value is 0 or infinite.
    let (exp_neg, exp_digits) = match exp_part.split_first() {
        Some((b'-', r)) => (true, r),
        Some((b'+', r)) => (false, r),
        _ => (false, exp_part),
    };
    let mut exp10: i64 = 0;
    for &c in exp_digits {
        exp10 = (exp10 * 10 + i64::from(c - b'0')).min(1 << 40);
    }
    if exp_neg {
        exp10 = -exp10;
    }
    // Significant digits, without leading or trailing zeros; `exp10` becomes the
    // power of ten of the last one kept.
    let mut digits: Vec<u8> = Vec::new();
    let mut after_point = false;
    for &c in mantissa {
        if c == b'.' {
            after_point = true;
            continue;
        }
        if after_point {
            exp10 -= 1;
        }
        if !(digits.is_empty() && c == b'0') {
            digits.push(c - b'0');
        }
    }
    while digits.last() == Some(&0) {
        digits.pop();
        exp10 += 1;
    }
    let magnitude = magnitude(&mut digits, exp10);
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

const MAX_DIGITS: usize = 768;

fn magnitude(digits: &mut Vec<u8>, mut exp10: i64) -> f64 {
    if digits.is_empty() {
        return 0.0;
    }
    // The value lies in [10^(point-1), 10^point).
    let point = digits.len() as i64 + exp10;
    if point > 310 {
        return f64::INFINITY;
    }
    if point < -324 {
        return 0.0;
    }
    if digits.len() > MAX_DIGITS {
        exp10 += (digits.len() - MAX_DIGITS - 1) as i64;
        digits.truncate(MAX_DIGITS);
        digits.push(1);
    }
    if digits.len() <= 15 && (-22..=22).contains(&exp10) {
        let d = digits.iter().fold(0u64, |a, &c| a * 10 + u64::from(c)) as f64;
        let p = pow10(exp10.unsigned_abs() as u32);
        return if exp10 < 0 { d / p } else { d * p };
    }
    let mut a = Big::from_digits(digits);
    let mut b = Big(vec![1]);
    if exp10 >= 0 {
        a.mul_pow10(exp10 as u32);
    } else {
        b.mul_pow10(exp10.unsigned_abs() as u32);
    }
    // Scale so that the quotient has 64 or 65 bits, then divide.
    let mut s = 64 - a.bits() as i64 + b.bits() as i64;
    if s >= 0 {
        a.shl(s as usize);
    } else {
        b.shl(s.unsigned_abs() as usize);
    }
    let (mut q, mut sticky) = a.div_small_quotient(&b);
    if q >> 64 != 0 {
        sticky |= q & 1 != 0;
        q >>= 1;
        s -= 1;
    }
    round(q as u64, sticky, 63 - s)
}

/// The double nearest to `(q + f) * 2^(e2 - 63)`, where `q` has its top bit set, `0 <= f
/// < 1` and `sticky` says whether `f > 0`.
fn round(q: u64, sticky: bool, e2: i64) -> f64 {
    // Bits of `q` below the last one kept: 11 for a normal double, more below 2^-1022.
    let shift = 11 + (-1022 - e2).max(0);
    if shift > 64 {
        return 0.0;
    }
    let q = u128::from(q);
    let kept = q >> shift;
    let rem = q & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    let up = rem > half || (rem == half && (sticky || kept & 1 == 1));
    let kept = (kept + u128::from(up)) as u64;
    if shift > 11 {
        // Subnormal; a carry into bit 52 is the smallest normal, which the bits spell.
        return f64::from_bits(kept);
    }
    let (kept, e2) = if kept >> 53 != 0 {
        (kept >> 1, e2 + 1)
    } else {
        (kept, e2)
    };
    if e2 > 1023 {
        return f64::INFINITY;
    }
    f64::from_bits(((e2 + 1023) as u64) << 52 | (kept & ((1 << 52) - 1)))
}

/// 10^k for k <= 22, exactly.
fn pow10(k: u32) -> f64 {
    (0..k).fold(1.0, |p, _| p * 10.0)
}

/// A non-negative integer, 32-bit limbs, least significant first, no leading zero limb.
struct Big(Vec<u32>);

impl Big {
    fn from_digits(digits: &[u8]) -> Big {
        let mut n = Big(Vec::new());
        for chunk in digits.chunks(9) {
            let v = chunk.iter().fold(0u32, |a, &c| a * 10 + u32::from(c));
            n.mul_add(10u32.pow(chunk.len() as u32), v);
        }
        n
    }

    fn mul_add(&mut self, m: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.0 {
            let t = u64::from(*limb) * u64::from(m) + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut k: u32) {
        while k > 0 {
            let step = k.min(9);
            self.mul_add(10u32.pow(step), 0);
            k -= step;
        }
    }

    fn bits(&self) -> usize {
        self.0
            .last()
            .map_or(0, |top| 32 * self.0.len() - top.leading_zeros() as usize)
    }

    fn shl(&mut self, n: usize) {
        let (limbs, bits) = (n / 32, n % 32);
        if bits != 0 {
            let mut carry = 0;
            for limb in &mut self.0 {
                let t = *limb;
                *limb = t << bits | carry;
                carry = t >> (32 - bits);
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, core::iter::repeat_n(0, limbs));
    }

    fn shr1(&mut self) {
        let mut carry = 0;
        for limb in self.0.iter_mut().rev() {
            let t = *limb;
            *limb = t >> 1 | carry;
            carry = t << 31;
        }
        self.trim();
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn ge(&self, other: &Big) -> bool {
        if self.0.len() != other.0.len() {
            return self.0.len() > other.0.len();
        }
        self.0.iter().rev().cmp(other.0.iter().rev()) != core::cmp::Ordering::Less
    }

    fn sub(&mut self, other: &Big) {
        let mut borrow = false;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let o = other.0.get(i).copied().unwrap_or(0);
            let (t, b1) = limb.overflowing_sub(o);
            let (t, b2) = t.overflowing_sub(u32::from(borrow));
            *limb = t;
            borrow = b1 || b2;
        }
        self.trim();
    }

    /// `floor(self / d)` where that is below 2^65, and whether there is a remainder.
    /// Consumes `self` as the remainder.
    fn div_small_quotient(&mut self, d: &Big) -> (u128, bool) {
        let mut d = Big(d.0.clone());
        d.shl(64);
        let mut q = 0u128;
        for _ in 0..=64 {
            q <<= 1;
            if self.ge(&d) {
                self.sub(&d);
                q |= 1;
            }
            d.shr1();
        }
        (q, !self.0.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    /// The standard library's parser is the reference: correctly rounded, ties to even.
    fn check(s: &str) {
        let want: f64 = s.parse().unwrap();
        let got = parse(s.as_bytes());
        assert_eq!(got.to_bits(), want.to_bits(), "{s}: {got:e} vs {want:e}");
    }

    /// A deterministic stream of 64-bit values (xorshift64*).
    fn stream(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// The exact decimal expansion of a finite double, as (integer digits, 1100
    /// fraction digits).
    fn exact(x: f64) -> Vec<u8> {
        format!("{x:.1100}")
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|c| c - b'0')
            .collect()
    }

    /// The exact decimal of the point halfway between `a` and the next double up.
    fn halfway(a: f64) -> String {
        sum(a, f64::from_bits(a.to_bits() + 1), true)
    }

    /// The exact decimal of `a + b`, or of `(a + b) / 2`.
    fn sum(a: f64, b: f64, halve: bool) -> String {
        let (x, y) = (exact(a), exact(b));
        let width = x.len().max(y.len());
        let pad = |v: Vec<u8>| [vec![0; width - v.len()], v].concat();
        let (x, y) = (pad(x), pad(y));
        // On digit strings, most significant first, with one more fraction digit for
        // the half.
        let mut sum = vec![0u8; width + 1];
        let mut carry = 0;
        for i in (0..width).rev() {
            let t = x[i] + y[i] + carry;
            sum[i + 1] = t % 10;
            carry = t / 10;
        }
        sum[0] = carry;
        sum.push(0);
        if halve {
            let mut rem = 0;
            for d in &mut sum {
                let t = rem * 10 + *d;
                *d = t / 2;
                rem = t % 2;
            }
        }
        let point = sum.len() - 1101;
        let digits: String = sum.iter().map(|d| char::from(b'0' + d)).collect();
        let (int, frac) = digits.split_at(point);
        let int = int.trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        match frac.trim_end_matches('0') {
            "" => int.to_owned(),
            frac => format!("{int}.{frac}"),
        }
    }

    #[test]
    fn known_hard_cases() {
        for s in [
            "0",
            "-0",
            "0.0",
            "1",
            "0.1",
            "0.3",
            "1e23",
            "1e22",
            "9007199254740993",
            "9007199254740992.5",
            "9007199254740993.0000000000000000001",
            "8.98846567431158e307",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "1e308",
            "1e309",
            "1e-307",
            "2.2250738585072011e-308",
            "2.2250738585072012e-308",
            "2.2250738585072014e-308",
            "4.9406564584124654e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "1e-323",
            "1e-324",
            "1e-400",
            "1e400",
            "123456789012345678901234567890",
            "0.000001",
            "1e-7",
            "3.14159265358979323846264338327950288419716939937510",
            "100000000000000000000000",
            "1000000000000000000000000000000e-30",
            "5e-1",
            "123.456e2",
            "123.456e-2",
            "999999999999999999999999999999999999e-20",
            "7.2057594037927933e16",
            "1.448997445238699",
            "4.35679e-13",
        ] {
            check(s);
        }
    }

    #[test]
    fn random_doubles_in_every_spelling() {
        let mut next = stream(0x5eed);
        for _ in 0..3000 {
            let x = f64::from_bits(next() & !(1 << 63));
            if !x.is_finite() {
                continue;
            }
            for s in [
                format!("{x:e}"),
                format!("{x:.17e}"),
                format!("{x:.25e}"),
                format!("{x}"),
                format!("-{x:.3e}"),
            ] {
                check(&s);
            }
        }
    }

    /// Integers just at, above and below a halfway point, the extra bit at every
    /// position; and random 128-bit integers.
    #[test]
    fn integers_near_halfway_points() {
        for k in 54..128 {
            let tie = (1u128 << k) + (1 << (k - 53));
            check(&tie.to_string());
            for j in 0..k - 53 {
                check(&(tie + (1 << j)).to_string());
                check(&(tie - (1 << j)).to_string());
                check(&(tie + (1 << (k - 52)) + (1 << j)).to_string());
            }
        }
        let mut next = stream(0x1d);
        for _ in 0..3000 {
            let n = u128::from(next()) << (next() % 64) | u128::from(next());
            check(&n.to_string());
        }
    }

    /// Halfway between two doubles, exactly, and just above and below it; subnormals,
    /// the normal boundary, and the largest doubles included.
    #[test]
    fn halfway_points_round_to_even() {
        let mut next = stream(0xfee1);
        let mut points = vec![
            0.0,
            f64::MIN_POSITIVE,
            f64::from_bits(f64::MIN_POSITIVE.to_bits() - 1),
            1.0,
            9007199254740992.0,
        ];
        points.push(f64::from_bits(f64::MAX.to_bits() - 1));
        for _ in 0..150 {
            // Exponents spread evenly, so subnormals and the extremes come up.
            let exponent = next() % 2047;
            points.push(f64::from_bits(exponent << 52 | (next() & ((1 << 52) - 1))));
        }
        for a in points
            .into_iter()
            .filter(|a| a.is_finite() && *a < f64::MAX)
        {
            let mid = halfway(a);
            check(&mid);
            check(&format!("{mid}1"));
            check(&format!("{mid}{}1", "0".repeat(800)));
            let significant = mid.trim_start_matches(['0', '.']).len();
            for keep in [17, 25, 400, 766, 767, 768, 769, 770] {
                if keep < significant {
                    let cut = mid.len() - (significant - keep);
                    check(&mid[..cut]);
                }
            }
        }
        // Halfway above the largest double, MAX + 2^970, rounds to even: infinity. Below
        // it, the largest double.
        let above = sum(f64::MAX, 2f64.powi(970), false);
        assert_eq!(parse(above.as_bytes()), f64::INFINITY);
        check(&above);
        // Its first 300 digits, scaled back: a little below it.
        let below = format!("{}e{}", &above[..300], above.len() - 300);
        assert_eq!(parse(below.as_bytes()), f64::MAX);
        check(&below);
    }
}
