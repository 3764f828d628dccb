//! Statistic cells: `1146.31`, `"1,146.31"`, `N/A`, empty, `nan`, `True`.

/// A statistic cell that is not a number (nor a missing-value marker). The reader adds the
/// file, position, metric and column ([`super::ResultsError::BadNumber`]); the number parser
/// knows none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a number")]
pub(crate) struct NotANumber;

/// Parses one statistic cell; `Ok(None)` means "no value".
///
/// Missing markers are the empty cell (aiperf), `N/A` (genai-perf) and NaN, which carries no
/// information either. Thousands separators are accepted only in well-formed groups so that a
/// cell like `1,14.6` is rejected instead of silently read as 114.6.
pub(crate) fn parse_stat(cell: &str) -> Result<Option<f64>, NotANumber> {
    if let Some(v) = parse_plain(cell.as_bytes()) {
        return Ok(Some(v));
    }
    let t = cell.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("n/a") {
        return Ok(None);
    }
    let value = if t.contains(',') {
        parse_grouped(t)?
    } else if let Ok(v) = t.parse::<f64>() {
        v
    } else {
        // aiperf's `_format_number` writes Python bools as `True`/`False`.
        match t {
            "True" => 1.0,
            "False" => 0.0,
            _ => return Err(NotANumber),
        }
    };
    Ok((!value.is_nan()).then_some(value))
}

/// Exact powers of ten: every one up to 1e22 is a double.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A statistic cell as scanned: validated, but a plain decimal is kept as its digits and
/// converted only when read, since a lookup reads a handful of the hundreds of cells of a
/// file and the division is the costliest step of the conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Stat {
    /// Empty, `N/A` or NaN.
    Missing,
    /// `±mantissa / 10^scale`, with `mantissa <= 2^53` and `scale <= 22`.
    Decimal {
        mantissa: u64,
        scale: u8,
        negative: bool,
    },
    /// Anything the general path parsed.
    Value(f64),
}

impl Stat {
    /// The number, as `parse_stat` gives it.
    ///
    /// The mantissa (at most 2^53) and the power of ten (at most 1e22) are both exact
    /// doubles, so one IEEE division rounds correctly: Clinger's fast path, also the first
    /// step of `str::parse`, which therefore gives the same double.
    pub(crate) fn value(self) -> Option<f64> {
        match self {
            Self::Missing => None,
            Self::Decimal {
                mantissa,
                scale,
                negative,
            } => {
                let v = mantissa as f64 / POW10[usize::from(scale)];
                Some(if negative { -v } else { v })
            }
            Self::Value(v) => Some(v),
        }
    }
}

impl From<Option<f64>> for Stat {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Self::Missing, Self::Value)
    }
}

/// `[-+]d+[.d+]` with at most 2^53 as digits and 22 decimals: nearly every cell of a real
/// export, parsed several times faster than `str::parse` while giving the same double.
///
/// `None` sends anything else, including padded cells, to the general path.
fn parse_plain(cell: &[u8]) -> Option<f64> {
    let (negative, digits) = match cell.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, cell),
    };
    match decimal(digits, 0, negative)? {
        (stat @ Stat::Decimal { .. }, end) if end == digits.len() => stat.value(),
        _ => None,
    }
}

/// A statistic cell starting at `bytes[pos]` that is empty or `[-]d+[.d+]` (as
/// [`parse_plain`]), and the offset just after it; the caller checks that a delimiter
/// follows. This lets the CSV reader parse numbers in the same pass that finds cell ends.
#[inline]
pub(crate) fn plain_number(bytes: &[u8], pos: usize) -> Option<(Stat, usize)> {
    let negative = bytes.get(pos) == Some(&b'-');
    match decimal(bytes, pos + usize::from(negative), negative)? {
        (Stat::Missing, _) if negative => None,
        found => Some(found),
    }
}

/// Unsigned `d+[.d+]` at `bytes[pos]`, or nothing at all ([`Stat::Missing`], `pos`
/// unchanged); `None` if the digits do not fit [`Stat::Decimal`] or a `.` has no digits
/// after it.
#[inline]
fn decimal(bytes: &[u8], pos: usize, negative: bool) -> Option<(Stat, usize)> {
    let (mantissa, int_end) = digits(bytes, pos, 0);
    if int_end == pos {
        return Some((Stat::Missing, pos));
    }
    let (mantissa, end) = match bytes.get(int_end) {
        Some(b'.') => digits(bytes, int_end + 1, mantissa),
        _ => (mantissa, int_end),
    };
    let scale = end.saturating_sub(int_end + 1);
    if (end > int_end && scale == 0) || scale > 22 || end - pos - usize::from(scale > 0) > 19 {
        return None;
    }
    if mantissa > 1 << 53 {
        return None;
    }
    let scale = u8::try_from(scale).ok()?;
    Some((
        Stat::Decimal {
            mantissa,
            scale,
            negative,
        },
        end,
    ))
}

/// The text of a quoted statistic cell if it is `[-]d{1,3}(,ddd)*[.d+]` or plain `[-]d+[.d+]`
/// within [`Stat::Decimal`]'s limits (genai-perf's `"1,146.31"`), read in one pass; `None`
/// leaves every other cell to [`parse_stat`], which gives the same value for these.
pub(crate) fn quoted_number(cell: &[u8]) -> Option<Stat> {
    let negative = cell.first() == Some(&b'-');
    let start = usize::from(negative);
    let (mut mantissa, mut end) = digits(cell, start, 0);
    let first_group = end - start;
    let mut count = first_group;
    if first_group == 0 {
        return None;
    }
    while cell.get(end) == Some(&b',') {
        let (m, e) = digits(cell, end + 1, mantissa);
        if first_group > 3 || e - end - 1 != 3 {
            return None;
        }
        (mantissa, end, count) = (m, e, count + 3);
    }
    let mut scale = 0;
    if cell.get(end) == Some(&b'.') {
        let (m, e) = digits(cell, end + 1, mantissa);
        scale = e - end - 1;
        if scale == 0 {
            return None;
        }
        (mantissa, end, count) = (m, e, count + scale);
    }
    if end != cell.len() || count > 19 || scale > 22 || mantissa > 1 << 53 {
        return None;
    }
    Some(Stat::Decimal {
        mantissa,
        scale: u8::try_from(scale).ok()?,
        negative,
    })
}

/// Accumulates the ASCII digits at `bytes[pos..]` onto `acc`; returns it and where they end.
/// Wraps on overflow: the caller rejects more than 19 digits.
#[inline]
fn digits(bytes: &[u8], mut pos: usize, mut acc: u64) -> (u64, usize) {
    while let Some(d) = bytes
        .get(pos)
        .map(|b| b.wrapping_sub(b'0'))
        .filter(|&d| d <= 9)
    {
        acc = acc.wrapping_mul(10).wrapping_add(u64::from(d));
        pos += 1;
    }
    (acc, pos)
}

/// `[-+]d{1,3}(,ddd)+[.d*]`, as written by Python's `f"{v:,.2f}"`.
///
/// Digits are gathered in a stack buffer: this runs for half the cells of a genai-perf file.
fn parse_grouped(t: &str) -> Result<f64, NotANumber> {
    let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or_default();
    let well_formed = (1..=3).contains(&first.len())
        && digits(first)
        && groups.all(|g| g.len() == 3 && digits(g))
        && frac.is_none_or(digits);
    if !well_formed {
        return Err(NotANumber);
    }
    // The same number without its separators: all ASCII by now.
    let mut buf = [0u8; 64];
    if t.len() > buf.len() {
        // Longer than any export writes, but a number all the same.
        return t.replace(',', "").parse().map_err(|_| NotANumber);
    }
    let mut len = 0;
    for b in t.bytes().filter(|&b| b != b',') {
        buf[len] = b;
        len += 1;
    }
    let ungrouped = &buf[..len];
    match parse_plain(ungrouped) {
        Some(v) => Ok(v),
        None => std::str::from_utf8(ungrouped)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(NotANumber),
    }
}

#[cfg(test)]
mod tests {
    use super::{NotANumber, parse_plain, parse_stat, plain_number, quoted_number};

    /// The fast path must agree bit for bit with `str::parse` wherever it answers.
    #[test]
    fn plain_matches_std() {
        let mut next = crate::test_rng::xorshift(0x2545_F491_4F6C_DD1Du64);
        let alphabet = b"0123456789.-+e,x ";
        for _ in 0..200_000 {
            let len = 1 + (next() % 24) as usize;
            let s: String = (0..len)
                .map(|i| {
                    // Mostly digits, so that many strings are plain decimals.
                    let r = next();
                    let pick = if i > 0 && r % 4 != 0 { r % 10 } else { r % 17 };
                    alphabet[pick as usize] as char
                })
                .collect();
            if let Some(v) = parse_plain(s.as_bytes()) {
                let expected: f64 = s.parse().unwrap_or_else(|_| panic!("{s:?}"));
                assert_eq!(v.to_bits(), expected.to_bits(), "{s:?}");
            }
        }
        for s in ["9007199254740992", "0.1", "-0", "1.7976"] {
            let expected: f64 = s.parse().unwrap();
            assert_eq!(
                parse_plain(s.as_bytes()).map(f64::to_bits),
                Some(expected.to_bits())
            );
        }
        for s in [
            "",
            "-",
            ".5",
            "5.",
            "1e5",
            " 1",
            "1 ",
            "9007199254740993",
            "1,000",
        ] {
            assert_eq!(parse_plain(s.as_bytes()), None, "{s:?}");
        }
    }

    #[test]
    fn plain_number_stops_at_the_cell_end() {
        let value = |b: &[u8], pos| plain_number(b, pos).map(|(s, end)| (s.value(), end));
        assert_eq!(value(b"12.5,x", 0), Some((Some(12.5), 4)));
        assert_eq!(value(b"a,-3\r\n", 2), Some((Some(-3.0), 4)));
        assert_eq!(value(b",", 0), Some((None, 0)));
        assert_eq!(value(b"", 0), Some((None, 0)));
        assert_eq!(value(b"N/A", 0), Some((None, 0)));
        assert_eq!(value(b"+1", 0), Some((None, 0)));
        for s in ["-,", "1.,", "12345678901234567890"] {
            assert_eq!(plain_number(s.as_bytes(), 0), None, "{s:?}");
        }
    }

    #[test]
    fn quoted_agrees_with_parse_stat() {
        for s in [
            "1,146.31",
            "19,035.11",
            "1,234,567.5",
            "-1,000",
            "12",
            "-0.5",
            "1,14.6",
            "1,1234",
            ",123",
            "1,",
            "1,234.",
            "+1,000",
            "1234,567",
            "",
            "N/A",
            "1,234.5x",
            "1.2.3",
        ] {
            if let Some(stat) = quoted_number(s.as_bytes()) {
                let expected = parse_stat(s).expect(s).expect(s);
                assert_eq!(
                    stat.value().map(f64::to_bits),
                    Some(expected.to_bits()),
                    "{s:?}"
                );
            }
        }
        assert!(quoted_number(b"1,146.31").is_some());
        assert!(quoted_number(b"1,14.6").is_none());
    }

    #[test]
    fn accepted() {
        assert_eq!(parse_stat("1146.31"), Ok(Some(1146.31)));
        assert_eq!(parse_stat("1,146.31"), Ok(Some(1146.31)));
        assert_eq!(parse_stat("19,035.11"), Ok(Some(19035.11)));
        assert_eq!(parse_stat("1,234,567.5"), Ok(Some(1234567.5)));
        assert_eq!(parse_stat("-1,000"), Ok(Some(-1000.0)));
        assert_eq!(parse_stat("-75.18"), Ok(Some(-75.18)));
        assert_eq!(parse_stat("5964158"), Ok(Some(5964158.0)));
        assert_eq!(parse_stat(" 0.00 "), Ok(Some(0.0)));
        assert_eq!(parse_stat("inf"), Ok(Some(f64::INFINITY)));
        assert_eq!(parse_stat("-inf"), Ok(Some(f64::NEG_INFINITY)));
        assert_eq!(parse_stat("True"), Ok(Some(1.0)));
        assert_eq!(parse_stat("False"), Ok(Some(0.0)));
        // Longer than the grouped reader's stack buffer (64 bytes), still 1000.
        let long = format!("1,000.{}", "0".repeat(70));
        assert_eq!(parse_stat(&long), Ok(Some(1000.0)));
    }

    #[test]
    fn missing() {
        for s in ["", "  ", "N/A", "n/a", "nan", "NaN"] {
            assert_eq!(parse_stat(s), Ok(None), "{s:?}");
        }
    }

    #[test]
    fn rejected() {
        for s in [
            "abc", "1,14.6", "1,1234", ",123", "1,", "12 34", "1.2.3", "--1", "1,234.5x",
            "1,234.-5", "1,2a4", "gpu0",
        ] {
            assert_eq!(parse_stat(s), Err(NotANumber), "{s:?}");
        }
    }
}
