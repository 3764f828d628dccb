//! Multi-table CSV exports of genai-perf and aiperf.
//!
//! A hand-written reader rather than the `csv` crate: it borrows unquoted cells from the
//! input, knows the byte offset of every cell (so errors can name line and column without
//! tracking them on the hot path) and treats blank rows as table separators instead of
//! skipping them. The scanner hands validated rows, still borrowed, to a [`Sink`], so a
//! lookup that wants six values never allocates per row.
//!
//! One concern a file: [`tokenizer`] splits rows and cells, [`header`] classifies a table's
//! columns, [`validate`] checks each row against its header, [`row`] is the validated row
//! a sink receives, [`index`] the sink that keeps where each row starts, [`duplicates`] the
//! check for a metric given twice, [`ending`] the check for a file cut short.
//!
//! Kept rather than the `csv` crate because it is faster on the paths the product reads
//! with, measured on the same bytes (`cargo bench --bench csv_vs_crate -- --quick`, 29 Nov
//! 2026 20:46, 05ce291, 2-core machine, load 0.9, nothing else running; the crate side only
//! splits records and parses numbers, a lower bound of a crate-based reader): the scan
//! behind `get_metric`/`read_metrics_many`, file reads included, 0.274 ms vs 0.969 ms on the
//! 20 corpus exports (3.5×) and 26.1 ms vs 66.8 ms on a 10 MB table with quoted thousands
//! (2.6×); `read_results`' index, file reads included, 0.492 ms on the corpus (2.0×).
//! Load-free counts (callgrind, instructions): 10 passes over the corpus cost 25.5M (scan)
//! and 45.9M (index), against 31.5M and 61.8M before the checks and the index were made
//! cheaper.
//! The full parse into [`Table`]s of `Metric`s ([`parse_tables`]: `results::read`, Rust
//! callers and tests, files of at most 256 KiB) is not a third reader: it is the index with
//! every row then made a `Metric`, so it validates, refuses and positions exactly as
//! `read_results` does. It costs what the crate's bare split does on the corpus (0.952 ms,
//! 1.0×) and 2.1× it on the 10 MB table (141 ms), with every cell validated and positioned.

mod duplicates;
mod ending;
mod header;
mod index;
mod row;
mod tokenizer;
mod validate;

use std::path::Path;

use super::Table;
use super::error::ResultsError;
use super::position::line_col;

pub(crate) use duplicates::duplicate_error;
use ending::check_ending;
pub(crate) use header::Layout;
use header::{check_header, is_header_start};
pub(crate) use index::RowIndex;
pub(crate) use row::RowView;
use tokenizer::Reader;

/// Receives the tables and rows of a CSV export in file order, borrowed from the input.
///
/// Building [`Table`]s is one sink; answering lookups while scanning, without keeping any
/// row, is another ([`super::lookup_many`]).
pub(crate) trait Sink<'a> {
    /// A table starts; `offset` is the byte where its header row starts.
    fn table(&mut self, layout: &Layout<'a>, offset: usize);
    /// A data row of the latest table, already validated; a sink may still refuse it.
    fn row(&mut self, row: &RowView<'_>) -> Result<(), ResultsError>;
}

/// Scans every table of a CSV export (`text` already stripped of its BOM) into `sink`,
/// validating every cell: a malformed file fails wherever its first error is, whatever the
/// sink keeps.
pub(crate) fn scan<'a>(
    text: &'a str,
    path: &Path,
    sink: &mut impl Sink<'a>,
) -> Result<(), ResultsError> {
    scan_rows(text, path, sink, true)
}

/// [`scan`], optionally without the one-pass reading of plain rows (which must not change
/// any outcome: the tests compare both, and [`RowIndex::metric`] reads again with the
/// general path a row the scan read with the plain one).
fn scan_rows<'a>(
    text: &'a str,
    path: &Path,
    sink: &mut impl Sink<'a>,
    plain_rows: bool,
) -> Result<(), ResultsError> {
    let at = |offset| line_col(text.as_bytes(), offset);
    let mut reader = Reader { text, pos: 0 };
    let mut cells = Vec::new();
    let mut stats = Vec::new();
    // The current table's layout and header offset.
    let mut current: Option<(Layout<'a>, usize)> = None;

    loop {
        // Most data rows are plain (unquoted, decimal statistics): read those in one pass.
        // Anything else, including every error, is rewound and left to the general path.
        if let Some((layout, _)) = current.as_ref().filter(|_| plain_rows) {
            let start = reader.pos;
            if let Some(read) = reader.plain_row(layout, &mut cells, &mut stats) {
                if layout.plain_accepts(&cells) {
                    if read.judge {
                        layout.check_values(&cells, &mut stats, &at, path)?;
                    }
                    let view = layout.plain_view(&cells, &stats);
                    layout.check_unit(&view, &at, path)?;
                    sink.row(&view)?;
                    continue;
                }
                reader.pos = start;
            }
        }
        let row = reader
            .next_row(&mut cells)
            .map_err(|e| e.into_error(text, path))?;
        let Some(row) = row else { break };
        if cells.iter().all(|c| c.text.trim().is_empty()) {
            current = None;
            continue;
        }
        if current.is_none() || is_header_start(&cells) {
            if let Some(layout) = Layout::from_header(&cells) {
                check_header(&layout, &cells, text, path)?;
                sink.table(&layout, row.start);
                current = Some((layout, row.start));
            } else if cells.len() > 1 {
                let (line, col) = line_col(text.as_bytes(), row.start);
                return Err(ResultsError::UnknownHeader {
                    path: path.to_owned(),
                    line,
                    col,
                    header: shorten(&text[row.start..row.end]),
                });
            }
            // A lone non-header cell between tables is a comment (`# aiperf_version: ...`)
            // or a banner (`=== GPU Telemetry ===`): nothing to keep.
            continue;
        }
        if let Some((layout, header)) = &current {
            let view = layout.row(&cells, row, &mut stats, &at, path, *header)?;
            sink.row(&view)?;
        }
    }
    // Last, so that a cut that breaks the row's structure (an open quote, missing cells) is
    // reported as such.
    check_ending(text, path)
}

/// Parses every table of a CSV export (`text` already stripped of its BOM): the
/// [`RowIndex`] of `text`, every row made a `Metric`.
pub(crate) fn parse_tables(text: &str, path: &Path) -> Result<Vec<Table>, ResultsError> {
    let (heads, index) = RowIndex::build(text, path)?;
    let tables = heads
        .into_iter()
        .enumerate()
        .map(|(t, head)| Table {
            kind: head.kind,
            line: head.line,
            columns: head.columns,
            metrics: index.metrics(text, path, t).collect(),
        })
        .collect();
    Ok(tables)
}

pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 120;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::TableKind;
    use super::super::metric::Metric;
    use super::row::MetricNames;
    use super::*;

    /// Everything a sink is handed, owned: each table's kind, columns and offset, each row
    /// as a `Metric` with its start and label offsets.
    #[derive(Debug, Default, PartialEq)]
    struct Recorded {
        tables: Vec<(TableKind, Vec<String>, usize)>,
        rows: Vec<(Metric, usize, usize)>,
    }

    struct Recorder {
        names: MetricNames,
        seen: Recorded,
    }

    impl<'a> Sink<'a> for Recorder {
        fn table(&mut self, layout: &Layout<'a>, offset: usize) {
            self.names = MetricNames::of(layout);
            let columns = layout.column_names();
            self.seen.tables.push((layout.kind, columns, offset));
        }

        fn row(&mut self, row: &RowView<'_>) -> Result<(), ResultsError> {
            let metric = self.names.metric(row);
            self.seen
                .rows
                .push((metric, row.start(), row.label_offset()));
            Ok(())
        }
    }

    fn record(text: &str, plain_rows: bool) -> Result<Recorded, String> {
        let mut sink = Recorder {
            names: MetricNames::default(),
            seen: Recorded::default(),
        };
        scan_rows(text, Path::new("x.csv"), &mut sink, plain_rows).map_err(|e| e.to_string())?;
        Ok(sink.seen)
    }

    /// Corpus CSVs and thousands of one-byte mutations of them: the one-pass reading of plain
    /// rows hands a sink the same tables and rows, or stops at the same error, as the general
    /// path (which [`RowIndex::metric`] relies on).
    #[test]
    fn plain_rows_change_nothing() {
        let mut next = crate::test_rng::xorshift(0x9E37_79B9_7F4A_7C15u64);
        let replacements = b",\"\r\n x1.-N9";
        let (mut accepted, mut refused) = (0, 0);
        for file in corpus_csvs() {
            let original = std::fs::read(&file).unwrap();
            let mut variants = vec![original.clone()];
            for _ in 0..300 {
                let mut v = original.clone();
                let at = (next() % v.len() as u64) as usize;
                let b = replacements[(next() % replacements.len() as u64) as usize];
                match next() % 3 {
                    0 => v[at] = b,
                    1 => v.insert(at, b),
                    _ => {
                        v.remove(at);
                    }
                }
                variants.push(v);
            }
            for v in variants {
                let Ok(text) = std::str::from_utf8(&v) else {
                    continue;
                };
                let fast = record(text, true);
                assert_eq!(fast, record(text, false), "{}: {text}", file.display());
                accepted += usize::from(fast.as_ref().is_ok_and(|r| !r.rows.is_empty()));
                refused += usize::from(fast.is_err());
            }
        }
        // Both outcomes exercised: about half the variants read, most others are refused.
        assert!(
            accepted > 2000 && refused > 2000,
            "{accepted} read, {refused} refused"
        );
    }

    /// Every CSV under `tests/data/results`, broken ones included.
    pub(crate) fn corpus_csvs() -> Vec<std::path::PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|e| e == "csv") {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results"),
            &mut out,
        );
        assert!(out.len() > 10);
        out
    }
}
