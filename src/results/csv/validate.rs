//! A data row checked against its table's header: cell count, label, numbers, values the
//! metric's unit allows, and known units where CloudAI's keys read.

use std::cell::OnceCell;
use std::path::Path;

use super::super::TableKind;
use super::super::check::{self, Verdict};
use super::super::error::ResultsError;
use super::super::lookup::{Row, initial};
use super::super::number::{NotANumber, Stat, parse_stat};
use super::header::{Layout, is_header_start, trim};
use super::row::RowView;
use super::shorten;
use super::tokenizer::{Cell, RowSpan};

impl<'a> Layout<'a> {
    /// Validates one data row and views it; its statistics are parsed into `stats`.
    ///
    /// `at` positions errors and `header` (the header's byte offset) gives the header line
    /// they cite: both are computed only when a row is bad.
    pub(super) fn row<'r>(
        &'r self,
        cells: &'r [Cell<'r>],
        row: RowSpan,
        stats: &'r mut Vec<Stat>,
        at: &dyn Fn(usize) -> (usize, usize),
        path: &Path,
        header: usize,
    ) -> Result<RowView<'r>, ResultsError> {
        if cells.len() != self.roles.len() {
            let offset = cells.get(self.roles.len()).map_or(row.end, |c| c.offset);
            let (line, col) = at(offset);
            return Err(ResultsError::RaggedRow {
                path: path.to_owned(),
                line,
                col,
                found: cells.len(),
                expected: self.roles.len(),
                header_line: at(header).0,
            });
        }
        let label_cell = &cells[self.label];
        let label = label_cell.text.trim();
        if label.is_empty() {
            let (line, col) = at(label_cell.offset);
            return Err(ResultsError::EmptyLabel {
                path: path.to_owned(),
                line,
                col,
            });
        }
        stats.clear();
        for &i in &self.stats {
            let cell = &cells[i];
            match parse_stat(&cell.text) {
                Ok(v) => stats.push(v.into()),
                Err(NotANumber) => {
                    let (line, col) = at(cell.offset);
                    return Err(ResultsError::BadNumber {
                        path: path.to_owned(),
                        line,
                        col,
                        metric: label.to_owned(),
                        column: self.columns[i].clone().into_owned(),
                        cell: shorten(&cell.text),
                    });
                }
            }
        }
        self.check_values(cells, stats, at, path)?;
        let view = self.view(cells, label, stats);
        self.check_unit(&view, at, path)?;
        Ok(view)
    }

    /// Whether the general path would take a row read by [`Reader::plain_row`] as it is:
    /// not for an empty label or a new header.
    pub(super) fn plain_accepts(&self, cells: &[Cell<'_>]) -> bool {
        !trim(&cells[self.label].text).is_empty() && !is_header_start(cells)
    }

    /// Views a row that [`Layout::plain_accepts`].
    pub(super) fn plain_view<'r>(
        &'r self,
        cells: &'r [Cell<'r>],
        stats: &'r [Stat],
    ) -> RowView<'r> {
        self.view(cells, trim(&cells[self.label].text), stats)
    }

    /// Applies [`check`]'s value rules to a parsed row: an impossible value is an error at its
    /// cell; genai-perf's `-1` sentinel becomes missing.
    pub(super) fn check_values(
        &self,
        cells: &[Cell<'_>],
        stats: &mut [Stat],
        at: &dyn Fn(usize) -> (usize, usize),
        path: &Path,
    ) -> Result<(), ResultsError> {
        let label = trim(&cells[self.label].text);
        // Sweep rows are run configurations, not metrics: only finiteness applies.
        let sweep = self.kind == TableKind::Sweep;
        for (k, &i) in self.stats.iter().enumerate() {
            let value = match stats[k] {
                // Nearly every cell.
                stat if surely_fine(stat) => continue,
                other => other.value().unwrap_or(0.0),
            };
            let non_negative = || {
                let view = self.view(cells, label, &[]);
                !sweep && check::non_negative(view.name(), view.unit())
            };
            match check::judge(value, non_negative) {
                Verdict::Fine => {}
                Verdict::Missing => stats[k] = Stat::Missing,
                Verdict::Impossible(expected) => {
                    let (line, col) = at(cells[i].offset);
                    return Err(ResultsError::BadValue {
                        path: path.to_owned(),
                        line,
                        col,
                        what: format!(
                            "`{}` column `{}`",
                            shorten(label),
                            shorten(&self.columns[i])
                        ),
                        found: format!("`{}`", shorten(cells[i].text.trim())),
                        expected,
                    });
                }
            }
        }
        Ok(())
    }

    /// The unit half of [`check`]'s rules, on the view the sink then gets (its name and unit
    /// split is worked out once for both).
    pub(super) fn check_unit(
        &self,
        view: &RowView<'_>,
        at: &dyn Fn(usize) -> (usize, usize),
        path: &Path,
    ) -> Result<(), ResultsError> {
        // Sweep rows are run configurations, not metrics.
        if self.kind == TableKind::Sweep || !check::key_filter().admits(view) {
            return Ok(());
        }
        if let Some(expected) = check::unit_problem(view) {
            let cell = self.unit.map_or(self.label, |u| u);
            let (line, col) = at(view.cells[cell].offset);
            return Err(ResultsError::UnknownUnit {
                path: path.to_owned(),
                line,
                col,
                metric: shorten(view.label),
                found: check::describe_unit(view.unit().map(shorten).as_deref()),
                expected,
            });
        }
        Ok(())
    }

    pub(super) fn view<'r>(
        &'r self,
        cells: &'r [Cell<'r>],
        label: &'r str,
        stats: &'r [Stat],
    ) -> RowView<'r> {
        RowView {
            layout: self,
            cells,
            label,
            stats,
            label_initial: initial(label),
            split: OnceCell::new(),
        }
    }
}

/// A statistic no value rule can object to: missing, or a plain non-negative decimal (finite
/// by construction), as nearly every cell is.
pub(super) fn surely_fine(stat: Stat) -> bool {
    matches!(
        stat,
        Stat::Missing
            | Stat::Decimal {
                negative: false,
                ..
            }
    )
}
