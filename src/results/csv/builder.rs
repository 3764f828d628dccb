//! The sink that keeps what it receives: [`Table`]s of [`Metric`]s, and the check that no
//! metric appears twice among them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::super::Table;
use super::super::error::ResultsError;
use super::super::lookup::Row as _;
use super::super::metric::{Attributes, Metric, Stats};
use super::super::position::{LineTracker, line_col};
use super::header::Layout;
use super::row::RowView;
use super::{Sink, shorten};

/// Two rows of the same metric (label, unit and attributes such as the GPU): a lookup could
/// not tell which is right, so the file is refused, naming the second copy.
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
        stat_names: Arc::from(Vec::new()),
        attr_names: Arc::from(Vec::new()),
        offsets: Vec::new(),
    };
    super::scan_rows(text, path, &mut builder, plain_rows)?;
    check_duplicates(&builder.tables, &builder.offsets, text, path)?;
    Ok(builder.tables)
}

fn check_duplicates(
    tables: &[Table],
    offsets: &[usize],
    text: &str,
    path: &Path,
) -> Result<(), ResultsError> {
    let mut seen: HashMap<(&str, Option<&str>, Vec<&str>), usize> = HashMap::new();
    let metrics = tables.iter().flat_map(|t| t.metrics.iter());
    for (m, &offset) in metrics.zip(offsets) {
        let attrs = m.attributes.iter().map(|(_, v)| v.as_str()).collect();
        if let Some(&first) = seen.get(&(m.label.as_str(), m.unit.as_deref(), attrs)) {
            return Err(duplicate_error(text, path, &m.label, first, offset));
        }
        let attrs = m.attributes.iter().map(|(_, v)| v.as_str()).collect();
        seen.insert((m.label.as_str(), m.unit.as_deref(), attrs), offset);
    }
    Ok(())
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
    /// Names shared by every row of the current table (one `Arc` per table).
    stat_names: Arc<[String]>,
    attr_names: Arc<[String]>,
    /// Byte offset of every row's label, in row order (for duplicate errors).
    offsets: Vec<usize>,
}

impl<'a> Sink<'a> for Builder<'a> {
    fn table(&mut self, layout: &Layout<'a>, offset: usize) {
        let names = |cols: &[usize]| -> Arc<[String]> {
            cols.iter()
                .map(|&i| layout.columns[i].clone().into_owned())
                .collect()
        };
        self.stat_names = names(&layout.stats);
        self.attr_names = names(&layout.attrs);
        let (line, _) = self.lines.advance(self.text, offset);
        self.tables.push(Table {
            kind: layout.kind,
            line,
            columns: layout
                .columns
                .iter()
                .map(|c| c.clone().into_owned())
                .collect(),
            metrics: Vec::new(),
        });
    }

    fn row(&mut self, row: &RowView<'_>) -> Result<(), ResultsError> {
        let attrs: Vec<String> = (0..row.layout.attrs.len())
            .map(|i| row.attr(i).to_owned())
            .collect();
        let metric = Metric {
            label: row.label.to_owned(),
            name: row.name().to_owned(),
            unit: row.unit().map(str::to_owned),
            // An empty `Vec` does not allocate; sharing the table's (empty) names saves the
            // `Arc` allocation `Attributes::empty` would make per row.
            attributes: Attributes::new(self.attr_names.clone(), attrs),
            stats: Stats::new(
                self.stat_names.clone(),
                row.stats.iter().map(|s| s.value()).collect(),
            ),
        };
        if let Some(table) = self.tables.last_mut() {
            table.metrics.push(metric);
            self.offsets.push(row.label_offset());
        }
        Ok(())
    }
}
