//! Go's `time.Duration` text form, which seid reads: `"0s"`, `"100ms"`, `"1m0s"`,
//! `"168h0m0s"`.

use std::fmt;

/// A signed duration in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct GoDuration(pub i64);

const NS: u128 = 1;
const US: u128 = 1_000;
const MS: u128 = 1_000_000;
const S: u128 = 1_000_000_000;
const M: u128 = 60 * S;
const H: u128 = 60 * M;

impl GoDuration {
    pub fn from_secs(s: i64) -> Self {
        GoDuration(s * 1_000_000_000)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Parses Go's syntax: an optional sign, then one or more decimal numbers (with an
    /// optional fraction) each followed by a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`).
    /// A bare `0` is allowed; any other number without a unit is an error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let err = |why: &str| format!("invalid duration {text:?}: {why}");
        let (negative, mut rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        if rest == "0" {
            return Ok(GoDuration(0));
        }
        if rest.is_empty() {
            return Err(err("empty"));
        }
        let mut total: u128 = 0;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            let whole = &rest[..digits];
            rest = &rest[digits..];
            let mut frac = "";
            if let Some(after) = rest.strip_prefix('.') {
                let n = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
                frac = &after[..n];
                rest = &after[n..];
            }
            if whole.is_empty() && frac.is_empty() {
                return Err(err("expected a number"));
            }
            let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
            let unit = match &rest[..unit_len] {
                "ns" => NS,
                "us" | "µs" | "μs" => US,
                "ms" => MS,
                "s" => S,
                "m" => M,
                "h" => H,
                "" => return Err(err("missing unit")),
                other => return Err(err(&format!("unknown unit {other:?}"))),
            };
            rest = &rest[unit_len..];
            let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| err("overflow"))? };
            let mut value = whole.checked_mul(unit).ok_or_else(|| err("overflow"))?;
            let mut scale = unit;
            for d in frac.bytes() {
                scale /= 10;
                value += u128::from(d - b'0') * scale;
            }
            total = total.checked_add(value).ok_or_else(|| err("overflow"))?;
        }
        let limit = if negative { i64::MAX as u128 + 1 } else { i64::MAX as u128 };
        if total > limit {
            return Err(err("overflow"));
        }
        let signed = if negative { (total as i128).wrapping_neg() as i64 } else { total as i64 };
        Ok(GoDuration(signed))
    }
}

/// Writes `frac` (< `unit`) as a decimal fraction of `unit`, without trailing zeros.
fn fraction(out: &mut String, frac: u128, unit: u128) {
    if frac == 0 {
        return;
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    out.push('.');
    out.push_str(digits.trim_end_matches('0'));
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        if self.0 < 0 {
            out.push('-');
        }
        let n = self.0.unsigned_abs() as u128;
        if n == 0 {
            return f.write_str("0s");
        }
        if n < S {
            let (unit, name) = if n < US {
                (NS, "ns")
            } else if n < MS {
                (US, "µs")
            } else {
                (MS, "ms")
            };
            out += &(n / unit).to_string();
            fraction(&mut out, n % unit, unit);
            out += name;
            return f.write_str(&out);
        }
        let (h, rem) = (n / H, n % H);
        let (m, rem) = (rem / M, rem % M);
        if h > 0 {
            out += &format!("{h}h");
        }
        if h > 0 || m > 0 {
            out += &format!("{m}m");
        }
        out += &(rem / S).to_string();
        fraction(&mut out, rem % S, S);
        out.push('s');
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::GoDuration;

    #[test]
    fn formats_like_go() {
        for (ns, text) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (100_000_000, "100ms"),
            (2_000_000_000, "2s"),
            (60_000_000_000, "1m0s"),
            (120_000_000_000, "2m0s"),
            (604_800_000_000_000, "168h0m0s"),
            (3_723_500_000_000, "1h2m3.5s"),
            (-5_000_000_000, "-5s"),
        ] {
            assert_eq!(GoDuration(ns).to_string(), text);
        }
    }

    #[test]
    fn parses_like_go() {
        for (text, ns) in [
            ("0", 0),
            ("5s", 5_000_000_000),
            ("1m30s", 90_000_000_000),
            ("1.5h", 5_400_000_000_000),
            ("100ms", 100_000_000),
            ("2us", 2_000),
            ("3µs", 3_000),
            ("-1s", -1_000_000_000),
            ("9999h0m0s", 35_996_400_000_000_000),
        ] {
            assert_eq!(GoDuration::parse(text), Ok(GoDuration(ns)), "{text}");
        }
        for bad in ["", "5", "s", "1x", "1.s.", "abc", "1h 2m", "99999999999999h"] {
            assert!(GoDuration::parse(bad).is_err(), "{bad:?} must fail");
        }
    }

    #[test]
    fn round_trips() {
        for ns in [1, 999, 1_000_001, 59_999_999_999, 86_400_000_000_000, -42] {
            let d = GoDuration(ns);
            assert_eq!(GoDuration::parse(&d.to_string()), Ok(d));
        }
    }
}
