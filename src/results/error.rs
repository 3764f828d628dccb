//! Errors of the results parser and of metric lookups.

use std::path::PathBuf;

/// A result file could not be read or is malformed.
///
/// Every variant names the file; positional variants also give a 1-based line and column
/// (columns count characters, a leading UTF-8 BOM excluded), so the `Display` form is the
/// familiar `path:line:col: message` that editors can jump to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResultsError {
    /// The file (or directory) could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// File or directory that failed.
        path: PathBuf,
        /// Underlying OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file has no content apart from blank lines.
    #[error(
        "{}:1:1: file is empty; expected a genai-perf/aiperf results table starting with a `Metric,...` header",
        path.display()
    )]
    Empty {
        /// The empty file.
        path: PathBuf,
    },
    /// A byte sequence is not valid UTF-8.
    #[error("{}:{line}:{col}: invalid UTF-8 (byte 0x{byte:02X}); expected UTF-8 text", path.display())]
    NotUtf8 {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// First offending byte.
        byte: u8,
    },
    /// A statistic cell holds something that is not a number.
    #[error(
        "{}:{line}:{col}: `{metric}` column `{column}`: `{cell}` is not a number; expected a decimal such as 1146.31 or \"1,146.31\", N/A or an empty cell",
        path.display()
    )]
    BadNumber {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column of the cell.
        col: usize,
        /// Row label (metric).
        metric: String,
        /// Header of the column.
        column: String,
        /// The offending cell text.
        cell: String,
    },
    /// A data row has a different number of cells than its table header.
    #[error(
        "{}:{line}:{col}: row has {found} cells but the header on line {header_line} has {expected}; the file may be truncated or hand-edited",
        path.display()
    )]
    RaggedRow {
        /// File.
        path: PathBuf,
        /// 1-based line of the row.
        line: usize,
        /// 1-based column where the row diverges (its end, or its first extra cell).
        col: usize,
        /// Cells in the row.
        found: usize,
        /// Cells in the header.
        expected: usize,
        /// Line of the table header.
        header_line: usize,
    },
    /// A quoted cell is never closed.
    #[error(
        "{}:{line}:{col}: quoted cell is never closed; expected a closing `\"` (the file is probably truncated)",
        path.display()
    )]
    UnclosedQuote {
        /// File.
        path: PathBuf,
        /// 1-based line of the opening quote.
        line: usize,
        /// 1-based column of the opening quote.
        col: usize,
    },
    /// Text follows the closing quote of a cell.
    #[error(
        "{}:{line}:{col}: unexpected `{found}` after a closing quote; expected `,` or the end of the line",
        path.display()
    )]
    AfterQuote {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column of the unexpected character.
        col: usize,
        /// The unexpected character.
        found: char,
    },
    /// A table starts with a header this parser does not recognise.
    #[error(
        "{}:{line}:{col}: unrecognised table header `{header}`; expected a header row with a `Metric` (or `Config Name`) column",
        path.display()
    )]
    UnknownHeader {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Always 1: the header as a whole is wrong.
        col: usize,
        /// The header row as written (possibly shortened).
        header: String,
    },
    /// A data row has an empty metric name.
    #[error("{}:{line}:{col}: empty metric name; expected a label such as `Request Latency (ms)`", path.display())]
    EmptyLabel {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column of the label cell.
        col: usize,
    },
    /// The file parsed but contains no table with at least one metric.
    #[error(
        "{}: no metrics found; expected a `Metric,...` table (or JSON metric objects with a `unit`) with at least one row",
        path.display()
    )]
    NoMetricTable {
        /// File.
        path: PathBuf,
    },
    /// The JSON text is not valid JSON.
    #[error("{}:{line}:{col}: invalid JSON: {message}", path.display())]
    Json {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// serde_json's description.
        message: String,
    },
    /// The JSON is valid but its top level is not an object.
    #[error("{}:1:1: expected a JSON object keyed by metric name at the top level, found {found}", path.display())]
    JsonShape {
        /// File.
        path: PathBuf,
        /// What was found instead (`array`, `string`, ...).
        found: &'static str,
    },
    /// The path is not a regular file (directory, FIFO, device, socket).
    #[error(
        "{}: not a regular file ({found}); expected a genai-perf/aiperf export file",
        path.display()
    )]
    NotAFile {
        /// The path given.
        path: PathBuf,
        /// What it is instead.
        found: &'static str,
    },
    /// The file is larger than the parser accepts for this kind of read.
    #[error(
        "{}: file is {size} bytes, more than the {limit} bytes allowed for {what}; genai-perf/aiperf summary exports are a few KB",
        path.display()
    )]
    TooLarge {
        /// File.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
        /// Which read has this limit.
        what: &'static str,
    },
    /// The last row has no line break and could not have been written that way.
    #[error(
        "{}:{line}:{col}: file ends inside a row (`{tail}` has no line break after it); genai-perf and aiperf end every row with a line break, so the file is probably truncated",
        path.display()
    )]
    Truncated {
        /// File.
        path: PathBuf,
        /// 1-based line of the unfinished row.
        line: usize,
        /// 1-based column of its last cell.
        col: usize,
        /// The last cell as written.
        tail: String,
    },
    /// A statistic is a number no export can hold: infinite, or negative where the unit
    /// allows no negative value.
    #[error(
        "{}:{line}:{col}: {what}: {found} is impossible; expected {expected}",
        path.display()
    )]
    BadValue {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column of the cell (or JSON key).
        col: usize,
        /// The metric and statistic: `` `Request Latency (ms)` column `avg` ``.
        what: String,
        /// The value as read (`` `inf` ``, `-3.5`).
        found: String,
        /// What the metric allows.
        expected: &'static str,
    },
    /// A metric that is looked up by CloudAI key has a unit that cannot be converted.
    #[error(
        "{}:{line}:{col}: `{metric}`: unknown unit {found}; expected {expected}",
        path.display()
    )]
    UnknownUnit {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column of the label (or JSON key).
        col: usize,
        /// Metric label.
        metric: String,
        /// The unit found (quoted), or `none`.
        found: String,
        /// The units accepted for this metric.
        expected: &'static str,
    },
    /// The same metric (or JSON key) appears twice; neither copy can be trusted.
    #[error(
        "{}:{line}:{col}: duplicate {what} `{name}` (first on line {first_line}); expected each once",
        path.display()
    )]
    Duplicate {
        /// File.
        path: PathBuf,
        /// 1-based line of the second occurrence.
        line: usize,
        /// 1-based column of the second occurrence.
        col: usize,
        /// `metric row` or `JSON key`.
        what: &'static str,
        /// The duplicated label or key.
        name: String,
        /// Line of the first occurrence.
        first_line: usize,
    },
    /// A JSON metric field has the wrong type.
    #[error(
        "{}:{line}:{col}: {what}: wrong type, expected {expected}, found {found}",
        path.display()
    )]
    WrongType {
        /// File.
        path: PathBuf,
        /// 1-based line of the field's key.
        line: usize,
        /// 1-based column of the field's key.
        col: usize,
        /// The metric and field: `` `request_latency` field `avg` ``.
        what: String,
        /// What the field must hold.
        expected: &'static str,
        /// What it holds (`a string "210.81"`, `true`, `an array`).
        found: String,
    },
    /// A run record (`test-run.json`) is malformed or disagrees with where it lies.
    #[error("{}:{line}:{col}: {message}", path.display())]
    BadRecord {
        /// The record.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// An accuracy summary (`accuracy_results.csv`) is malformed.
    #[error("{}:{line}:{col}: {message}", path.display())]
    BadAccuracy {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong, naming the column.
        message: String,
    },
}

/// A metric or statistic asked for is not in the parsed results.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// No metric matches the key, label or name.
    #[error("metric `{metric}` not found in {file}")]
    MetricNotFound {
        /// What was asked for.
        metric: String,
        /// The results file searched.
        file: String,
    },
    /// The metric exists but has no such statistic column.
    #[error("metric `{metric}` has no statistic `{stat}`; available: {available}")]
    StatNotFound {
        /// Label of the metric found.
        metric: String,
        /// Statistic asked for.
        stat: String,
        /// Comma-separated statistics the metric has.
        available: String,
    },
    /// The statistic column exists but the cell is missing (`N/A`, empty, `null`, NaN).
    #[error("metric `{metric}`: statistic `{stat}` has no value (N/A or empty)")]
    MissingValue {
        /// Label of the metric found.
        metric: String,
        /// Statistic asked for.
        stat: String,
    },
    /// The run does not measure the metric at all (`accuracy` of a test without an accuracy
    /// benchmark): no file to search.
    #[error("metric `{metric}` is not measured: {reason}")]
    NotMeasured {
        /// What was asked for.
        metric: String,
        /// Why the run has no such figure.
        reason: &'static str,
    },
}

/// A metric key CloudAI's DSE may not ask for (`agent_metrics`): refused before any file is
/// read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricKeyError {
    /// A key with a `:` that is not three non-empty parts.
    #[error(
        "metric key {key:?}: expected `benchmark:metric name:statistic`, three non-empty parts"
    )]
    Malformed {
        /// The key as given.
        key: String,
    },
    /// Neither a CloudAI key nor a CSV metric name (`thruput`: a misspelled key).
    #[error(
        "metric key {key:?}: expected one of {}, `accuracy`, `benchmark:metric name:statistic` or a CSV metric name such as `Time To First Token (ms)`",
        super::METRIC_KEYS.join(", ")
    )]
    Unknown {
        /// The key as given.
        key: String,
    },
    /// `benchmark:…` whose benchmark is not a plain name: CloudAI joins it to the run
    /// directory as `<benchmark>_report.csv`, which must stay inside it.
    #[error(
        "metric key {key:?}: benchmark {benchmark:?} is not a report name; expected a name such as `aiperf_round_1`, without `/`, `\\` or a leading `.`"
    )]
    NotAReport {
        /// The key as given.
        key: String,
        /// Its benchmark part.
        benchmark: String,
    },
}

impl MetricKeyError {
    /// The key refused.
    pub fn key(&self) -> &str {
        match self {
            Self::Malformed { key } | Self::Unknown { key } | Self::NotAReport { key, .. } => key,
        }
    }
}

impl ResultsError {
    /// The file the error concerns.
    pub fn path(&self) -> &std::path::Path {
        use ResultsError as E;
        match self {
            E::Io { path, .. }
            | E::Empty { path }
            | E::NotUtf8 { path, .. }
            | E::BadNumber { path, .. }
            | E::RaggedRow { path, .. }
            | E::UnclosedQuote { path, .. }
            | E::AfterQuote { path, .. }
            | E::UnknownHeader { path, .. }
            | E::EmptyLabel { path, .. }
            | E::NoMetricTable { path }
            | E::Json { path, .. }
            | E::JsonShape { path, .. }
            | E::NotAFile { path, .. }
            | E::TooLarge { path, .. }
            | E::Truncated { path, .. }
            | E::BadValue { path, .. }
            | E::UnknownUnit { path, .. }
            | E::Duplicate { path, .. }
            | E::WrongType { path, .. }
            | E::BadRecord { path, .. }
            | E::BadAccuracy { path, .. } => path,
        }
    }

    /// Where the error points: 1-based line and column, when it has one position.
    pub fn position(&self) -> Option<(usize, usize)> {
        use ResultsError as E;
        match self {
            E::NotUtf8 { line, col, .. }
            | E::BadNumber { line, col, .. }
            | E::RaggedRow { line, col, .. }
            | E::UnclosedQuote { line, col, .. }
            | E::AfterQuote { line, col, .. }
            | E::UnknownHeader { line, col, .. }
            | E::EmptyLabel { line, col, .. }
            | E::Json { line, col, .. }
            | E::Truncated { line, col, .. }
            | E::BadValue { line, col, .. }
            | E::UnknownUnit { line, col, .. }
            | E::Duplicate { line, col, .. }
            | E::WrongType { line, col, .. }
            | E::BadRecord { line, col, .. }
            | E::BadAccuracy { line, col, .. } => Some((*line, *col)),
            E::Empty { .. } | E::JsonShape { .. } => Some((1, 1)),
            E::Io { .. } | E::NoMetricTable { .. } | E::NotAFile { .. } | E::TooLarge { .. } => {
                None
            }
        }
    }
}

impl LookupError {
    /// The metric asked for (or, once found, its label).
    pub fn metric(&self) -> &str {
        match self {
            LookupError::MetricNotFound { metric, .. }
            | LookupError::StatNotFound { metric, .. }
            | LookupError::MissingValue { metric, .. }
            | LookupError::NotMeasured { metric, .. } => metric,
        }
    }

    /// The statistic asked for, when the metric was found.
    pub fn stat(&self) -> Option<&str> {
        match self {
            LookupError::MetricNotFound { .. } | LookupError::NotMeasured { .. } => None,
            LookupError::StatNotFound { stat, .. } | LookupError::MissingValue { stat, .. } => {
                Some(stat)
            }
        }
    }
}
