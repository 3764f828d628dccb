//! The validated row a sink receives, borrowed from the input and the scanner's buffers.

use std::cell::OnceCell;
use std::sync::Arc;

use super::super::lookup::{Row, initial, terminal};
use super::super::metric::{Attributes, Metric, Stats, split_unit};
use super::super::number::Stat;
use super::header::Layout;
use super::tokenizer::Cell;

/// A validated data row, borrowed from the input and the scanner's buffers.
#[derive(Debug)]
pub(crate) struct RowView<'r> {
    pub(super) layout: &'r Layout<'r>,
    pub(super) cells: &'r [Cell<'r>],
    pub(super) label: &'r str,
    pub(super) stats: &'r [Stat],
    /// Computed once here instead of once per query (see [`Row::label_initial`]).
    pub(super) label_initial: Option<char>,
    /// Name, unit and the first and last characters of their folds, worked out only for the
    /// rows a lookup looks closer at.
    pub(super) split: OnceCell<Split<'r>>,
}

#[derive(Debug)]
pub(super) struct Split<'r> {
    name: &'r str,
    unit: Option<&'r str>,
    name_initial: Option<char>,
    name_terminal: Option<char>,
    label_terminal: Option<char>,
}

impl<'r> RowView<'r> {
    /// Attribute `i` (in [`Layout::attrs`] order), trimmed.
    pub(super) fn attr(&self, i: usize) -> &str {
        self.cells[self.layout.attrs[i]].text.trim()
    }

    /// Byte offset where the row starts (its first cell).
    pub(crate) fn start(&self) -> usize {
        self.cells.first().map_or(0, |c| c.offset)
    }

    /// Byte offset of the label cell.
    pub(crate) fn label_offset(&self) -> usize {
        self.cells[self.layout.label].offset
    }

    fn split(&self) -> &Split<'r> {
        self.split.get_or_init(|| {
            let (name, unit) = match self.layout.unit {
                Some(i) => (
                    self.label,
                    Some(self.cells[i].text.trim()).filter(|u| !u.is_empty()),
                ),
                None => split_unit(self.label),
            };
            Split {
                name,
                unit,
                name_initial: initial(name),
                name_terminal: terminal(name),
                label_terminal: terminal(self.label),
            }
        })
    }
}

impl Row for RowView<'_> {
    fn label(&self) -> &str {
        self.label
    }
    fn name(&self) -> &str {
        self.split().name
    }
    fn unit(&self) -> Option<&str> {
        self.split().unit
    }
    fn name_initial(&self) -> Option<char> {
        self.split().name_initial
    }
    fn label_initial(&self) -> Option<char> {
        self.label_initial
    }
    fn name_terminal(&self) -> Option<char> {
        self.split().name_terminal
    }
    fn label_terminal(&self) -> Option<char> {
        self.split().label_terminal
    }
    fn stat_count(&self) -> usize {
        self.stats.len()
    }
    fn stat_name(&self, i: usize) -> &str {
        &self.layout.columns[self.layout.stats[i]]
    }
    fn stat_value(&self, i: usize) -> Option<f64> {
        self.stats[i].value()
    }
    fn attr_count(&self) -> usize {
        self.layout.attrs.len()
    }
    fn attr(&self, i: usize) -> &str {
        RowView::attr(self, i)
    }
    fn offset(&self) -> Option<usize> {
        Some(self.label_offset())
    }
}

/// The column names a table's rows share, to turn its [`RowView`]s into [`Metric`]s.
#[derive(Debug, Clone)]
pub(super) struct MetricNames {
    /// One `Arc` per table, not per row.
    stats: Arc<[String]>,
    attrs: Arc<[String]>,
}

impl Default for MetricNames {
    fn default() -> Self {
        Self {
            stats: Arc::from(Vec::new()),
            attrs: Arc::from(Vec::new()),
        }
    }
}

impl MetricNames {
    /// The names of `layout`'s statistic and attribute columns.
    pub(super) fn of(layout: &Layout<'_>) -> Self {
        let names = |cols: &[usize]| -> Arc<[String]> {
            cols.iter()
                .map(|&i| layout.columns[i].clone().into_owned())
                .collect()
        };
        Self {
            stats: names(&layout.stats),
            attrs: names(&layout.attrs),
        }
    }

    /// `row`, owned.
    pub(super) fn metric(&self, row: &RowView<'_>) -> Metric {
        let attrs: Vec<String> = (0..row.layout.attrs.len())
            .map(|i| row.attr(i).to_owned())
            .collect();
        Metric {
            label: row.label.to_owned(),
            name: row.name().to_owned(),
            unit: row.unit().map(str::to_owned),
            // An empty `Vec` does not allocate; sharing the table's (empty) names saves the
            // `Arc` allocation `Attributes::empty` would make per row.
            attributes: Attributes::new(self.attrs.clone(), attrs),
            stats: Stats::new(
                self.stats.clone(),
                row.stats.iter().map(|s| s.value()).collect(),
            ),
        }
    }
}
