//! Metric lookups, shared by parsed [`Results`](super::Results) and the streaming CSV scan.
//!
//! A [`Query`] is prepared once (key parsed, names folded) and then offered every row of a
//! file in order; the same code answers [`Results::lookup`](super::Results::lookup) and
//! [`lookup_many`](super::lookup_many), so both agree by construction.

use std::path::Path;

use super::error::LookupError;
use super::metric::{MetricKey, fold, split_unit, to_millis};

/// What a lookup needs of a metric row, whether parsed into a [`Metric`](super::Metric) or
/// borrowed from the input while scanning.
pub(crate) trait Row {
    /// The label as written.
    fn label(&self) -> &str;
    /// The label without its unit.
    fn name(&self) -> &str;
    /// First character of the folded name (see [`initial`]); rows that scan override it
    /// with a value computed once per row rather than once per query.
    fn name_initial(&self) -> Option<char> {
        initial(self.name())
    }
    /// First character of the folded label.
    fn label_initial(&self) -> Option<char> {
        initial(self.label())
    }
    /// The unit, if any.
    fn unit(&self) -> Option<&str>;
    /// Number of statistics.
    fn stat_count(&self) -> usize;
    /// Name of statistic `i`.
    fn stat_name(&self, i: usize) -> &str;
    /// Value of statistic `i`; `None` when missing.
    fn stat_value(&self, i: usize) -> Option<f64>;
    /// Number of attribute (identity) columns, such as `GPU`.
    fn attr_count(&self) -> usize;
    /// Attribute `i`.
    fn attr(&self, i: usize) -> &str;
    /// Byte offset of the row's label in its file, when the row is read from one.
    fn offset(&self) -> Option<usize> {
        None
    }
}

/// Whether two rows are the same metric: same label, unit and attributes (a GPU table
/// repeats each label once per GPU). A file holding two such rows is refused.
pub(crate) fn same_metric(a: &impl Row, b: &Kept) -> bool {
    a.label() == b.label
        && a.unit() == b.unit.as_deref()
        && a.attr_count() == b.attrs.len()
        && (0..a.attr_count()).all(|i| a.attr(i) == b.attrs[i])
}

/// The identity of a row a lookup answered from, kept to recognise a second copy of it.
#[derive(Debug, Clone)]
pub(crate) struct Kept {
    label: String,
    unit: Option<String>,
    attrs: Vec<String>,
    /// Where the row is, if it was read from a file.
    pub(crate) offset: Option<usize>,
}

impl Kept {
    pub(crate) fn of(row: &impl Row) -> Self {
        Self {
            label: row.label().to_owned(),
            unit: row.unit().map(str::to_owned),
            attrs: (0..row.attr_count())
                .map(|i| row.attr(i).to_owned())
                .collect(),
            offset: row.offset(),
        }
    }
}

/// Two copies of the metric a lookup reads: byte offsets of the first and the second, and
/// the label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    pub(crate) first: usize,
    pub(crate) second: usize,
    pub(crate) label: String,
}

/// Index of statistic `name`: exact match first, else ASCII case ignored.
pub(crate) fn stat_position(row: &impl Row, name: &str) -> Option<usize> {
    let n = row.stat_count();
    (0..n)
        .find(|&i| row.stat_name(i) == name)
        .or_else(|| (0..n).find(|&i| row.stat_name(i).eq_ignore_ascii_case(name)))
}

/// The statistic used when none is named: `avg` if the row has one, else `Value`.
pub(crate) fn default_stat(row: &impl Row) -> Option<&'static str> {
    ["avg", "Value"]
        .into_iter()
        .find(|s| stat_position(row, s).is_some())
}

/// Value of `stat` (default: see [`default_stat`]) of `row`.
pub(crate) fn stat_value(row: &impl Row, stat: Option<&str>) -> Result<f64, LookupError> {
    // With neither `avg` nor `Value`, report the absence of `avg`, the CloudAI default.
    let stat = stat.or_else(|| default_stat(row)).unwrap_or("avg");
    match stat_position(row, stat).map(|i| row.stat_value(i)) {
        Some(Some(v)) => Ok(v),
        Some(None) => Err(LookupError::MissingValue {
            metric: row.label().to_owned(),
            stat: stat.to_owned(),
        }),
        None => Err(LookupError::StatNotFound {
            metric: row.label().to_owned(),
            stat: stat.to_owned(),
            available: (0..row.stat_count())
                .map(|i| row.stat_name(i))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// First character of `fold(s)`: the first that is not a separator, lower-cased.
pub(crate) fn initial(s: &str) -> Option<char> {
    s.chars()
        .find(|&c| !is_separator(c))
        .map(|c| c.to_ascii_lowercase())
}

fn is_separator(c: char) -> bool {
    c == '_' || c == '-' || c.is_whitespace()
}

/// A name query folded once (case, unit, `_`/`-`/space runs), so that testing a row costs a
/// comparison that usually stops at the first character, without allocating.
#[derive(Debug, Clone)]
pub(crate) struct NamePattern {
    /// The folded query and, if different, the folded query without its last group (which
    /// may be a unit, as in `Time To First Token (ms)`, or part of the name, as in
    /// `HTTP Waiting (TTFB)`).
    folded: Vec<Folded>,
}

/// A folded query and its first character, compared before anything else: most rows differ
/// there.
#[derive(Debug, Clone)]
struct Folded {
    text: String,
    initial: Option<char>,
}

impl Folded {
    fn new(query: &str) -> Self {
        let text: String = fold(query).collect();
        let initial = text.chars().next();
        Self { text, initial }
    }
}

impl NamePattern {
    pub(crate) fn new(query: &str) -> Self {
        let mut folded = vec![Folded::new(query)];
        let unit_free = Folded::new(split_unit(query).0);
        if unit_free.text != folded[0].text {
            folded.push(unit_free);
        }
        Self { folded }
    }

    /// Whether the row's name or label folds to the query.
    pub(crate) fn matches(&self, row: &impl Row) -> bool {
        self.folded.iter().any(|q| {
            (row.name_initial() == q.initial && fold_eq(row.name(), &q.text))
                || (row.label_initial() == q.initial && fold_eq(row.label(), &q.text))
        })
    }
}

/// `fold(s)` equals the already folded `folded`, stopping at the first difference.
fn fold_eq(s: &str, folded: &str) -> bool {
    let mut want = folded.chars();
    let mut pending_space = false;
    let mut started = false;
    for c in s.chars() {
        if is_separator(c) {
            pending_space = started;
            continue;
        }
        if std::mem::take(&mut pending_space) && want.next() != Some(' ') {
            return false;
        }
        started = true;
        if want.next() != Some(c.to_ascii_lowercase()) {
            return false;
        }
    }
    want.next().is_none()
}

/// One way a query can match a row, in order of preference.
#[derive(Debug, Clone)]
enum Alternative {
    /// The label exactly as written.
    Label(String),
    /// A unit-free, case- and separator-insensitive name.
    Name(NamePattern),
}

impl Alternative {
    fn matches(&self, row: &impl Row) -> bool {
        match self {
            Self::Label(label) => row.label() == label,
            Self::Name(pattern) => pattern.matches(row),
        }
    }
}

/// A prepared metric lookup: a CloudAI key (`default`, `time-to-first-token`, ...), else an
/// exact label, else a unit-free name; plus the statistic (default `avg` or `Value`).
///
/// Build it once and reuse it across files: parsing the key and folding the names is then
/// not repeated per file.
#[derive(Debug, Clone)]
pub struct Query {
    /// The key, for duration conversion; `None` for a label or name.
    key: Option<MetricKey>,
    /// The name reported when nothing matches.
    reported: String,
    stat: Option<String>,
    alternatives: Vec<Alternative>,
}

impl Query {
    /// `metric` as [`Results::lookup`](super::Results::lookup) understands it.
    pub fn new(metric: &str, stat: Option<&str>) -> Self {
        match MetricKey::from_key(metric) {
            Some(key) => Self::key(key, stat),
            None => Self {
                key: None,
                reported: metric.to_owned(),
                stat: stat.map(str::to_owned),
                alternatives: vec![
                    Alternative::Label(metric.to_owned()),
                    Alternative::Name(NamePattern::new(metric)),
                ],
            },
        }
    }

    /// The metric behind `key`, under any of its historical names, in milliseconds if it is a
    /// duration (see [`Results::key_value`](super::Results::key_value)).
    pub fn key(key: MetricKey, stat: Option<&str>) -> Self {
        Self {
            key: Some(key),
            reported: key.as_str().to_owned(),
            stat: stat.map(str::to_owned),
            alternatives: key
                .names()
                .iter()
                .map(|n| Alternative::Name(NamePattern::new(n)))
                .collect(),
        }
    }

    fn evaluate(&self, row: &impl Row) -> Result<f64, LookupError> {
        let value = stat_value(row, self.stat.as_deref())?;
        let factor = self
            .key
            .filter(|k| k.is_duration())
            .and_then(|_| row.unit().and_then(to_millis))
            .unwrap_or(1.0);
        Ok(value * factor)
    }
}

/// Which rows can matter to any of a set of queries, judged by the first folded character
/// of their name or label alone; most rows of a file are skipped after one bit test.
#[derive(Debug)]
pub(crate) struct Prefilter {
    /// Bit `c` set for each ASCII initial of a name pattern.
    initials: u128,
    /// Some query can match rows the bits cannot rule out: an exact label, or a name pattern
    /// with no initial (only separators) or a non-ASCII one.
    everything: bool,
}

impl Prefilter {
    pub(crate) fn new(queries: &[Query]) -> Self {
        let mut filter = Self {
            initials: 0,
            everything: false,
        };
        for alternative in queries.iter().flat_map(|q| &q.alternatives) {
            let Alternative::Name(pattern) = alternative else {
                filter.everything = true;
                continue;
            };
            for folded in &pattern.folded {
                match folded.initial {
                    Some(c) if c.is_ascii() => filter.initials |= 1 << (c as u32),
                    _ => filter.everything = true,
                }
            }
        }
        filter
    }

    /// Whether some query may match a CSV row whose label starts (once folded) with
    /// `label_initial`.
    ///
    /// The label alone decides because a CSV row's name is a prefix of its label: the
    /// name's initial is the label's, or none at all if the name is only separators, and
    /// patterns without an initial set `everything`.
    pub(crate) fn admits(&self, label_initial: Option<char>) -> bool {
        self.everything
            || label_initial.is_some_and(|c| c.is_ascii() && self.initials >> (c as u32) & 1 == 1)
    }
}

/// Answers one [`Query`] from rows offered in file order.
#[derive(Debug)]
pub(crate) struct Matcher<'q> {
    query: &'q Query,
    /// Preference rank of the row kept, what it gave, and (for rows read from a file) who it
    /// is, to recognise a duplicate.
    best: Option<(usize, Result<f64, LookupError>, Option<Kept>)>,
}

impl<'q> Matcher<'q> {
    pub(crate) fn new(query: &'q Query) -> Self {
        Self { query, best: None }
    }

    /// Keeps `row` if it matches a better alternative than any earlier row: the result is the
    /// first row, in file order, of the most preferred alternative that matches at all.
    ///
    /// A row read from a file that repeats the kept one is a [`Duplicate`]: which copy is
    /// right cannot be told, so the lookup must fail rather than take the first.
    pub(crate) fn offer(&mut self, row: &impl Row) -> Result<(), Duplicate> {
        if let Some((_, _, Some(kept))) = &self.best {
            if same_metric(row, kept) {
                return Err(Duplicate {
                    first: kept.offset.unwrap_or(0),
                    second: row.offset().unwrap_or(0),
                    label: row.label().to_owned(),
                });
            }
        }
        let limit = self
            .best
            .as_ref()
            .map_or(self.query.alternatives.len(), |(rank, _, _)| *rank);
        if let Some(rank) = self.query.alternatives[..limit]
            .iter()
            .position(|a| a.matches(row))
        {
            let kept = row.offset().map(|_| Kept::of(row));
            self.best = Some((rank, self.query.evaluate(row), kept));
        }
        Ok(())
    }

    /// Whether no later row can change the answer.
    pub(crate) fn done(&self) -> bool {
        matches!(self.best, Some((0, _, _)))
    }

    /// The answer, or [`LookupError::MetricNotFound`] naming `file`.
    pub(crate) fn finish(self, file: &Path) -> Result<f64, LookupError> {
        match self.best {
            Some((_, result, _)) => result,
            None => Err(LookupError::MetricNotFound {
                metric: self.query.reported.clone(),
                file: file.display().to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_eq_agrees_with_fold() {
        for (a, b) in [
            ("Time To First Token", "time_to_first_token"),
            ("  Time  to-First token ", "TIME TO FIRST TOKEN"),
            (
                "Output Token Throughput",
                "Output Token Throughput Per User",
            ),
            ("ab", "a b"),
            ("a\u{a0}b", "a b"),
            ("Temp °C", "temp °c"),
            ("", " _ "),
        ] {
            let fa: String = fold(a).collect();
            let fb: String = fold(b).collect();
            assert_eq!(fold_eq(a, &fb), fa == fb, "{a:?} {b:?}");
        }
    }
}
