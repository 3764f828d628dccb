//! Statistic cells: `1146.31`, `"1,146.31"`, `N/A`, empty, `nan`, `True`.

/// Parses one statistic cell; `Ok(None)` means "no value", `Err(())` "not a number".
///
/// Missing markers are the empty cell (aiperf), `N/A` (genai-perf) and NaN, which carries no
/// information either. Thousands separators are accepted only in well-formed groups so that a
/// cell like `1,14.6` is rejected instead of silently read as 114.6.
pub(crate) fn parse_stat(cell: &str) -> Result<Option<f64>, ()> {
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
            _ => return Err(()),
        }
    };
    Ok((!value.is_nan()).then_some(value))
}

/// `[-+]d{1,3}(,ddd)+[.d*]`, as written by Python's `f"{v:,.2f}"`.
///
/// Digits are gathered in a stack buffer: this runs for half the cells of a genai-perf file.
fn parse_grouped(t: &str) -> Result<f64, ()> {
    let mut buf = [0u8; 64];
    let mut len = 0;
    let mut push = |s: &[u8]| -> Result<(), ()> {
        let end = len + s.len();
        buf.get_mut(len..end).ok_or(())?.copy_from_slice(s);
        len = end;
        Ok(())
    };
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'-' | b'+') => t.split_at(1),
        _ => ("", t),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mut groups = int.split(',');
    let first = groups.next().ok_or(())?;
    if first.is_empty() || first.len() > 3 || !digits(first) {
        return Err(());
    }
    push(sign.as_bytes())?;
    push(first.as_bytes())?;
    for g in groups {
        if g.len() != 3 || !digits(g) {
            return Err(());
        }
        push(g.as_bytes())?;
    }
    if let Some(f) = frac {
        if !digits(f) {
            return Err(());
        }
        push(b".")?;
        push(f.as_bytes())?;
    }
    let text = std::str::from_utf8(&buf[..len]).map_err(|_| ())?;
    text.parse().map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::parse_stat;

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
            assert_eq!(parse_stat(s), Err(()), "{s:?}");
        }
    }
}
