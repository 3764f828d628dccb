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
//! a sink receives, [`builder`] the sink that keeps [`Table`]s, [`ending`] the check for a
//! file cut short.
//!
//! Kept rather than the `csv` crate because it is faster on the paths the product reads
//! with, measured on the same bytes (`cargo bench --bench csv_vs_crate`, 29 Nov 2026, 2-core
//! machine at load 11; the crate side only splits records and parses numbers, a lower bound
//! of a crate-based reader): the scan behind `get_metric`/`read_metrics_many`, file reads
//! included, 1.35 ms vs 3.42 ms on the 20 corpus exports (2.5×) and 112 ms vs 262 ms on a
//! 10 MB table with quoted thousands (2.3×). `read_results`' index: 2.74 ms on the corpus
//! (1.25×, of which opening and reading 20 files is most of the difference). A full parse
//! into `Metric`s (files of at most 256 KiB) costs what its four allocations a row cost:
//! 3.23 ms on the corpus (1.06×), 309 ms on the 10 MB table (0.85×), which a crate-based
//! reader building the same rows would pay too.

mod builder;
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

use builder::build_tables;
pub(crate) use builder::duplicate_error;
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
/// any outcome: the tests compare both).
pub(super) fn scan_rows<'a>(
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
            if reader.plain_row(layout, &mut cells, &mut stats) {
                if layout.plain_accepts(&cells) {
                    layout.check_values(&cells, &mut stats, &at, path)?;
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
                check_header(&cells, text, path)?;
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

/// Parses every table of a CSV export (`text` already stripped of its BOM).
pub(crate) fn parse_tables(text: &str, path: &Path) -> Result<Vec<Table>, ResultsError> {
    build_tables(text, path, true)
}

pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 120;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Corpus CSVs and thousands of one-byte mutations of them: the one-pass reading of plain
    /// rows gives the same tables, or the same error, as the general path.
    #[test]
    fn plain_rows_change_nothing() {
        let mut next = crate::test_rng::xorshift(0x9E37_79B9_7F4A_7C15u64);
        let replacements = b",\"\r\n x1.-N9";
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
                let path = Path::new("x.csv");
                let fast = build_tables(text, path, true).map_err(|e| e.to_string());
                let general = build_tables(text, path, false).map_err(|e| e.to_string());
                assert_eq!(fast, general, "{}: {text}", file.display());
            }
        }
    }

    fn corpus_csvs() -> Vec<std::path::PathBuf> {
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
