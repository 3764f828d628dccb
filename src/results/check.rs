//! What a metric's values may be, whichever format they come from: finite; not negative
//! where the unit counts or measures time; and, for the metrics CloudAI's keys read, in a
//! unit the lookups know how to convert.
//!
//! The CSV scanner and the JSON reader both apply these rules, so a hostile or damaged file
//! fails with the position of the offending cell instead of being reported as a number.

use std::sync::OnceLock;

use super::lookup::{NamePattern, Prefilter, Row};
use super::metric::{MetricKey, to_millis};

/// genai-perf ≤ 0.0.4 wrote `-1` (`-1.00`) for a missing statistic
/// (perf_analyzer before 68106b06; shared/research/result-formats.md §2.4).
pub(crate) const MISSING_SENTINEL: f64 = -1.0;

/// Rates as the writers spell them: `tokens/sec`, `requests/sec`, `tokens/sec/user`, and
/// genai-perf's older `per sec`.
fn is_rate(unit: &str) -> bool {
    // Units are short: a window beats `str::contains`'s searcher, which a scan would set up
    // for every row read by a key.
    unit == "per sec" || unit.as_bytes().windows(4).any(|w| w == b"/sec")
}

/// Whether a metric with this name and unit can never be negative: durations, rates, token
/// and request counts. Percentages (aiperf's `OSL Mismatch Diff % (%)` is often negative)
/// and unknown units are not judged.
pub(crate) fn non_negative(name: &str, unit: Option<&str>) -> bool {
    match unit {
        Some(u) => {
            to_millis(u).is_some() || is_rate(u) || matches!(u, "tokens" | "count" | "requests")
        }
        // Unit-free counts: aiperf's `Request Count`, genai-perf 0.0.2dev's `Num Output Token`.
        None => {
            let name = name.trim();
            name.len() >= 5 && name[name.len() - 5..].eq_ignore_ascii_case("count")
                || name.starts_with("Num ")
        }
    }
}

/// What a statistic's value means once its metric is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Verdict {
    /// A value to report.
    Fine,
    /// The writer's way of saying "no value" (see [`MISSING_SENTINEL`]).
    Missing,
    /// No export can hold it; the text says what was expected.
    Impossible(&'static str),
}

/// Judges `value`; `non_negative` (see [`non_negative`]) is asked only for negative values,
/// which are rare, so the usual cost is one comparison.
pub(crate) fn judge(value: f64, non_negative: impl FnOnce() -> bool) -> Verdict {
    if !value.is_finite() {
        return Verdict::Impossible("a finite number");
    }
    if value < 0.0 && non_negative() {
        return if value == MISSING_SENTINEL {
            Verdict::Missing
        } else {
            Verdict::Impossible("a non-negative number for this unit")
        };
    }
    Verdict::Fine
}

/// Name patterns of every CloudAI key, and the filter of the rows they may match, prepared
/// once.
struct KeyPatterns {
    patterns: Vec<(NamePattern, MetricKey)>,
    filter: Prefilter,
}

fn key_patterns() -> &'static KeyPatterns {
    static PATTERNS: OnceLock<KeyPatterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let patterns: Vec<(NamePattern, MetricKey)> = MetricKey::ALL
            .into_iter()
            .flat_map(|k| k.names().iter().map(move |n| (NamePattern::new(n), k)))
            .collect();
        let filter = Prefilter::of_patterns(patterns.iter().map(|(p, _)| p));
        KeyPatterns { patterns, filter }
    })
}

/// The rows some CloudAI key may read: a scan rules most rows out with it before asking
/// [`unit_problem`].
pub(crate) fn key_filter() -> &'static Prefilter {
    &key_patterns().filter
}

/// The units a key's lookups accept, if `row` is read by a CloudAI key and its unit is not
/// one of them: durations are converted to milliseconds, so an unknown time unit would be
/// reported as milliseconds; rates are reported as they are, per second.
pub(crate) fn unit_problem(row: &impl Row) -> Option<&'static str> {
    let keys = key_patterns();
    // Most rows are ruled out here.
    if !keys.filter.may_match(row) {
        return None;
    }
    // The usual rows have the unit of their kind: only the other kind's keys can object.
    let unit = row.unit();
    let wanted = match unit {
        Some(u) if to_millis(u).is_some() => Some(false),
        Some(u) if is_rate(u) => Some(true),
        _ => None,
    };
    let key = keys
        .patterns
        .iter()
        .filter(|(_, k)| wanted.is_none_or(|duration| k.is_duration() == duration))
        .find(|(p, _)| p.matches(row))?
        .1;
    if key.is_duration() {
        unit.and_then(to_millis)
            .is_none()
            .then_some("a duration unit: ns, us, µs, ms, s or sec")
    } else {
        (!unit.is_some_and(is_rate))
            .then_some("a rate per second: tokens/sec, requests/sec or per sec")
    }
}

/// The unit as an error shows it.
pub(crate) fn describe_unit(unit: Option<&str>) -> String {
    unit.map_or_else(|| "none".to_owned(), |u| format!("`{u}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_negative_units() {
        for (name, unit) in [
            ("Time To First Token", Some("ms")),
            ("Output Token Throughput", Some("per sec")),
            ("x", Some("tokens/sec/user")),
            ("Request Count", None),
            ("Num Output Token", None),
            ("Input Sequence Length", Some("tokens")),
        ] {
            assert!(non_negative(name, unit), "{name} {unit:?}");
        }
        for (name, unit) in [
            ("OSL Mismatch Diff %", Some("%")),
            ("GPU Temperature", Some("C")),
            ("Something", None),
        ] {
            assert!(!non_negative(name, unit), "{name} {unit:?}");
        }
    }
}
