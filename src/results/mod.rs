//! Parsing of genai-perf and aiperf result files.
//!
//! [`read`] (or [`parse_csv`]/[`parse_json`] on bytes) turns one export into [`Results`]:
//! tables of [`Metric`]s, each with a unit and every statistic the file holds. Lookups go by
//! exact label ([`Results::metric`]), by unit-free name ([`Results::find`]) or by CloudAI's
//! metric keys ([`MetricKey`], [`Results::lookup`]). [`find_result_files`] locates the
//! exports in a run directory. To read a few metrics of many files, [`MetricReader`] answers
//! prepared [`Query`]s while scanning each CSV, without building [`Results`].

mod accuracy;
mod check;
mod cloudai_metric;
mod compact;
mod csv;
mod discover;
mod error;
mod failure_marker;
mod json;
mod lookup;
mod metric;
mod number;
mod outcome;
mod position;
mod record;
mod request_records;
mod run;
mod sources;
mod tree;

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use accuracy::{Accuracy, read_accuracy, run_accuracy};
pub use cloudai_metric::{METRIC_KEYS, check_metric_key, cloudai_metric};
pub use compact::{CompactResults, TableHead, read_compact};
pub use discover::{
    ResultFile, best_result, best_result_csv, best_result_file, find_request_records,
    find_result_files,
};
pub use error::{LookupError, MetricKeyError, ResultsError};
pub use failure_marker::failure_cause;
pub use lookup::Query;
pub use metric::{Attributes, Columns, Metric, MetricKey, Stats, split_unit};
pub use outcome::{
    FAILED_METRIC, RequestOutcome, RequestVerdict, SUCCEEDED_METRIC, read_request_outcome,
    request_outcome,
};
pub use record::{RunRecord, read_run_record};
pub use request_records::{RECORDS_READ_BYTES, first_client_error};
pub(crate) use request_records::{read_prefix, read_suffix};
pub use run::{AccuracyResults, Figures, ResultsVerdict, RunResults, SourceResults, run_results};
pub use sources::Source;
pub use tree::run_dirs;
pub(crate) use tree::visible_subdirs;

/// The benchmark tool that wrote a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    /// NVIDIA genai-perf (`*_genai_perf.csv/json`).
    GenaiPerf,
    /// ai-dynamo aiperf (`profile_export_aiperf.csv/json`).
    Aiperf,
    /// Neither the file name nor the content tells.
    Unknown,
}

/// File format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Multi-table CSV.
    Csv,
    /// JSON object keyed by metric tag.
    Json,
}

/// What a table holds, recognised from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// Per-request distributions: `Metric,avg,min,max,p99,...`.
    Request,
    /// Run-level scalars: `Metric,Value`.
    System,
    /// Per-GPU rows: `Metric,GPU,...` (genai-perf) or `Endpoint,GPU_Index,...,Metric,...` (aiperf).
    GpuTelemetry,
    /// `genai-perf analyze` sweep: one row per run configuration, `Config Name,...`.
    Sweep,
    /// Any other table with a `Metric` column (server metrics, timeslices, ...).
    Other,
}

/// One table of an export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// What the table holds.
    pub kind: TableKind,
    /// 1-based line of the header row (0 for JSON).
    pub line: usize,
    /// Header cells as written (empty for JSON).
    pub columns: Vec<String>,
    /// Rows in file order.
    pub metrics: Vec<Metric>,
}

/// A parsed export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    /// The file it came from (or the name given to [`parse_csv`]/[`parse_json`]).
    pub source: PathBuf,
    /// Which tool wrote it.
    pub tool: Tool,
    /// CSV or JSON.
    pub format: Format,
    /// Tool version, when the file records it (aiperf JSON `aiperf_version`).
    pub version: Option<String>,
    /// Tables in file order; JSON metrics are grouped as request, system and GPU tables.
    pub tables: Vec<Table>,
}

/// Largest file parsed whole ([`read`], [`read_compact`] and every JSON export).
///
/// Real summary exports are under 20 KB (shared/research/result-formats.md §6.9, even for
/// 2 M requests). A row parsed into a [`Metric`] takes several times its bytes, so this
/// limit bounds the memory of a full parse; [`read_compact`] (Python's `read_results`)
/// keeps the text and 4 bytes a row instead (`benches/vs_cloudai.py` measures both).
pub const MAX_PARSE_BYTES: u64 = 256 << 10;

/// Largest CSV the lookups ([`lookup_many`], [`MetricReader`], Python's `get_metric` and
/// `read_metrics_many`) read: they scan the file's bytes without building rows, so their
/// memory is the file itself.
pub const MAX_SCAN_BYTES: u64 = 1 << 30;

/// The whole of the regular file `path`, refused beyond [`MAX_PARSE_BYTES`] (`what` names
/// the kind of read in that error).
fn read_small(path: &Path, what: &'static str) -> Result<Vec<u8>, ResultsError> {
    let (file, size) = open_regular(path)?;
    read_limited(file, path, size, MAX_PARSE_BYTES, what, Vec::new())
}

/// Reads and parses `path`, as JSON if its extension is `.json`, otherwise as CSV.
///
/// `path` must be a regular file (a symlink to one is fine) of at most [`MAX_PARSE_BYTES`].
pub fn read(path: impl AsRef<Path>) -> Result<Results, ResultsError> {
    let path = path.as_ref();
    let data = read_small(path, "a full parse")?;
    if is_json(path) {
        parse_json(&data, path)
    } else {
        parse_csv(&data, path)
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ResultsError + '_ {
    move |source| ResultsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Opens `path` for reading if it is a regular file, with its size.
///
/// The file is opened non-blocking, so a FIFO cannot hang the open, and then checked on the
/// open descriptor (no race with a rename): directories, FIFOs, devices such as `/dev/zero`
/// and sockets are refused before a byte is read.
fn open_regular(path: &Path) -> Result<(File, u64), ResultsError> {
    let file = open_nonblocking(path)?;
    let size = regular_size(&file, path)?;
    Ok((file, size))
}

/// Opens `path` for reading without blocking on a FIFO.
fn open_nonblocking(path: &Path) -> Result<File, ResultsError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path).map_err(io_error(path))
}

/// The size of the open `file`, refused unless it is a regular file.
fn regular_size(file: &File, path: &Path) -> Result<u64, ResultsError> {
    let meta = file.metadata().map_err(io_error(path))?;
    if !meta.is_file() {
        return Err(ResultsError::NotAFile {
            path: path.to_owned(),
            found: file_kind(&meta.file_type()),
        });
    }
    Ok(meta.len())
}

fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// The rest of `file` appended to `data`, refused beyond `limit` bytes in all, whether its
/// size said so or it grew while being read.
fn read_limited(
    mut file: File,
    path: &Path,
    size: u64,
    limit: u64,
    what: &'static str,
    mut data: Vec<u8>,
) -> Result<Vec<u8>, ResultsError> {
    let too_large = |size| ResultsError::TooLarge {
        path: path.to_owned(),
        size,
        limit,
        what,
    };
    if size > limit {
        return Err(too_large(size));
    }
    // Read the size announced into place (no growth, no copies), then whatever the file
    // gained since, up to the limit.
    let mut len = data.len();
    data.resize(usize::try_from(size).unwrap_or(usize::MAX).max(len), 0);
    while len < data.len() {
        match file.read(&mut data[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(path)(e)),
        }
    }
    let complete = len == data.len();
    data.truncate(len);
    if complete {
        let left = (limit + 1).saturating_sub(len as u64);
        file.take(left)
            .read_to_end(&mut data)
            .map_err(io_error(path))?;
    }
    if data.len() as u64 > limit {
        return Err(too_large(data.len() as u64));
    }
    Ok(data)
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Answers `queries` from the file at `path`: the same as [`read`] followed by
/// [`Results::query`] for each, errors included, but CSV files are answered while scanning,
/// without building [`Results`] (no allocation per row), which is what makes reading a few
/// metrics of thousands of files cheap. See [`MetricReader`] to reuse the read buffer.
pub fn lookup_many(
    path: impl AsRef<Path>,
    queries: &[Query],
) -> Result<Vec<Result<f64, LookupError>>, ResultsError> {
    MetricReader::new(queries).read(path)
}

/// Answers the same [`Query`]s from many files, as [`lookup_many`] does, keeping one read
/// buffer across files: a small export then costs `open`, `read` and `close` and no
/// allocation but the answers. Use one per thread.
#[derive(Debug)]
pub struct MetricReader<'q> {
    queries: &'q [Query],
    prefilter: lookup::Prefilter,
    buffer: Vec<u8>,
}

impl<'q> MetricReader<'q> {
    /// A reader answering `queries`.
    pub fn new(queries: &'q [Query]) -> Self {
        Self {
            queries,
            prefilter: lookup::Prefilter::new(queries),
            buffer: Vec::new(),
        }
    }

    /// The answers to the queries in the file at `path` (see [`lookup_many`]).
    pub fn read(
        &mut self,
        path: impl AsRef<Path>,
    ) -> Result<Vec<Result<f64, LookupError>>, ResultsError> {
        let path = path.as_ref();
        let data = if is_json(path) {
            let (file, size) = open_regular(path)?;
            Cow::Owned(read_limited(
                file,
                path,
                size,
                MAX_PARSE_BYTES,
                "a JSON export",
                Vec::new(),
            )?)
        } else {
            read_reusing(open_nonblocking(path)?, path, &mut self.buffer)?
        };
        answer(&data, path, self.queries, &self.prefilter)
    }
}

/// [`MetricReader::read`] on bytes in memory.
fn answer(
    data: &[u8],
    path: &Path,
    queries: &[Query],
    prefilter: &lookup::Prefilter,
) -> Result<Vec<Result<f64, LookupError>>, ResultsError> {
    if is_json(path) {
        let results = parse_json(data, path)?;
        return Ok(queries.iter().map(|q| results.query(q)).collect());
    }
    let text = decode(data, path)?;
    let mut sink = LookupSink {
        matchers: queries.iter().map(lookup::Matcher::new).collect(),
        prefilter,
        rows: 0,
        text,
        path,
    };
    csv::scan(text, path, &mut sink)?;
    if sink.rows == 0 {
        return Err(ResultsError::NoMetricTable {
            path: path.to_owned(),
        });
    }
    Ok(sink.matchers.into_iter().map(|m| m.finish(path)).collect())
}

/// Reads the CSV `file` into `buffer`, which is kept between calls (no allocation once it
/// fits the files read); a file of [`REUSED_BYTES`] or more is read into a vector of its
/// own, at most [`MAX_SCAN_BYTES`].
///
/// Every file is checked to be a regular file first (`fstat` on the open descriptor: one
/// call next to `open`/`read`/`close`): a directory, a FIFO (even one whose writer handed
/// over a complete CSV and closed), or `/dev/zero` is refused rather than answered. Its size
/// sizes the buffer: one file's lookup (`get_metric`) holds that file's bytes, not a fixed
/// buffer.
fn read_reusing<'b>(
    mut file: File,
    path: &Path,
    buffer: &'b mut Vec<u8>,
) -> Result<Cow<'b, [u8]>, ResultsError> {
    let announced = regular_size(&file, path)?;
    let Some(size) = usize::try_from(announced)
        .ok()
        .filter(|&s| s < REUSED_BYTES)
    else {
        return read_limited(
            file,
            path,
            announced,
            MAX_SCAN_BYTES,
            "a lookup",
            Vec::new(),
        )
        .map(Cow::Owned);
    };
    // One byte beyond the size: the read that finds the end finds room.
    if buffer.len() <= size {
        buffer.resize(size + 1, 0);
    }
    let mut len = 0;
    while len < buffer.len() {
        match file.read(&mut buffer[len..]) {
            Ok(0) => return Ok(Cow::Borrowed(&buffer[..len])),
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(path)(e)),
        }
    }
    // The file grew beyond the buffer while read: the rest into a vector of its own.
    let data = buffer[..len].to_vec();
    let data = read_limited(file, path, len as u64, MAX_SCAN_BYTES, "a lookup", data)?;
    Ok(Cow::Owned(data))
}

/// Files below this size are read into [`MetricReader`]'s reused buffer (real exports are a
/// few KB), larger ones into a vector of their own.
const REUSED_BYTES: usize = 64 * 1024;

/// Offers each scanned row to every query: to improve its answer, or to find that the row
/// it answered from is repeated.
struct LookupSink<'q> {
    matchers: Vec<lookup::Matcher<'q>>,
    prefilter: &'q lookup::Prefilter,
    rows: usize,
    text: &'q str,
    path: &'q Path,
}

impl<'a> csv::Sink<'a> for LookupSink<'_> {
    fn table(&mut self, _: &csv::Layout<'a>, _: usize) {}

    fn row(&mut self, row: &csv::RowView<'_>) -> Result<(), ResultsError> {
        self.rows += 1;
        if !self.prefilter.admits(row) {
            return Ok(());
        }
        for m in &mut self.matchers {
            if let Err(d) = m.offer(row) {
                return Err(csv::duplicate_error(
                    self.text, self.path, &d.label, d.first, d.second,
                ));
            }
        }
        Ok(())
    }
}

/// Parses a CSV export held in memory; `path` names it in errors and hints the tool.
///
/// The same reading as [`read_compact`]'s, every row then owned: the same errors at the same
/// positions. Beyond 4 GiB (32-bit row offsets) `data` is refused as too large.
pub fn parse_csv(data: &[u8], path: impl AsRef<Path>) -> Result<Results, ResultsError> {
    let path = path.as_ref();
    let text = decode(data, path)?;
    let tables = csv::parse_tables(text, path)?;
    let mut results = Results {
        source: path.to_owned(),
        tool: Tool::Unknown,
        format: Format::Csv,
        version: None,
        tables,
    };
    require_metrics(&results)?;
    results.tool = tool_from_name(path).unwrap_or_else(|| {
        let columns = results.tables.iter().flat_map(|t| &t.columns);
        let mut rows = ToolEvidence::default();
        for m in results.metrics() {
            rows.add(&m.label, m.unit.as_deref());
            if rows.settled() {
                break;
            }
        }
        sniff_csv_tool(columns, rows)
    });
    Ok(results)
}

/// Parses a JSON export held in memory; `path` names it in errors and hints the tool.
pub fn parse_json(data: &[u8], path: impl AsRef<Path>) -> Result<Results, ResultsError> {
    let path = path.as_ref();
    let text = decode(data, path)?;
    let parsed = json::parse(text, path)?;
    let tool = tool_from_name(path).unwrap_or(match (parsed.aiperf_like, parsed.genai_perf_like) {
        (true, _) => Tool::Aiperf,
        (false, true) => Tool::GenaiPerf,
        (false, false) => Tool::Unknown,
    });
    let results = Results {
        source: path.to_owned(),
        tool,
        format: Format::Json,
        version: parsed.version,
        tables: parsed.tables,
    };
    require_metrics(&results)?;
    Ok(results)
}

/// Strips a BOM (Excel re-saves add one) and checks UTF-8 and non-emptiness.
fn decode<'a>(data: &'a [u8], path: &Path) -> Result<&'a str, ResultsError> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let text = std::str::from_utf8(data).map_err(|e| {
        let offset = e.valid_up_to();
        let (line, col) = position::line_col(data, offset);
        ResultsError::NotUtf8 {
            path: path.to_owned(),
            line,
            col,
            byte: data[offset],
        }
    })?;
    if text.trim().is_empty() {
        return Err(ResultsError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(text)
}

fn require_metrics(results: &Results) -> Result<(), ResultsError> {
    if results.metrics().next().is_none() {
        return Err(ResultsError::NoMetricTable {
            path: results.source.clone(),
        });
    }
    Ok(())
}

fn tool_from_name(path: &Path) -> Option<Tool> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.contains("genai_perf") {
        Some(Tool::GenaiPerf)
    } else if name.contains("aiperf") {
        Some(Tool::Aiperf)
    } else {
        None
    }
}

/// Spellings only one tool uses (see result-formats.md), as seen in metric rows so far.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ToolEvidence {
    aiperf: bool,
    genai_perf: bool,
}

impl ToolEvidence {
    /// Adds what a metric row with this label and unit says.
    pub(crate) fn add(&mut self, label: &str, unit: Option<&str>) {
        self.aiperf |= label.starts_with("Time to ") || unit == Some("requests/sec");
        self.genai_perf |=
            label.starts_with("Time To ") || unit == Some("per sec") || label.starts_with("Num ");
    }

    /// Whether both tools' spellings were seen: no further row changes the verdict.
    pub(crate) fn settled(&self) -> bool {
        self.aiperf && self.genai_perf
    }
}

/// Tells the tools apart by spellings only one of them uses, from the tables' header cells
/// and what their metric rows showed.
fn sniff_csv_tool<'c>(columns: impl IntoIterator<Item = &'c String>, rows: ToolEvidence) -> Tool {
    let aiperf = rows.aiperf || columns.into_iter().any(|c| c == "sum" || c == "Endpoint");
    match (aiperf, rows.genai_perf) {
        (true, false) => Tool::Aiperf,
        (false, true) => Tool::GenaiPerf,
        _ => Tool::Unknown,
    }
}

impl Results {
    /// Every metric of every table, in file order.
    pub fn metrics(&self) -> impl Iterator<Item = &Metric> {
        self.tables.iter().flat_map(|t| t.metrics.iter())
    }

    /// The first table of `kind`.
    pub fn table(&self, kind: TableKind) -> Option<&Table> {
        self.tables.iter().find(|t| t.kind == kind)
    }

    /// The first metric whose label is exactly `label`, e.g. `Time To First Token (ms)`.
    pub fn metric(&self, label: &str) -> Option<&Metric> {
        self.metrics().find(|m| m.label == label)
    }

    /// The first metric named `name`, ignoring case, unit and `_`/`-`/space differences
    /// (`Time to First Token` finds `Time To First Token (ms)`).
    pub fn find(&self, name: &str) -> Option<&Metric> {
        let pattern = lookup::NamePattern::new(name);
        self.metrics().find(|m| pattern.matches(*m))
    }

    /// The metric behind a CloudAI key, under any of its historical names.
    pub fn find_key(&self, key: MetricKey) -> Option<&Metric> {
        key.names().iter().find_map(|n| self.find(n))
    }

    /// Value of `stat` (default: `avg`, or `Value` in single-value tables) of `metric`.
    ///
    /// `metric` is a CloudAI key (`default`, `time-to-first-token`, ...; see
    /// [`Results::key_value`]), else an exact label, else a unit-free name.
    pub fn lookup(&self, metric: &str, stat: Option<&str>) -> Result<f64, LookupError> {
        self.query(&Query::new(metric, stat))
    }

    /// Answers a prepared [`Query`] (see [`Results::lookup`]).
    pub fn query(&self, query: &Query) -> Result<f64, LookupError> {
        let mut matcher = lookup::Matcher::new(query);
        for m in self.metrics() {
            // Parsed rows carry no position, so no duplicate is reported here: parsing
            // already refused any.
            let _ = matcher.offer(m);
            if matcher.done() {
                break;
            }
        }
        matcher.finish(&self.source)
    }

    /// Value of `stat` of the metric behind `key`; durations are converted to milliseconds
    /// so that genai-perf 0.0.2dev's nanosecond columns compare with later versions.
    pub fn key_value(&self, key: MetricKey, stat: Option<&str>) -> Result<f64, LookupError> {
        self.query(&Query::key(key, stat))
    }
}

/// Output token throughput per GPU: the run's output token throughput divided by
/// `engine_nodes × gpus_per_node` (see [`engine_gpus`]).
///
/// `None` when the throughput is missing or not finite, or the GPU count is zero.
pub fn output_throughput_per_gpu(
    results: &Results,
    engine_nodes: u32,
    gpus_per_node: u32,
) -> Option<f64> {
    let total = results
        .key_value(MetricKey::OutputTokenThroughput, None)
        .ok()?;
    per_gpu(total, engine_gpus(engine_nodes, gpus_per_node)?)
}

/// The per-GPU divisor: the GPUs of the nodes that run an engine (`Topology::engine_nodes`,
/// 1 + prefill + decode with the seed's default commands, as CloudAI 13816b1a divides), or
/// `None` when there are none.
pub fn engine_gpus(engine_nodes: u32, gpus_per_node: u32) -> Option<u64> {
    let gpus = u64::from(engine_nodes) * u64::from(gpus_per_node);
    (gpus > 0).then_some(gpus)
}

/// `total / gpus`; `None` for zero GPUs or a non-finite result.
pub fn per_gpu(total: f64, gpus: u64) -> Option<f64> {
    if gpus == 0 {
        return None;
    }
    let v = total / gpus as f64;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answering while scanning agrees with parsing then looking up: values, lookup errors
    /// and parse errors, on corpus files and on one-byte mutations of them.
    #[test]
    fn streaming_answers_match_results() {
        let queries: Vec<Query> = [
            ("default", None),
            ("request-throughput", None),
            ("time-to-first-token", Some("p99")),
            ("time-to-second-token", None),
            ("request-latency", Some("P50")),
            ("inter-token-latency", Some("nope")),
            ("Request Count (count)", Some("Value")),
            ("Input Sequence Length", Some("min")),
            ("http waiting (ttfb)", None),
            ("request_count", None),
            ("GPU Utilization", None),
            ("", None),
        ]
        .iter()
        .map(|(m, s)| Query::new(m, *s))
        .collect();
        let prefilter = lookup::Prefilter::new(&queries);
        let mut next = crate::test_rng::xorshift(0x2545_F491_4F6C_DD1Du64);
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results");
        for file in find_result_files(&root).unwrap() {
            let original = std::fs::read(&file.path).unwrap();
            let mut variants = vec![original.clone()];
            for _ in 0..40 {
                let mut v = original.clone();
                let at = (next() % v.len() as u64) as usize;
                v[at] = b",\"\n x1.-"[(next() % 8) as usize];
                variants.push(v);
            }
            for data in variants {
                let path = &file.path;
                let expected = if is_json(path) {
                    parse_json(&data, path)
                } else {
                    parse_csv(&data, path)
                }
                .map(|r| queries.iter().map(|q| r.query(q)).collect::<Vec<_>>());
                let got = answer(&data, path, &queries, &prefilter);
                assert_eq!(
                    format!("{got:?}"),
                    format!("{expected:?}"),
                    "{}",
                    path.display()
                );
            }
        }
    }
}
