//! A table's header: which column is the label, the unit, a statistic or an attribute, and
//! what kind of table that makes.

use std::borrow::Cow;
use std::path::Path;

use super::super::TableKind;
use super::super::error::ResultsError;
pub(super) use super::super::metric::trim;
use super::super::position::line_col;
use super::shorten;
use super::tokenizer::Cell;

/// What a header column holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum ColumnRole {
    Label,
    Unit,
    Stat,
    Attr,
}

/// A table header, resolved once and applied to each of its rows.
#[derive(Debug, Clone)]
pub(crate) struct Layout<'a> {
    pub(super) kind: TableKind,
    /// Header cells, trimmed.
    pub(super) columns: Vec<Cow<'a, str>>,
    pub(super) roles: Vec<ColumnRole>,
    pub(super) label: usize,
    /// The `Unit` column, if any; otherwise the unit is the label's last parenthesised group.
    pub(super) unit: Option<usize>,
    /// Indices of the statistic and attribute columns.
    pub(super) stats: Vec<usize>,
    pub(super) attrs: Vec<usize>,
}

impl<'a> Layout<'a> {
    /// The header cells (trimmed), owned.
    pub(super) fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.to_string()).collect()
    }

    /// The same layout, owning its column names (to outlive the text it was read from).
    pub(super) fn to_static(&self) -> Layout<'static> {
        Layout {
            columns: self
                .columns
                .iter()
                .map(|c| Cow::Owned(c.to_string()))
                .collect(),
            kind: self.kind,
            roles: self.roles.clone(),
            label: self.label,
            unit: self.unit,
            stats: self.stats.clone(),
            attrs: self.attrs.clone(),
        }
    }

    /// Recognises a header by its `Metric` (or sweep `Config Name`) column, wherever it is:
    /// aiperf's GPU table puts `Endpoint,GPU_Index,...` first.
    pub(super) fn from_header(cells: &[Cell<'a>]) -> Option<Self> {
        let columns: Vec<Cow<'a, str>> = cells.iter().map(|c| trim_cow(&c.text)).collect();
        let label = columns
            .iter()
            .position(|c| c == "Metric")
            .or_else(|| columns.iter().position(|c| c == "Config Name"))?;
        let sweep = columns[label] == "Config Name";
        let mut unit = None;
        let roles: Vec<ColumnRole> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == label {
                    ColumnRole::Label
                } else if sweep {
                    // Sweep tables put one metric per column: all numeric but the GPU key.
                    if c == "GPU" {
                        ColumnRole::Attr
                    } else {
                        ColumnRole::Stat
                    }
                } else if c == "Unit" && unit.is_none() {
                    unit = Some(i);
                    ColumnRole::Unit
                } else if is_stat_name(c) {
                    ColumnRole::Stat
                } else {
                    ColumnRole::Attr
                }
            })
            .collect();
        let pick = |role: ColumnRole| -> Vec<usize> {
            (0..roles.len()).filter(|&i| roles[i] == role).collect()
        };
        let stats = pick(ColumnRole::Stat);
        let attrs = pick(ColumnRole::Attr);
        let gpu = attrs
            .iter()
            .any(|&i| matches!(&*columns[i], "GPU" | "GPU_Index" | "GPU_UUID"));
        let plain = label == 0 && attrs.is_empty() && unit.is_none();
        let kind = if sweep {
            TableKind::Sweep
        } else if gpu {
            TableKind::GpuTelemetry
        } else if plain && stats.len() == 1 && columns[stats[0]] == "Value" {
            TableKind::System
        } else if plain && !stats.is_empty() {
            TableKind::Request
        } else {
            TableKind::Other
        };
        Some(Self {
            kind,
            columns,
            roles,
            label,
            unit,
            stats,
            attrs,
        })
    }
}

/// A header naming a column twice: lookups would read the first, a reader keyed by name the
/// last, so the file is refused at the second.
///
/// `cells` are the header's cells, `layout` what [`Layout::from_header`] made of them: its
/// columns are the cells already trimmed, so each pair costs a length comparison.
pub(super) fn check_header(
    layout: &Layout<'_>,
    cells: &[Cell<'_>],
    text: &str,
    path: &Path,
) -> Result<(), ResultsError> {
    let Some(i) = first_repeat(&layout.columns) else {
        return Ok(());
    };
    let (line, col) = line_col(text.as_bytes(), cells[i].offset);
    Err(ResultsError::Duplicate {
        path: path.to_owned(),
        line,
        col,
        what: "column",
        name: shorten(&layout.columns[i]),
        first_line: line,
    })
}

/// Index of the first non-empty column that repeats an earlier one.
///
/// Names of different lengths, or differing in their last or middle byte, are told apart
/// without comparing the texts: the statistic columns (`p99`, `p95`, `p90`, ...) share a
/// length, and a library comparison per pair was most of a header's cost.
fn first_repeat(columns: &[Cow<'_, str>]) -> Option<usize> {
    columns.iter().enumerate().position(|(i, name)| {
        let b = name.as_bytes();
        let Some(&last) = b.last() else {
            return false;
        };
        let mid = b[b.len() / 2];
        columns[..i].iter().any(|c| {
            let c = c.as_bytes();
            c.len() == b.len() && c[c.len() - 1] == last && c[c.len() / 2] == mid && c == b
        })
    })
}

pub(super) fn is_header_start(cells: &[Cell<'_>]) -> bool {
    matches!(
        cells.first().map(|c| trim(&c.text)),
        Some("Metric" | "Config Name")
    )
}

/// `cell.trim()`, borrowing from the input when the cell does.
fn trim_cow<'a>(cell: &Cow<'a, str>) -> Cow<'a, str> {
    match cell {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
    }
}

/// Header names that hold statistics in any known genai-perf/aiperf table.
fn is_stat_name(name: &str) -> bool {
    const NAMES: [&str; 12] = [
        "avg", "mean", "min", "max", "sum", "std", "stddev", "count", "median", "value", "total",
        "rate",
    ];
    // aiperf server-metrics tables derive columns such as `rate_avg`, `sum_rate` and
    // `p99_estimate` from the basic statistics.
    let base = name.strip_prefix("rate_").unwrap_or(name);
    let base = base.strip_suffix("_rate").unwrap_or(base);
    let base = base.strip_suffix("_estimate").unwrap_or(base);
    if NAMES.iter().any(|n| base.eq_ignore_ascii_case(n)) {
        return true;
    }
    let pct = base.strip_prefix("adj_").unwrap_or(base);
    let Some(rest) = pct.strip_prefix('p') else {
        return false;
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, "0"));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_repeat_agrees_with_contains() {
        // Every header of up to four columns from names that share lengths, ends and
        // middles in every combination.
        let names = [
            "", "p99", "p95", "p90", "p59", "a", "b", "avg", "Avg", "µs", "µt", "ab",
        ];
        let naive = |cols: &[Cow<'_, str>]| {
            (0..cols.len()).find(|&i| !cols[i].is_empty() && cols[..i].contains(&cols[i]))
        };
        let mut headers: Vec<Vec<Cow<'_, str>>> = vec![Vec::new()];
        let mut frontier = headers.clone();
        for _ in 0..4 {
            let mut next = Vec::new();
            for h in &frontier {
                for n in names {
                    let mut h = h.clone();
                    h.push(Cow::Borrowed(n));
                    next.push(h);
                }
            }
            headers.extend(next.iter().cloned());
            frontier = next;
        }
        for h in &headers {
            assert_eq!(first_repeat(h), naive(h), "{h:?}");
        }
    }

    #[test]
    fn stat_names() {
        for n in [
            "avg",
            "Value",
            "p99",
            "p1",
            "p99.9",
            "adj_p50",
            "std",
            "sum",
            "rate_max",
            "sum_rate",
            "p50_estimate",
            "total",
        ] {
            assert!(is_stat_name(n), "{n}");
        }
        for n in [
            "GPU",
            "Endpoint",
            "p",
            "pX",
            "p9.",
            "Metric",
            "Description",
            "buckets",
            "rate_x",
        ] {
            assert!(!is_stat_name(n), "{n}");
        }
    }
}
