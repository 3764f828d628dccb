//! A parsed export held for reading on demand: Python's `read_results` object.
//!
//! [`Results`] owns every row as a [`Metric`]: several times the bytes of the row's text, and
//! Python's dicts of it far more (a 256 KiB CSV of one-character cells took 24 MB). A
//! [`CompactResults`] is validated exactly as [`super::read`] validates, then keeps a CSV's
//! text and where its rows start (4 bytes a row), and makes a [`Metric`] of a row when it is
//! asked for. A JSON export keeps its parsed rows: its text spends more bytes per value than
//! a [`Metric`] does.

use std::path::{Path, PathBuf};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::csv::RowIndex;
use super::{
    Format, LookupError, Metric, Query, Results, ResultsError, TableKind, Tool, decode, is_json,
    parse_json, read_small, sniff_csv_tool, tool_from_name,
};

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

/// A parsed export whose rows are made one at a time (see the module comment).
#[derive(Debug)]
pub struct CompactResults {
    source: PathBuf,
    tool: Tool,
    format: Format,
    version: Option<String>,
    heads: Vec<TableHead>,
    rows: Rows,
}

#[derive(Debug)]
enum Rows {
    /// A CSV export: its text (BOM removed) and where its rows are.
    Csv { text: String, index: RowIndex },
    /// A JSON export's rows, table by table.
    Parsed(Vec<Vec<Metric>>),
}

/// Reads `path` as [`super::read`] does (same limits, same errors) into a [`CompactResults`].
pub fn read_compact(path: impl AsRef<Path>) -> Result<CompactResults, ResultsError> {
    let path = path.as_ref();
    parse_compact(read_small(path, "a full parse")?, path)
}

/// [`read_compact`] of bytes in memory.
fn parse_compact(data: Vec<u8>, path: &Path) -> Result<CompactResults, ResultsError> {
    if is_json(path) {
        return Ok(CompactResults::from(parse_json(&data, path)?));
    }
    let bom = data.len() - decode(&data, path)?.len();
    let mut text = String::from_utf8(data).expect("decode checked UTF-8");
    text.drain(..bom);
    let (heads, index) = RowIndex::build(&text, path)?;
    if heads.iter().all(|h| h.rows == 0) {
        return Err(ResultsError::NoMetricTable {
            path: path.to_owned(),
        });
    }
    let mut results = CompactResults {
        source: path.to_owned(),
        tool: Tool::Unknown,
        format: Format::Csv,
        version: None,
        heads,
        rows: Rows::Csv { text, index },
    };
    results.tool = tool_from_name(path).unwrap_or_else(|| {
        let columns = results.heads.iter().flat_map(|h| &h.columns);
        let metrics = (0..results.heads.len()).flat_map(|t| results.metrics(t));
        sniff_csv_tool(columns, metrics)
    });
    Ok(results)
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
            rows: Rows::Parsed(rows),
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
        match &self.rows {
            Rows::Csv { text, index } => index.metric(text, &self.source, table, row),
            Rows::Parsed(tables) => tables.get(table)?.get(row).cloned(),
        }
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
        let rows = (0..self.heads.len()).flat_map(|t| self.metrics(t));
        for m in rows {
            // Reading refused duplicates already.
            let _ = matcher.offer(&m);
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
        map.serialize_entry("metrics", &TableRows(self))?;
        map.end()
    }
}

struct TableRows<'t, 'r>(&'t TableOf<'r>);

impl Serialize for TableRows<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let table = self.0;
        let mut seq = serializer.serialize_seq(Some(table.results.heads[table.index].rows))?;
        for m in table.results.metrics(table.index) {
            seq.serialize_element(&m)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{find_result_files, parse_csv};

    /// The compact form holds what a full parse holds, and refuses what it refuses with the
    /// same error: corpus files and one-byte mutations of them.
    #[test]
    fn same_as_a_full_parse() {
        let mut next = crate::test_rng::xorshift(0x1234_5678_9ABC_DEF1u64);
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results");
        let files = find_result_files(&root).unwrap();
        let mut compared = 0;
        for file in files.iter().filter(|f| f.format == Format::Csv) {
            let original = std::fs::read(&file.path).unwrap();
            let mut variants = vec![original.clone()];
            for _ in 0..60 {
                let mut v = original.clone();
                let at = (next() % v.len() as u64) as usize;
                v[at] = b",\"\r\n x1.-"[(next() % 9) as usize];
                variants.push(v);
            }
            // The first data row repeated right after itself: a duplicate metric row.
            let text = String::from_utf8(original.clone()).unwrap();
            if let Some(i) = text.find("\r\n") {
                let start = i + 2;
                let len = text[start..].find("\r\n").map_or(0, |j| j + 2);
                let row = &text[start..start + len];
                let doubled = format!("{}{row}{}", &text[..start + len], &text[start + len..]);
                let err = parse_compact(doubled.clone().into_bytes(), &file.path).unwrap_err();
                assert!(
                    matches!(err, ResultsError::Duplicate { .. }),
                    "{}: {err}",
                    file.path.display()
                );
                variants.push(doubled.into_bytes());
            }
            for data in variants {
                let full = parse_csv(&data, &file.path).map(|r| serde_json::to_value(&r).unwrap());
                let compact =
                    parse_compact(data, &file.path).map(|r| serde_json::to_value(&r).unwrap());
                assert_eq!(
                    compact.map_err(|e| e.to_string()),
                    full.map_err(|e| e.to_string()),
                    "{}",
                    file.path.display()
                );
                compared += 1;
            }
        }
        assert!(compared > 500, "{compared}");
    }

    #[test]
    fn tool_sniffed_from_content_without_a_telling_name() {
        let data = b"Metric,avg\r\nTime To First Token (ms),1.00\r\n".to_vec();
        let r = parse_compact(data, Path::new("x.csv")).unwrap();
        assert_eq!(r.tool(), Tool::GenaiPerf);
        assert_eq!(r.metric(0, 0).unwrap().stat("avg"), Some(1.0));
        assert_eq!(r.metric(0, 1), None);
        assert_eq!(r.metric(1, 0), None);
    }
}
