//! The sink that keeps what it receives: [`Table`]s of [`Metric`]s.

use std::path::Path;

use super::super::Table;
use super::super::error::ResultsError;
use super::super::lookup::{Kept, same_metric};
use super::super::position::{LineTracker, line_col};
use super::duplicates::DuplicateFinder;
use super::header::Layout;
use super::row::{MetricNames, RowView};
use super::{Sink, shorten};

/// The tables of `text`, scanned with or without the one-pass reading of plain rows (see
/// [`super::scan_rows`]).
pub(super) fn build_tables(
    text: &str,
    path: &Path,
    plain_rows: bool,
) -> Result<Vec<Table>, ResultsError> {
    let mut builder = Builder {
        text: text.as_bytes(),
        lines: LineTracker::default(),
        tables: Vec::new(),
        names: MetricNames::default(),
        offsets: Vec::new(),
        duplicates: DuplicateFinder::default(),
    };
    super::scan_rows(text, path, &mut builder, plain_rows)?;
    let Builder {
        tables,
        offsets,
        duplicates,
        ..
    } = builder;
    let metric = |n: usize| tables.iter().flat_map(|t| &t.metrics).nth(n);
    let same = |a, b| {
        metric(a)
            .zip(metric(b))
            .is_some_and(|(a, b)| same_metric(a, &Kept::of(b)))
    };
    if let Some((first, second)) = duplicates.first(same) {
        let label = metric(second).map_or("", |m| m.label.as_str());
        return Err(duplicate_error(
            text,
            path,
            label,
            offsets[first],
            offsets[second],
        ));
    }
    Ok(tables)
}

/// [`ResultsError::Duplicate`] for a metric row first seen at byte `first`, again at `second`.
pub(crate) fn duplicate_error(
    text: &str,
    path: &Path,
    label: &str,
    first: usize,
    second: usize,
) -> ResultsError {
    let (line, col) = line_col(text.as_bytes(), second);
    ResultsError::Duplicate {
        path: path.to_owned(),
        line,
        col,
        what: "metric row",
        name: shorten(label),
        first_line: line_col(text.as_bytes(), first).0,
    }
}

/// The sink that owns what it receives: [`Table`]s of [`Metric`]s.
struct Builder<'a> {
    text: &'a [u8],
    lines: LineTracker,
    tables: Vec<Table>,
    /// Names shared by every row of the current table.
    names: MetricNames,
    /// Byte offset of every row's label, in row order (for duplicate errors).
    offsets: Vec<usize>,
    duplicates: DuplicateFinder,
}

impl<'a> Sink<'a> for Builder<'a> {
    fn table(&mut self, layout: &Layout<'a>, offset: usize) {
        self.names = MetricNames::of(layout);
        let (line, _) = self.lines.advance(self.text, offset);
        self.tables.push(Table {
            kind: layout.kind,
            line,
            columns: layout.column_names(),
            metrics: Vec::new(),
        });
    }

    fn row(&mut self, row: &RowView<'_>) -> Result<(), ResultsError> {
        if let Some(table) = self.tables.last_mut() {
            self.duplicates.add(row);
            table.metrics.push(self.names.metric(row));
            self.offsets.push(row.label_offset());
        }
        Ok(())
    }
}
