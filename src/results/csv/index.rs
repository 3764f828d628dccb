//! The sink that keeps only where each row is: a validated export's rows are read again
//! from its text when asked for, so holding the export costs its text and 4 bytes a row
//! (Python's `read_results`, see [`crate::results::CompactResults`]).
//!
//! Its memory while indexing is the text, 4 bytes a row for the offsets and 8 for the
//! duplicate check's hashes (freed once checked), each reserved once from the text's line
//! count: grown by doubling, each would hold up to twice its rows and, at each growth, a
//! moment's copy beside the old block (`benches/memory.rs` counts it).

use std::path::Path;

use super::super::error::ResultsError;
use super::super::lookup::Row;
use super::super::lookup::{Kept, same_metric};
use super::super::metric::Metric;
use super::super::number::Stat;
use super::super::position::{LineTracker, line_col};
use super::super::{TableHead, ToolEvidence};
use super::duplicates::{DuplicateFinder, duplicate_error};
use super::header::Layout;
use super::row::{MetricNames, RowView};
use super::tokenizer::{Cell, Reader};
use super::{Sink, scan};

/// One table: its header, owned, and where its rows' offsets are in [`RowIndex::rows`].
#[derive(Debug)]
struct IndexedTable {
    layout: Layout<'static>,
    names: MetricNames,
    /// Byte offset of the header row (errors cite its line).
    header: usize,
    /// Index of the table's first row in [`RowIndex::rows`], and its number of rows.
    first: usize,
    len: usize,
}

impl IndexedTable {
    /// The row of this table starting at byte `start` of `text`, owned (`cells` and `stats`
    /// are buffers).
    fn read<'t>(
        &self,
        text: &'t str,
        path: &Path,
        start: usize,
        cells: &mut Vec<Cell<'t>>,
        stats: &mut Vec<Stat>,
    ) -> Option<Metric> {
        let mut reader = Reader { text, pos: start };
        let span = reader.next_row(cells).ok()??;
        let at = |offset| line_col(text.as_bytes(), offset);
        // Validated when indexed: the general path gives the same row as the scan did (the
        // `plain_rows_change_nothing` test), so this cannot fail for this text.
        let view = self
            .layout
            .row(cells, span, stats, &at, path, self.header)
            .expect("an indexed row is valid");
        Some(self.names.metric(&view))
    }
}

/// Where the tables and rows of a validated CSV text are.
#[derive(Debug)]
pub(crate) struct RowIndex {
    tables: Vec<IndexedTable>,
    /// What the rows say of the tool that wrote them, gathered while indexing.
    evidence: ToolEvidence,
    /// Byte offset where each row starts, every table's in file order. Texts are at most
    /// `MAX_PARSE_BYTES`.
    rows: Vec<u32>,
}

/// At most how many rows `text` holds: its lines, whichever line ending it uses (a cell's
/// quoted line break only overcounts).
fn row_bound(text: &str) -> usize {
    let (lf, cr) = text.bytes().fold((0, 0), |(lf, cr), b| {
        (lf + usize::from(b == b'\n'), cr + usize::from(b == b'\r'))
    });
    lf.max(cr) + 1
}

impl RowIndex {
    /// Validates `text` as [`super::parse_tables`] does (the same errors) and indexes it.
    pub(crate) fn build(text: &str, path: &Path) -> Result<(Vec<TableHead>, Self), ResultsError> {
        let bound = row_bound(text);
        let mut sink = Indexer {
            text,
            lines: LineTracker::default(),
            heads: Vec::new(),
            tables: Vec::new(),
            rows: Vec::with_capacity(bound),
            duplicates: DuplicateFinder::with_capacity(bound),
            evidence: ToolEvidence::default(),
            too_long: false,
        };
        scan(text, path, &mut sink)?;
        if sink.too_long {
            return Err(ResultsError::TooLarge {
                path: path.to_owned(),
                size: text.len() as u64,
                limit: u64::from(u32::MAX),
                what: "an indexed parse",
            });
        }
        let Indexer {
            heads,
            tables,
            rows,
            duplicates,
            evidence,
            ..
        } = sink;
        let mut index = Self {
            tables,
            rows,
            evidence,
        };
        // Row numbers count across tables, as the finder was offered them and as
        // `index.rows` holds them.
        let locate = |n: usize| {
            let t = index.tables.iter().position(|t| n < t.first + t.len)?;
            Some((t, n - index.tables[t].first))
        };
        let metric = |n| locate(n).and_then(|(t, r)| index.metric(text, path, t, r));
        let same = |a, b| {
            metric(a)
                .zip(metric(b))
                .is_some_and(|(a, b)| same_metric(&a, &Kept::of(&b)))
        };
        if let Some((first, second)) = duplicates.first(same) {
            let offset = |n| {
                let (t, r) = locate(n)?;
                let start = *index.rows.get(n)? as usize;
                Some(start + index.label_at(text, t, r)?)
            };
            let label = metric(second).map(|m| m.label).unwrap_or_default();
            let (first, second) = (offset(first), offset(second));
            return Err(duplicate_error(
                text,
                path,
                &label,
                first.unwrap_or(0),
                second.unwrap_or(0),
            ));
        }
        // Kept as long as the export is: no spare capacity (the hashes are freed by now).
        // The tables' slack matters for a small file: up to half a table's head, layout
        // and offsets, a few hundred bytes against a file of a few hundred.
        index.rows.shrink_to_fit();
        index.tables.shrink_to_fit();
        let mut heads = heads;
        heads.shrink_to_fit();
        Ok((heads, index))
    }

    /// Byte offset where row `row` of table `table` starts.
    fn row_start(&self, table: usize, row: usize) -> Option<usize> {
        let t = self.tables.get(table)?;
        if row >= t.len {
            return None;
        }
        Some(*self.rows.get(t.first + row)? as usize)
    }

    /// What the rows say of the tool that wrote them (see [`ToolEvidence`]).
    pub(crate) fn tool_evidence(&self) -> ToolEvidence {
        self.evidence
    }

    /// Row `row` of table `table` of `text` (the text this index was built from), owned.
    pub(crate) fn metric(
        &self,
        text: &str,
        path: &Path,
        table: usize,
        row: usize,
    ) -> Option<Metric> {
        let t = self.tables.get(table)?;
        let start = self.row_start(table, row)?;
        t.read(text, path, start, &mut Vec::new(), &mut Vec::new())
    }

    /// Every row of table `table` (none if it does not exist), owned, in file order: what
    /// [`RowIndex::metric`] makes of each, with one set of buffers for all of them.
    pub(crate) fn metrics<'s>(
        &'s self,
        text: &'s str,
        path: &'s Path,
        table: usize,
    ) -> impl Iterator<Item = Metric> + 's {
        let t = self.tables.get(table);
        let rows = t.map_or(&[][..], |t| &self.rows[t.first..t.first + t.len]);
        let (mut cells, mut stats) = (Vec::new(), Vec::new());
        rows.iter()
            .filter_map(move |&start| t?.read(text, path, start as usize, &mut cells, &mut stats))
    }

    /// Offset of the label cell of row `row` of table `table` from the row's start.
    fn label_at(&self, text: &str, table: usize, row: usize) -> Option<usize> {
        let t = self.tables.get(table)?;
        let start = self.row_start(table, row)?;
        let mut reader = Reader { text, pos: start };
        let mut cells = Vec::new();
        reader.next_row(&mut cells).ok()??;
        Some(cells.get(t.layout.label)?.offset - start)
    }
}

/// Builds a [`RowIndex`] while scanning.
struct Indexer<'t> {
    text: &'t str,
    lines: LineTracker,
    heads: Vec<TableHead>,
    tables: Vec<IndexedTable>,
    rows: Vec<u32>,
    duplicates: DuplicateFinder,
    evidence: ToolEvidence,
    /// A row starts beyond `u32::MAX` (never for a file [`crate::results::read`] accepts).
    too_long: bool,
}

impl<'a> Sink<'a> for Indexer<'_> {
    fn table(&mut self, layout: &Layout<'a>, offset: usize) {
        let (line, _) = self.lines.advance(self.text.as_bytes(), offset);
        self.heads.push(TableHead {
            kind: layout.kind,
            line,
            columns: layout.column_names(),
            rows: 0,
        });
        self.tables.push(IndexedTable {
            layout: layout.to_static(),
            names: MetricNames::of(layout),
            header: offset,
            first: self.rows.len(),
            len: 0,
        });
    }

    fn row(&mut self, row: &RowView<'_>) -> Result<(), ResultsError> {
        let (Some(head), Some(table)) = (self.heads.last_mut(), self.tables.last_mut()) else {
            return Ok(());
        };
        match u32::try_from(row.start()) {
            Ok(start) => self.rows.push(start),
            Err(_) => self.too_long = true,
        }
        table.len += 1;
        head.rows += 1;
        self.duplicates.add(row);
        if !self.evidence.settled() {
            self.evidence.add(row.label(), row.unit());
        }
        Ok(())
    }
}
