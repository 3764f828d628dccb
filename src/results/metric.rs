//! One metric row: label, unit and statistics, plus name matching and CloudAI metric keys.

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::lookup::Row;

/// Ordered `name → value` pairs whose names are shared by all rows of a table.
///
/// Sharing the names (one `Arc` per table) keeps a parsed row at one `Vec` of values, which
/// matters for the large synthetic tables of the benchmark more than for real files.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns<V> {
    names: Arc<[String]>,
    values: Vec<V>,
}

/// Statistics of a metric: `avg`, `p99`, `Value`, ... in file order; `None` when missing.
pub type Stats = Columns<Option<f64>>;

/// Text identity columns of a row, e.g. `GPU`, `Endpoint`, `GPU_UUID`.
pub type Attributes = Columns<String>;

impl<V> Columns<V> {
    /// Pairs `names` with `values`; both must have the same length.
    pub(crate) fn new(names: Arc<[String]>, values: Vec<V>) -> Self {
        debug_assert_eq!(names.len(), values.len());
        Self { names, values }
    }

    /// No columns.
    pub(crate) fn empty() -> Self {
        Self {
            names: Arc::from(Vec::new()),
            values: Vec::new(),
        }
    }

    /// Value of the column named exactly `name`, or, failing that, matched ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&V> {
        self.position(name).map(|i| &self.values[i])
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .or_else(|| self.names.iter().position(|n| n.eq_ignore_ascii_case(name)))
    }

    /// Whether a column of that name (ASCII case ignored) exists.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Column names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.values.iter())
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<V: Serialize> Serialize for Columns<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One metric: a CSV row or a JSON metric object.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Metric {
    /// The label exactly as written, e.g. `Time To First Token (ms)` or `time_to_first_token`.
    pub label: String,
    /// The label without its unit, e.g. `Time To First Token`.
    pub name: String,
    /// The unit: the last parenthesised group of the label, a `Unit` column, or JSON `unit`.
    pub unit: Option<String>,
    /// Text identity columns such as `GPU` (empty for plain metric tables).
    #[serde(skip_serializing_if = "Columns::is_empty")]
    pub attributes: Attributes,
    /// Statistics in file order.
    pub stats: Stats,
}

impl Metric {
    /// Value of statistic `stat` (`avg`, `p99`, `Value`, ...; ASCII case ignored).
    ///
    /// `None` both when the column does not exist and when the cell is missing; use
    /// [`Metric::stats`] to tell the two apart.
    pub fn stat(&self, stat: &str) -> Option<f64> {
        self.stats.get(stat).copied().flatten()
    }

    /// The statistic used when none is named: `avg` if the metric has one, else `Value`.
    pub fn default_stat(&self) -> Option<&str> {
        ["avg", "Value"]
            .into_iter()
            .find(|s| self.stats.contains(s))
    }

    /// Value of the default statistic (see [`Metric::default_stat`]).
    pub fn value(&self) -> Option<f64> {
        self.default_stat().and_then(|s| self.stat(s))
    }
}

impl Row for Metric {
    fn label(&self) -> &str {
        &self.label
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }
    fn stat_count(&self) -> usize {
        self.stats.len()
    }
    fn stat_name(&self, i: usize) -> &str {
        &self.stats.names[i]
    }
    fn stat_value(&self, i: usize) -> Option<f64> {
        self.stats.values[i]
    }
    fn attr_count(&self) -> usize {
        self.attributes.len()
    }
    fn attr(&self, i: usize) -> &str {
        &self.attributes.values[i]
    }
}

/// Splits `label` into name and unit at its last parenthesised group.
///
/// The group must close the label; nested parentheses inside it are balanced so that
/// `HTTP Waiting (TTFB) (ms)` gives (`HTTP Waiting (TTFB)`, `ms`).
pub fn split_unit(label: &str) -> (&str, Option<&str>) {
    let trimmed = trim_end(label);
    let Some(body) = trimmed.strip_suffix(')') else {
        return (trimmed, None);
    };
    // Byte-wise: `(` and `)` are ASCII, and no byte of a multi-byte UTF-8 character is, so
    // the bytes find the same parentheses at the same offsets as the characters would.
    let mut depth = 0usize;
    for (i, &b) in body.as_bytes().iter().enumerate().rev() {
        match b {
            b')' => depth += 1,
            b'(' if depth == 0 => {
                let name = trim_end(&body[..i]);
                let unit = trim(&body[i + 1..]);
                // `(ms)` alone is a name, not a unit of an empty name.
                if name.is_empty() {
                    return (trimmed, None);
                }
                return (name, (!unit.is_empty()).then_some(unit));
            }
            b'(' => depth -= 1,
            _ => {}
        }
    }
    (trimmed, None)
}

/// Whether `b` is a byte `str::trim` surely keeps: visible ASCII.
fn kept(b: Option<&u8>) -> bool {
    b.is_some_and(u8::is_ascii_graphic)
}

/// `s.trim()`, answered without the Unicode-aware scan when both ends are visible ASCII, as
/// in nearly every label and header cell.
pub(crate) fn trim(s: &str) -> &str {
    if kept(s.as_bytes().first()) && kept(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// `s.trim_end()`, without the Unicode-aware scan when `s` ends in visible ASCII.
fn trim_end(s: &str) -> &str {
    if kept(s.as_bytes().last()) {
        s
    } else {
        s.trim_end()
    }
}

/// Case-, separator- and spacing-insensitive comparison without allocating.
#[cfg(test)]
fn same_name(a: &str, b: &str) -> bool {
    fold(a).eq(fold(b))
}

/// Lower-cases and turns runs of `_`, `-` and whitespace into one space, trimmed.
pub(crate) fn fold(s: &str) -> impl Iterator<Item = char> + '_ {
    let mut pending_space = false;
    let mut started = false;
    s.chars()
        .flat_map(move |c| {
            if c == '_' || c == '-' || c.is_whitespace() {
                pending_space = started;
                return [None, None];
            }
            let space = std::mem::take(&mut pending_space).then_some(' ');
            started = true;
            [space, Some(c.to_ascii_lowercase())]
        })
        .flatten()
}

/// CloudAI's metric keys for the AIDynamo workload (`get_metric`'s argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricKey {
    /// `default` and `output-token-throughput`: system output token throughput.
    OutputTokenThroughput,
    /// `request-throughput`.
    RequestThroughput,
    /// `time-to-first-token`.
    TimeToFirstToken,
    /// `time-to-second-token`.
    TimeToSecondToken,
    /// `request-latency`.
    RequestLatency,
    /// `inter-token-latency`.
    InterTokenLatency,
}

impl MetricKey {
    /// Every key, in CloudAI's order.
    pub const ALL: [MetricKey; 6] = [
        Self::OutputTokenThroughput,
        Self::RequestThroughput,
        Self::TimeToFirstToken,
        Self::TimeToSecondToken,
        Self::RequestLatency,
        Self::InterTokenLatency,
    ];

    /// The key CloudAI spells `s` (`default` is output token throughput), if `s` is one.
    ///
    /// `None` is no error: every caller asks "is this a key?" and reads anything else as a
    /// metric label or name (`Query::new`, `cloudai_metric`'s key parser), so an `Option`
    /// (not a `FromStr` with an error type) is what this answers.
    pub fn from_key(s: &str) -> Option<Self> {
        if s == "default" {
            return Some(Self::OutputTokenThroughput);
        }
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The CloudAI spelling (`default` reads as [`MetricKey::OutputTokenThroughput`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutputTokenThroughput => "output-token-throughput",
            Self::RequestThroughput => "request-throughput",
            Self::TimeToFirstToken => "time-to-first-token",
            Self::TimeToSecondToken => "time-to-second-token",
            Self::RequestLatency => "request-latency",
            Self::InterTokenLatency => "inter-token-latency",
        }
    }

    /// Unit-free names the metric has had across genai-perf/aiperf versions and formats.
    ///
    /// `ttft`/`ttst` are aiperf 0.1.x JSON tags. Both throughput labels,
    /// `(per sec)` and `(tokens/sec)`, reduce to the same name.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Self::OutputTokenThroughput => &["Output Token Throughput"],
            Self::RequestThroughput => &["Request Throughput"],
            Self::TimeToFirstToken => &["Time To First Token", "ttft"],
            Self::TimeToSecondToken => &["Time To Second Token", "ttst"],
            Self::RequestLatency => &["Request Latency"],
            Self::InterTokenLatency => &["Inter Token Latency", "itl"],
        }
    }

    /// Whether values are durations, which key lookups report in milliseconds.
    pub fn is_duration(self) -> bool {
        !matches!(self, Self::OutputTokenThroughput | Self::RequestThroughput)
    }
}

/// Factor from `unit` to milliseconds, when `unit` is a duration.
pub(crate) fn to_millis(unit: &str) -> Option<f64> {
    match unit {
        "ns" => Some(1e-6),
        "us" | "µs" => Some(1e-3),
        "ms" => Some(1.0),
        "s" | "sec" => Some(1e3),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every concatenation of up to `n` of `pieces` (the empty string included).
    pub(crate) fn strings_of(pieces: &[&str], n: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..n {
            let next: Vec<String> = frontier
                .iter()
                .flat_map(|s| pieces.iter().map(move |p| format!("{s}{p}")))
                .collect();
            all.extend(next.iter().cloned());
            frontier = next;
        }
        all
    }

    /// The character-wise `split_unit` the byte-wise one replaced.
    fn split_unit_chars(label: &str) -> (&str, Option<&str>) {
        let trimmed = label.trim_end();
        let Some(body) = trimmed.strip_suffix(')') else {
            return (trimmed, None);
        };
        let mut depth = 0usize;
        for (i, c) in body.char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' if depth == 0 => {
                    let name = body[..i].trim_end();
                    let unit = body[i + 1..].trim();
                    if name.is_empty() {
                        return (trimmed, None);
                    }
                    return (name, (!unit.is_empty()).then_some(unit));
                }
                '(' => depth -= 1,
                _ => {}
            }
        }
        (trimmed, None)
    }

    #[test]
    fn split_unit_agrees_with_char_walk() {
        // Every string of up to five pieces over an alphabet of parentheses, ASCII and
        // Unicode spaces, letters and multi-byte characters.
        let pieces = [
            "(", ")", " ", "\u{a0}", "\u{3000}", "a", "\u{b5}s", "\t", "°C",
        ];
        for label in &strings_of(&pieces, 5) {
            assert_eq!(split_unit(label), split_unit_chars(label), "{label:?}");
            assert_eq!(trim(label), label.trim(), "{label:?}");
        }
    }

    #[test]
    fn unit_is_last_group() {
        assert_eq!(
            split_unit("Time To First Token (ms)"),
            ("Time To First Token", Some("ms"))
        );
        assert_eq!(
            split_unit("HTTP Waiting (TTFB) (ms)"),
            ("HTTP Waiting (TTFB)", Some("ms"))
        );
        assert_eq!(
            split_unit("OSL Mismatch Diff % (%)"),
            ("OSL Mismatch Diff %", Some("%"))
        );
        assert_eq!(split_unit("Request Count"), ("Request Count", None));
        assert_eq!(split_unit("Num Output Token"), ("Num Output Token", None));
        assert_eq!(split_unit("(ms)"), ("(ms)", None));
        assert_eq!(split_unit("a (b (c)) (x/y)"), ("a (b (c))", Some("x/y")));
        assert_eq!(split_unit("unbalanced)"), ("unbalanced)", None));
        assert_eq!(split_unit("x ()"), ("x", None));
    }

    #[test]
    fn names_fold() {
        assert!(same_name("Time To First Token", "time_to_first_token"));
        assert!(same_name("  Time  to-First token ", "TIME TO FIRST TOKEN"));
        assert!(!same_name(
            "Output Token Throughput",
            "Output Token Throughput Per User"
        ));
        assert!(!same_name("ab", "a b"));
    }

    #[test]
    fn keys_parse() {
        assert_eq!(
            MetricKey::from_key("default"),
            Some(MetricKey::OutputTokenThroughput)
        );
        for k in MetricKey::ALL {
            assert_eq!(MetricKey::from_key(k.as_str()), Some(k));
        }
        assert_eq!(MetricKey::from_key("Default"), None);
    }
}
