//! A parsed export held for reading on demand: Python's `read_results` object.
//!
//! [`Results`] owns every row as a [`Metric`], which is what Rust callers and tests want. A
//! caller that may read any row but usually reads a few (the report, a notebook) gets a
//! [`CompactResults`] instead: validated exactly as [`super::read`] validates, it keeps the
//! table headers and hands out one [`Metric`] at a time.

use std::path::{Path, PathBuf};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{Format, LookupError, Metric, Query, Results, ResultsError, TableKind, Tool};

/// What a table is, without its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct TableHead {
    /// What the table holds.
    pub kind: TableKind,
    /// 1-based line of the header row (0 for JSON).
    pub line: usize,
    /// Header cells as written (empty for JSON).
    pub columns: Vec<String>,
    /// Number of metric rows.
    pub rows: usize,
}

/// A parsed export whose rows are read one at a time (see the module comment).
#[derive(Debug)]
pub struct CompactResults {
    source: PathBuf,
    tool: Tool,
    format: Format,
    version: Option<String>,
    heads: Vec<TableHead>,
    rows: Vec<Vec<Metric>>,
}

/// Reads `path` as [`super::read`] does (same limits, same errors) into a [`CompactResults`].
pub fn read_compact(path: impl AsRef<Path>) -> Result<CompactResults, ResultsError> {
    Ok(CompactResults::from(super::read(path)?))
}

impl From<Results> for CompactResults {
    fn from(results: Results) -> Self {
        let (heads, rows) = results
            .tables
            .into_iter()
            .map(|t| {
                let head = TableHead {
                    kind: t.kind,
                    line: t.line,
                    columns: t.columns,
                    rows: t.metrics.len(),
                };
                (head, t.metrics)
            })
            .unzip();
        Self {
            source: results.source,
            tool: results.tool,
            format: results.format,
            version: results.version,
            heads,
            rows,
        }
    }
}

impl CompactResults {
    /// The file it came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Which tool wrote it.
    pub fn tool(&self) -> Tool {
        self.tool
    }

    /// CSV or JSON.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Tool version, when the file records it.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The tables in file order.
    pub fn tables(&self) -> &[TableHead] {
        &self.heads
    }

    /// Row `row` of table `table`, if both exist.
    pub fn metric(&self, table: usize, row: usize) -> Option<Metric> {
        self.rows.get(table)?.get(row).cloned()
    }

    /// Every row of table `table`, in file order (none for a table that does not exist).
    pub fn metrics(&self, table: usize) -> impl Iterator<Item = Metric> + '_ {
        let rows = self.heads.get(table).map_or(0, |h| h.rows);
        (0..rows).filter_map(move |i| self.metric(table, i))
    }

    /// Table `index` in the shape a [`super::Table`] serialises to.
    pub fn table_serialized(&self, index: usize) -> impl Serialize + '_ {
        TableOf {
            results: self,
            index,
        }
    }

    /// Answers a prepared [`Query`], as [`Results::query`] does.
    pub fn query(&self, query: &Query) -> Result<f64, LookupError> {
        let mut matcher = super::lookup::Matcher::new(query);
        for m in self.rows.iter().flatten() {
            // Reading refused duplicates already.
            let _ = matcher.offer(m);
            if matcher.done() {
                break;
            }
        }
        matcher.finish(&self.source)
    }
}

/// The same shape as [`Results`] serialises to, rows read one at a time.
impl Serialize for CompactResults {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("source", &self.source)?;
        map.serialize_entry("tool", &self.tool)?;
        map.serialize_entry("format", &self.format)?;
        map.serialize_entry("version", &self.version)?;
        let tables: Vec<_> = (0..self.heads.len())
            .map(|index| self.table_serialized(index))
            .collect();
        map.serialize_entry("tables", &tables)?;
        map.end()
    }
}

/// One table of a [`CompactResults`], serialised as a [`super::Table`].
struct TableOf<'r> {
    results: &'r CompactResults,
    index: usize,
}

impl Serialize for TableOf<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let head = &self.results.heads[self.index];
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("kind", &head.kind)?;
        map.serialize_entry("line", &head.line)?;
        map.serialize_entry("columns", &head.columns)?;
        map.serialize_entry("metrics", &Rows(self))?;
        map.end()
    }
}

struct Rows<'t, 'r>(&'t TableOf<'r>);

impl Serialize for Rows<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let table = self.0;
        let mut seq = serializer.serialize_seq(Some(table.results.heads[table.index].rows))?;
        for m in table.results.metrics(table.index) {
            seq.serialize_element(&m)?;
        }
        seq.end()
    }
}
