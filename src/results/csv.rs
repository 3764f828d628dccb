//! Multi-table CSV exports of genai-perf and aiperf.
//!
//! A hand-written reader rather than the `csv` crate: it borrows unquoted cells from the
//! input, knows the byte offset of every cell (so errors can name line and column without
//! tracking them on the hot path) and treats blank rows as table separators instead of
//! skipping them.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use super::error::ResultsError;
use super::metric::{Attributes, Metric, Stats, split_unit};
use super::number::parse_stat;
use super::position::{LineTracker, line_col};
use super::{Table, TableKind};

/// Parses every table of a CSV export (`text` already stripped of its BOM).
pub(crate) fn parse_tables(text: &str, path: &Path) -> Result<Vec<Table>, ResultsError> {
    let bytes = text.as_bytes();
    let at = |offset: usize| line_col(bytes, offset);
    let mut reader = Reader { text, pos: 0 };
    let mut cells = Vec::new();
    let mut lines = LineTracker::default();
    let mut tables = Vec::new();
    let mut current: Option<(Layout, Table)> = None;

    loop {
        let row = reader
            .next_row(&mut cells)
            .map_err(|e| e.into_error(text, path))?;
        let Some(row) = row else { break };
        if cells.iter().all(|c| c.text.trim().is_empty()) {
            tables.extend(current.take().map(|(_, t)| t));
            continue;
        }
        let starts_table = match &current {
            None => true,
            Some(_) => is_header_start(&cells),
        };
        if starts_table {
            if let Some(layout) = Layout::from_header(&cells) {
                tables.extend(current.take().map(|(_, t)| t));
                let (line, _) = lines.advance(bytes, row.start);
                let table = Table {
                    kind: layout.kind,
                    line,
                    columns: layout.columns.clone(),
                    metrics: Vec::new(),
                };
                current = Some((layout, table));
            } else if cells.len() > 1 {
                let (line, col) = at(row.start);
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
        if let Some((layout, table)) = current.as_mut() {
            let metric = layout.row(&cells, row, table.line, text, path)?;
            table.metrics.push(metric);
        }
    }
    tables.extend(current.map(|(_, t)| t));
    Ok(tables)
}

fn is_header_start(cells: &[Cell<'_>]) -> bool {
    matches!(
        cells.first().map(|c| c.text.trim()),
        Some("Metric" | "Config Name")
    )
}

fn shorten(s: &str) -> String {
    const MAX: usize = 120;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

/// What a header column holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Label,
    Unit,
    Stat,
    Attr,
}

/// A table header, resolved once and applied to each of its rows.
#[derive(Debug)]
struct Layout {
    kind: TableKind,
    columns: Vec<String>,
    roles: Vec<Role>,
    label: usize,
    stat_names: Arc<[String]>,
    attr_names: Arc<[String]>,
}

impl Layout {
    /// Recognises a header by its `Metric` (or sweep `Config Name`) column, wherever it is:
    /// aiperf's GPU table puts `Endpoint,GPU_Index,...` first.
    fn from_header(cells: &[Cell<'_>]) -> Option<Self> {
        let columns: Vec<String> = cells.iter().map(|c| c.text.trim().to_owned()).collect();
        let label = columns
            .iter()
            .position(|c| c == "Metric")
            .or_else(|| columns.iter().position(|c| c == "Config Name"))?;
        let sweep = columns[label] == "Config Name";
        let mut has_unit = false;
        let roles: Vec<Role> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == label {
                    Role::Label
                } else if sweep {
                    // Sweep tables put one metric per column: all numeric but the GPU key.
                    if c == "GPU" { Role::Attr } else { Role::Stat }
                } else if c == "Unit" && !has_unit {
                    has_unit = true;
                    Role::Unit
                } else if is_stat_name(c) {
                    Role::Stat
                } else {
                    Role::Attr
                }
            })
            .collect();
        let pick = |role: Role| -> Arc<[String]> {
            columns
                .iter()
                .zip(&roles)
                .filter(|(_, r)| **r == role)
                .map(|(c, _)| c.clone())
                .collect()
        };
        let stat_names = pick(Role::Stat);
        let attr_names = pick(Role::Attr);
        let gpu = attr_names
            .iter()
            .any(|a| matches!(a.as_str(), "GPU" | "GPU_Index" | "GPU_UUID"));
        let plain = label == 0 && attr_names.is_empty() && !has_unit;
        let kind = if sweep {
            TableKind::Sweep
        } else if gpu {
            TableKind::GpuTelemetry
        } else if plain && stat_names.len() == 1 && &*stat_names[0] == "Value" {
            TableKind::System
        } else if plain && !stat_names.is_empty() {
            TableKind::Request
        } else {
            TableKind::Other
        };
        Some(Self {
            kind,
            columns,
            roles,
            label,
            stat_names,
            attr_names,
        })
    }

    /// Converts one data row.
    fn row(
        &self,
        cells: &[Cell<'_>],
        row: RowSpan,
        header_line: usize,
        text: &str,
        path: &Path,
    ) -> Result<Metric, ResultsError> {
        let at = |offset: usize| line_col(text.as_bytes(), offset);
        if cells.len() != self.roles.len() {
            let offset = cells.get(self.roles.len()).map_or(row.end, |c| c.offset);
            let (line, col) = at(offset);
            return Err(ResultsError::RaggedRow {
                path: path.to_owned(),
                line,
                col,
                found: cells.len(),
                expected: self.roles.len(),
                header_line,
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
        let mut unit = None;
        let mut stats = Vec::with_capacity(self.stat_names.len());
        let mut attrs = Vec::with_capacity(self.attr_names.len());
        for ((cell, role), column) in cells.iter().zip(&self.roles).zip(&self.columns) {
            match role {
                Role::Label => {}
                Role::Unit => {
                    let u = cell.text.trim();
                    unit = (!u.is_empty()).then(|| u.to_owned());
                }
                Role::Attr => attrs.push(cell.text.trim().to_owned()),
                Role::Stat => match parse_stat(&cell.text) {
                    Ok(v) => stats.push(v),
                    Err(()) => {
                        let (line, col) = at(cell.offset);
                        return Err(ResultsError::BadNumber {
                            path: path.to_owned(),
                            line,
                            col,
                            metric: label.to_owned(),
                            column: column.clone(),
                            cell: shorten(&cell.text),
                        });
                    }
                },
            }
        }
        let has_unit_column = self.roles.contains(&Role::Unit);
        let (name, label_unit) = if has_unit_column {
            (label, None)
        } else {
            split_unit(label)
        };
        Ok(Metric {
            label: label.to_owned(),
            name: name.to_owned(),
            unit: unit.or_else(|| label_unit.map(str::to_owned)),
            attributes: if attrs.is_empty() {
                Attributes::empty()
            } else {
                Attributes::new(self.attr_names.clone(), attrs)
            },
            stats: Stats::new(self.stat_names.clone(), stats),
        })
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

/// One cell and the byte offset where it starts (its opening quote, if quoted).
#[derive(Debug)]
struct Cell<'a> {
    text: Cow<'a, str>,
    offset: usize,
}

/// Byte range of a row, line terminator excluded.
#[derive(Debug, Clone, Copy)]
struct RowSpan {
    start: usize,
    end: usize,
}

/// Reader-level failure, positioned by byte offset.
#[derive(Debug)]
enum RawError {
    UnclosedQuote(usize),
    AfterQuote(usize),
}

impl RawError {
    fn into_error(self, text: &str, path: &Path) -> ResultsError {
        let path = path.to_owned();
        match self {
            Self::UnclosedQuote(offset) => {
                let (line, col) = line_col(text.as_bytes(), offset);
                ResultsError::UnclosedQuote { path, line, col }
            }
            Self::AfterQuote(offset) => {
                let (line, col) = line_col(text.as_bytes(), offset);
                let found = text[offset..].chars().next().unwrap_or('?');
                ResultsError::AfterQuote {
                    path,
                    line,
                    col,
                    found,
                }
            }
        }
    }
}

/// RFC 4180 reader (Python `csv` default dialect) accepting CRLF, LF and CR line ends.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads the next row into `cells`; `None` at end of input.
    fn next_row(&mut self, cells: &mut Vec<Cell<'a>>) -> Result<Option<RowSpan>, RawError> {
        let bytes = self.text.as_bytes();
        if self.pos >= bytes.len() {
            return Ok(None);
        }
        cells.clear();
        let start = self.pos;
        loop {
            let offset = self.pos;
            let text = if bytes[offset] == b'"' {
                self.quoted()?
            } else {
                let len = bytes[offset..]
                    .iter()
                    .position(|&b| matches!(b, b',' | b'\r' | b'\n'))
                    .unwrap_or(bytes.len() - offset);
                self.pos = offset + len;
                Cow::Borrowed(&self.text[offset..self.pos])
            };
            cells.push(Cell { text, offset });
            let end = self.pos;
            match bytes.get(self.pos) {
                Some(b',') => {
                    self.pos += 1;
                    // A trailing comma opens one more, empty, cell.
                    if self.pos == bytes.len() {
                        cells.push(Cell {
                            text: Cow::Borrowed(""),
                            offset: self.pos,
                        });
                        return Ok(Some(RowSpan {
                            start,
                            end: self.pos,
                        }));
                    }
                }
                Some(b'\r') => {
                    self.pos += 1;
                    if bytes.get(self.pos) == Some(&b'\n') {
                        self.pos += 1;
                    }
                    return Ok(Some(RowSpan { start, end }));
                }
                Some(b'\n') => {
                    self.pos += 1;
                    return Ok(Some(RowSpan { start, end }));
                }
                _ => return Ok(Some(RowSpan { start, end })),
            }
        }
    }

    /// Reads a quoted cell starting at `self.pos`; `""` is an escaped quote.
    fn quoted(&mut self) -> Result<Cow<'a, str>, RawError> {
        let bytes = self.text.as_bytes();
        let open = self.pos;
        let mut segment = open + 1;
        let mut owned: Option<String> = None;
        loop {
            let Some(k) = bytes[segment..].iter().position(|&b| b == b'"') else {
                return Err(RawError::UnclosedQuote(open));
            };
            let quote = segment + k;
            if bytes.get(quote + 1) == Some(&b'"') {
                owned
                    .get_or_insert_with(String::new)
                    .push_str(&self.text[segment..=quote]);
                segment = quote + 2;
                continue;
            }
            self.pos = quote + 1;
            if !matches!(bytes.get(self.pos), None | Some(b',' | b'\r' | b'\n')) {
                return Err(RawError::AfterQuote(self.pos));
            }
            let tail = &self.text[segment..quote];
            return Ok(match owned {
                Some(mut s) => {
                    s.push_str(tail);
                    Cow::Owned(s)
                }
                None => Cow::Borrowed(tail),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Vec<String>> {
        let mut r = Reader { text, pos: 0 };
        let mut cells = Vec::new();
        let mut out = Vec::new();
        while r.next_row(&mut cells).unwrap().is_some() {
            out.push(cells.iter().map(|c| c.text.to_string()).collect());
        }
        out
    }

    #[test]
    fn reader_dialect() {
        assert_eq!(
            rows("a,\"1,2\"\r\n\r\nb,\"x\"\"y\"\n\nc\rd,"),
            vec![
                vec!["a", "1,2"],
                vec![""],
                vec!["b", "x\"y"],
                vec![""],
                vec!["c"],
                vec!["d", ""],
            ]
        );
        assert_eq!(rows("\"multi\nline\",x"), vec![vec!["multi\nline", "x"]]);
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
