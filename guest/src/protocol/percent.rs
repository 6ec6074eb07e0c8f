//! A progress percentage written as text (`"42"`, `"100%"` once the `%` is cut), read exactly
//! as `s.parse::<f64>()` then clamped to 0..=100 and truncated would read it, without Rust's
//! float parser: that parser and its tables are ~19 KB of the component, for a field that is
//! in practice a small integer.
//!
//! The result only depends on the integer part N of the decimal value and on whether rounding
//! the value to the nearest `f64` would carry it up to N + 1, which for 0 ≤ N < 100 happens
//! exactly when its fraction is at least 1 − 2^−m, m = 53 − ⌊log2 x⌋ (half the spacing of the
//! doubles just below N + 1; a tie goes to N + 1, whose mantissa is even).

/// `s.parse::<f64>().ok().map(|n| n.clamp(0.0, 100.0) as u8)`.
pub fn parse_percent(s: &str) -> Option<u8> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case("nan") {
        return Some(0);
    }
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(if negative { 0 } else { 100 });
    }
    let b = body.as_bytes();
    let mut i = 0;
    // The value is 0.d1d2d3… × 10^point, d1 ≠ 0 (no digits: zero).
    let mut digits: Vec<u8> = Vec::new();
    let mut point: i64 = 0;
    let mut any_digit = false;
    while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
        any_digit = true;
        if !(digits.is_empty() && *d == b'0') {
            digits.push(d - b'0');
            point += 1;
        }
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
            any_digit = true;
            if digits.is_empty() && *d == b'0' {
                point -= 1;
            } else {
                digits.push(d - b'0');
            }
            i += 1;
        }
    }
    if !any_digit {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let negative_exp = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut exp: i64 = 0;
        while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
            // Saturated: 10^(2^40) is infinite and 10^-(2^40) zero all the same.
            exp = (exp * 10 + i64::from(d - b'0')).min(1 << 40);
            i += 1;
        }
        if i == start {
            return None;
        }
        point += if negative_exp { -exp } else { exp };
    }
    if i != b.len() {
        return None;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() || negative {
        return Some(0);
    }
    if point >= 3 {
        return Some(100);
    }
    if point < 0 {
        // Below 0.1: rounding cannot reach 1.
        return Some(0);
    }
    let point = point as usize;
    let whole = digits[..point]
        .iter()
        .fold(0u32, |n, d| n * 10 + u32::from(*d));
    let fraction = &digits[point..];
    // ⌊log2 x⌋ for x in [whole, whole + 1), and for x in [0.5, 1) when whole is 0.
    let log2 = if whole == 0 {
        -1
    } else {
        31 - whole.leading_zeros() as i32
    };
    let m = (53 - log2) as usize;
    let rounds_up = fraction_at_least(fraction, &one_minus_two_to_minus(m));
    Some((whole + u32::from(rounds_up)) as u8)
}

/// The m decimal digits of 1 − 2^−m (that is, of 10^m − 5^m).
fn one_minus_two_to_minus(m: usize) -> Vec<u8> {
    // 5^m, least significant digit first.
    let mut five = vec![1u8];
    for _ in 0..m {
        let mut carry = 0;
        for d in five.iter_mut() {
            let v = *d * 5 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        if carry > 0 {
            five.push(carry);
        }
    }
    five.resize(m, 0);
    // 10^m − 5^m, most significant digit first.
    let mut out = vec![0u8; m];
    let mut borrow = 0;
    for (k, d) in five.iter().enumerate() {
        let sub = d + borrow;
        let (v, b) = if sub == 0 { (0, 0) } else { (10 - sub, 1) };
        out[m - 1 - k] = v;
        borrow = b;
    }
    out
}

/// Whether 0.`fraction` ≥ 0.`bound` (`bound` a fixed number of digits).
fn fraction_at_least(fraction: &[u8], bound: &[u8]) -> bool {
    for (k, b) in bound.iter().enumerate() {
        let f = fraction.get(k).copied().unwrap_or(0);
        if f != *b {
            return f > *b;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_way(s: &str) -> Option<u8> {
        s.parse::<f64>().ok().map(|n| n.clamp(0.0, 100.0) as u8)
    }

    fn check(s: &str) {
        assert_eq!(parse_percent(s), std_way(s), "{s:?}");
    }

    /// The exact decimal expansion of the midpoint between the double below `k` and `k`.
    fn midpoint_below(k: u32) -> String {
        let below = f64::from(k).next_down();
        let exact = format!("{below:.80}");
        let (int, frac) = exact.split_once('.').unwrap();
        // below + (k − below) / 2, digit by digit on 80 fractional digits.
        let below_digits: Vec<u8> = format!("{int:0>3}{frac}")
            .bytes()
            .map(|c| c - b'0')
            .collect();
        let k_digits: Vec<u8> = format!("{k:0>3}{}", "0".repeat(80))
            .bytes()
            .map(|c| c - b'0')
            .collect();
        let mut sum = vec![0u8; below_digits.len() + 1];
        let mut carry = 0;
        for i in (0..below_digits.len()).rev() {
            let v = below_digits[i] + k_digits[i] + carry;
            sum[i + 1] = v % 10;
            carry = v / 10;
        }
        sum[0] = carry;
        let mut half = Vec::new();
        let mut rem = 0;
        for d in sum {
            let v = rem * 10 + d;
            half.push(v / 2);
            rem = v % 2;
        }
        assert_eq!(rem, 0);
        let text: String = half.iter().map(|d| (d + b'0') as char).collect();
        let int_len = 4;
        format!("{}.{}", &text[..int_len], &text[int_len..])
    }

    #[test]
    fn reads_like_the_float_parser() {
        let fixed = [
            "",
            "%",
            "0",
            "00",
            "-0",
            "+0",
            "42",
            "+42",
            "-42",
            "100",
            "101",
            "255",
            "256",
            "1000",
            "99",
            "99.5",
            "99.9",
            "0.5",
            ".5",
            "5.",
            ".",
            "-.",
            "+",
            "-",
            "1e2",
            "1E2",
            "1e+2",
            "1e-2",
            "1e",
            "1e+",
            "e5",
            ".e5",
            "1.5e1",
            "0.015e3",
            "5e-324",
            "1e-400",
            "1e400",
            "1e99999999999999999999",
            "1e-99999999999999999999",
            "inf",
            "INF",
            "-inf",
            "+Infinity",
            "infinity",
            "nan",
            "NaN",
            "-nan",
            "infin",
            "nanx",
            "1_0",
            "1 0",
            " 1",
            "0x10",
            "١",
            "0.000000000000000000000000000000000000000000000000000000000001e60",
            "123456789012345678901234567890e-28",
            "42%",
        ];
        for s in fixed {
            check(s);
        }
        for k in 1..=101u32 {
            for nines in [1, 2, 5, 13, 14, 15, 16, 17, 18, 25, 60] {
                let n9 = "9".repeat(nines);
                for tail in ["", "0", "1", "4", "5", "49", "5000001", "9"] {
                    check(&format!("{}.{n9}{tail}", k - 1));
                    check(&format!("{}.{n9}{tail}e1", k - 1));
                    check(&format!("0.{}{n9}{tail}e2", k - 1));
                }
            }
            let mid = midpoint_below(k);
            check(&mid);
            // Just below and just above the midpoint.
            let digits: Vec<u8> = mid.bytes().collect();
            let last = digits
                .iter()
                .rposition(|c| (b'1'..=b'9').contains(c))
                .unwrap();
            let mut below = digits.clone();
            below[last] -= 1;
            below.extend_from_slice(b"99999999");
            check(std::str::from_utf8(&below).unwrap());
            check(&format!("{mid}00000000000001"));
            check(&format!("{mid}e0"));
        }
    }
}
