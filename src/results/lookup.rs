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
    /// Last character of the folded name (see [`terminal`]); rows that scan work it out
    /// once per row.
    fn name_terminal(&self) -> Option<char> {
        terminal(self.name())
    }
    /// Last character of the folded label.
    fn label_terminal(&self) -> Option<char> {
        terminal(self.label())
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
    match s.as_bytes().first() {
        // Nearly always: a label starts with a visible ASCII character.
        Some(&b) if b.is_ascii_graphic() && !is_ascii_separator(b) => {
            Some(char::from(b.to_ascii_lowercase()))
        }
        _ => s
            .chars()
            .find(|&c| !is_separator(c))
            .map(|c| c.to_ascii_lowercase()),
    }
}

/// Last character of `fold(s)`: the last that is not a separator, lower-cased.
pub(crate) fn terminal(s: &str) -> Option<char> {
    match s.as_bytes().last() {
        // Nearly always: a visible ASCII character (a letter, or a unit's `)`).
        Some(&b) if b.is_ascii_graphic() && !is_ascii_separator(b) => {
            Some(char::from(b.to_ascii_lowercase()))
        }
        _ => s
            .chars()
            .rev()
            .find(|&c| !is_separator(c))
            .map(|c| c.to_ascii_lowercase()),
    }
}

fn is_separator(c: char) -> bool {
    c == '_' || c == '-' || c.is_whitespace()
}

/// [`is_separator`] of an ASCII byte (`char::is_whitespace` counts \t to \r, \x0B too).
fn is_ascii_separator(b: u8) -> bool {
    matches!(b, b'_' | b'-' | b' ' | b'\t'..=b'\r')
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

/// A folded query and its first and last characters, compared before anything else: most
/// rows differ there.
#[derive(Debug, Clone)]
struct Folded {
    text: String,
    initial: Option<char>,
    last: Option<char>,
}

impl Folded {
    fn new(query: &str) -> Self {
        let text: String = fold(query).collect();
        let initial = text.chars().next();
        let last = text.chars().next_back();
        Self {
            text,
            initial,
            last,
        }
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
        // First and last characters rule out nearly every row before the texts are walked
        // (a label ending in its unit's `)` never folds to a name).
        self.folded.iter().any(|q| {
            let name = || row.name_initial() == q.initial && row.name_terminal() == q.last;
            let label = || row.label_initial() == q.initial && row.label_terminal() == q.last;
            (name() && fold_eq(row.name(), &q.text))
                // A label without a unit is its own name (the same text): tested already.
                || (label()
                    && !std::ptr::eq(row.name(), row.label())
                    && fold_eq(row.label(), &q.text))
        })
    }
}

/// `fold(s)` equals the already folded `folded`, stopping at the first difference.
///
/// Byte by byte while `s` is ASCII, as labels are: a difference found there is one the
/// character walk would find at the same place; a non-ASCII byte hands over to it.
fn fold_eq(s: &str, folded: &str) -> bool {
    let want = folded.as_bytes();
    let mut k = 0;
    let mut pending_space = false;
    let mut started = false;
    for &b in s.as_bytes() {
        if !b.is_ascii() {
            return fold_eq_chars(s, folded);
        }
        if is_ascii_separator(b) {
            pending_space = started;
            continue;
        }
        if std::mem::take(&mut pending_space) {
            if want.get(k) != Some(&b' ') {
                return false;
            }
            k += 1;
        }
        started = true;
        if want.get(k) != Some(&b.to_ascii_lowercase()) {
            return false;
        }
        k += 1;
    }
    k == want.len()
}

/// [`fold_eq`] for any text, a character at a time.
fn fold_eq_chars(s: &str, folded: &str) -> bool {
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

/// Which rows can matter to any of a set of queries, judged by the first and last folded
/// characters of their name or label alone; most rows of a file are skipped after one bit
/// test, nearly all the others after comparing a few characters.
#[derive(Debug)]
pub(crate) struct Prefilter {
    /// Bit `c` set for each ASCII initial of a name pattern.
    initials: u128,
    /// First and last characters of each folded name pattern (see [`ends`]).
    ends: Vec<u64>,
    /// Some query can match rows the characters cannot rule out: an exact label, or a name
    /// pattern with no initial (only separators) or a non-ASCII one.
    everything: bool,
}

impl Prefilter {
    pub(crate) fn new(queries: &[Query]) -> Self {
        let alternatives = queries.iter().flat_map(|q| &q.alternatives);
        let everything = alternatives
            .clone()
            .any(|a| matches!(a, Alternative::Label(_)));
        let patterns = alternatives.filter_map(|a| match a {
            Alternative::Name(pattern) => Some(pattern),
            Alternative::Label(_) => None,
        });
        let mut filter = Self::of_patterns(patterns);
        filter.everything |= everything;
        filter
    }

    /// The filter of rows that may match one of `patterns`.
    pub(crate) fn of_patterns<'p>(patterns: impl IntoIterator<Item = &'p NamePattern>) -> Self {
        let mut filter = Self {
            initials: 0,
            ends: Vec::new(),
            everything: false,
        };
        for folded in patterns.into_iter().flat_map(|p| &p.folded) {
            match folded.initial {
                Some(c) if c.is_ascii() => filter.initials |= 1 << (c as u32),
                _ => filter.everything = true,
            }
            filter.ends.push(ends(folded.initial, folded.last));
        }
        filter
    }

    /// Whether some query may match a row read from a CSV file.
    ///
    /// The label's initial is tested first, alone, because a CSV row's name is a prefix of
    /// its label: the name's initial is the label's, or none at all if the name is only
    /// separators, and patterns without an initial set `everything`. Only the rows it lets
    /// through are split into name and unit for [`Prefilter::may_match`].
    pub(crate) fn admits(&self, row: &impl Row) -> bool {
        let initial = row.label_initial();
        self.everything
            || (initial.is_some_and(|c| c.is_ascii() && self.initials >> (c as u32) & 1 == 1)
                && self.may_match(row))
    }

    /// Whether some query may match `row`, whatever its kind: the folds of its name or of
    /// its label start and end as a pattern's do.
    pub(crate) fn may_match(&self, row: &impl Row) -> bool {
        let name = ends(row.name_initial(), row.name_terminal());
        let label = ends(row.label_initial(), row.label_terminal());
        self.everything || self.ends.iter().any(|&e| e == name || e == label)
    }
}

/// A first and a last character in one word, compared in one instruction.
fn ends(initial: Option<char>, last: Option<char>) -> u64 {
    // `char::MAX` is below 2^21: `None` takes a code no character has.
    let code = |c: Option<char>| c.map_or(1 << 21, u64::from);
    code(initial) << 32 | code(last)
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
            ("TEMP °C", "temp °c"),
            ("ÄB", "äb"),
            ("x\u{0B}y\u{0C}", "x y"),
            ("Latency\u{85}", "latency"),
            ("", " _ "),
        ] {
            let fa: String = fold(a).collect();
            let fb: String = fold(b).collect();
            assert_eq!(fold_eq(a, &fb), fa == fb, "{a:?} {b:?}");
            assert_eq!(fold_eq_chars(a, &fb), fa == fb, "{a:?} {b:?}");
        }
    }

    /// A row of a label only, split as a CSV row is.
    struct Labelled<'a>(&'a str);

    impl Row for Labelled<'_> {
        fn label(&self) -> &str {
            self.0
        }
        fn name(&self) -> &str {
            split_unit(self.0).0
        }
        fn unit(&self) -> Option<&str> {
            split_unit(self.0).1
        }
        fn stat_count(&self) -> usize {
            0
        }
        fn stat_name(&self, _: usize) -> &str {
            ""
        }
        fn stat_value(&self, _: usize) -> Option<f64> {
            None
        }
        fn attr_count(&self) -> usize {
            0
        }
        fn attr(&self, _: usize) -> &str {
            ""
        }
    }

    /// The prefilter lets through every row a query matches, and rules out rows whose folds
    /// start or end otherwise.
    #[test]
    fn prefilter_admits_every_match() {
        let queries: Vec<Query> = ["time-to-first-token", "default", "Request Count", "ttft_x"]
            .iter()
            .map(|m| Query::new(m, None))
            .collect();
        let filter = Prefilter::new(&queries[1..2]);
        let mut matched = 0;
        for label in [
            "Time To First Token (ms)",
            "time_to_first_token",
            " TTFT (ms)",
            "Output Token Throughput (tokens/sec)",
            "Output Token Throughput Per User (tokens/sec/user)",
            "output-token-throughput",
            "Request Count",
            "Time To Second Token (ms)",
            "Inter Token Latency (ms)",
            "x (ttft)",
        ] {
            let row = Labelled(label);
            for q in &queries {
                let hit = q.alternatives.iter().any(|a| a.matches(&row));
                let filter = Prefilter::new(std::slice::from_ref(q));
                if hit {
                    matched += 1;
                    assert!(filter.admits(&row) && filter.may_match(&row), "{label}");
                }
            }
        }
        assert_eq!(matched, 6);
        assert!(!filter.admits(&Labelled("Output Token Throughput Per User")));
        assert!(!filter.admits(&Labelled("Output Token Throughputs")));
        assert!(filter.admits(&Labelled("Output Token Throughput (per sec)")));
    }

    /// Every string of up to four characters from separators, cases and non-ASCII letters,
    /// against folded queries: the byte walk answers as the character walk and as `fold`,
    /// and the first and last characters are `fold`'s.
    #[test]
    fn initial_and_terminal_agree_with_the_fold() {
        let pieces = ["a", "B", "_", "-", " ", "\t", "\u{a0}", "µ", "(", ")", "É"];
        for s in &crate::results::metric::tests::strings_of(&pieces, 4) {
            let walk = |mut cs: Box<dyn Iterator<Item = char> + '_>| {
                cs.find(|&c| !is_separator(c))
                    .map(|c| c.to_ascii_lowercase())
            };
            assert_eq!(initial(s), walk(Box::new(s.chars())), "{s:?}");
            assert_eq!(terminal(s), walk(Box::new(s.chars().rev())), "{s:?}");
        }
    }

    #[test]
    fn fold_eq_exhaustive() {
        let alphabet = ['a', 'A', 'b', '_', '-', ' ', '\u{0B}', '\u{a0}', 'é', '°'];
        let queries = ["a", "ab", "a b", "é", "a°", "b a", "", "aa a"];
        let mut strings = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = strings
                .iter()
                .filter(|s| s.chars().count() == strings.last().unwrap().chars().count())
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(longer);
        }
        assert!(strings.len() > 10_000);
        for s in &strings {
            let folded: String = fold(s).collect();
            assert_eq!(initial(s), folded.chars().next(), "{s:?}");
            assert_eq!(terminal(s), folded.chars().next_back(), "{s:?}");
            for q in queries {
                let expected = folded == q;
                assert_eq!(fold_eq(s, q), expected, "{s:?} {q:?}");
                assert_eq!(fold_eq_chars(s, q), expected, "{s:?} {q:?}");
            }
        }
    }
}
