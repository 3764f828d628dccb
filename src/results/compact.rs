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
    let evidence = index.tool_evidence();
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
        sniff_csv_tool(columns, evidence)
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
    pub fn metrics(&self, table: usize) -> Box<dyn Iterator<Item = Metric> + '_> {
        match &self.rows {
            Rows::Csv { text, index } => Box::new(index.metrics(text, &self.source, table)),
            Rows::Parsed(tables) => Box::new(tables.get(table).into_iter().flatten().cloned()),
        }
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
    use crate::results::read;

    /// Cells of one line of a corpus file, unquoted, as the text reads: a split at commas
    /// outside quotes (the corpus has no quoted line breaks or escaped quotes).
    fn cells_of(line: &str) -> Vec<String> {
        let mut cells = vec![String::new()];
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => cells.push(String::new()),
                c => cells.last_mut().unwrap().push(c),
            }
        }
        cells.into_iter().map(|c| c.trim().to_owned()).collect()
    }

    /// The number a statistic cell writes: thousands commas dropped; empty, `N/A` and `nan`
    /// are missing, and so is genai-perf's `-1` sentinel.
    fn number_of(cell: &str) -> Option<f64> {
        match cell {
            "" | "N/A" | "nan" => None,
            _ => Some(cell.replace(',', "").parse::<f64>().unwrap()).filter(|&v| v != -1.0),
        }
    }

    /// Every table and row of every corpus CSV, as both the index ([`read_compact`]) and the
    /// full parse ([`crate::results::read`]) give them, against the file's own lines: header
    /// line and cells, then one row a line right after it, each row's label, unit, attributes
    /// and statistics read from its cells, and a blank line (or the end) after the last row.
    #[test]
    fn rows_are_the_files_own() {
        let (mut files, mut checked) = (0, 0);
        for path in accepted_corpus_csvs() {
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let compact = read_compact(&path).unwrap();
            let full = read(&path).unwrap();
            assert_eq!(
                serde_json::to_value(&compact).unwrap(),
                serde_json::to_value(&full).unwrap()
            );
            assert_eq!(compact.tables().len(), full.tables.len());
            for (t, head) in compact.tables().iter().enumerate() {
                let at = |n: usize| format!("{}:{n}", path.display());
                let columns = cells_of(lines[head.line - 1]);
                assert_eq!(head.columns, columns, "{}", at(head.line));
                let label = columns
                    .iter()
                    .position(|c| c == "Metric")
                    .or_else(|| columns.iter().position(|c| c == "Config Name"))
                    .unwrap();
                let unit = columns.iter().position(|c| c == "Unit");
                let after = lines.get(head.line + head.rows).copied();
                assert!(
                    after.is_none_or(|l| l.trim().is_empty()),
                    "{}",
                    at(head.line)
                );
                assert_eq!(full.tables[t].metrics.len(), head.rows);
                for (r, parsed) in full.tables[t].metrics.iter().enumerate() {
                    let n = head.line + 1 + r;
                    let cells = cells_of(lines[n - 1]);
                    let m = compact.metric(t, r).unwrap();
                    assert_eq!(&m, parsed, "{}", at(n));
                    assert_eq!(cells.len(), columns.len(), "{}", at(n));
                    assert_eq!(m.label, cells[label], "{}", at(n));
                    match (unit, &m.unit) {
                        (Some(u), unit) => {
                            assert_eq!(unit.as_deref().unwrap_or(""), cells[u], "{}", at(n));
                            assert_eq!(m.name, m.label, "{}", at(n));
                        }
                        (None, Some(unit)) => {
                            assert_eq!(format!("{} ({unit})", m.name), m.label, "{}", at(n))
                        }
                        (None, None) => assert_eq!(m.name, m.label, "{}", at(n)),
                    }
                    // Every other column is a statistic or an attribute, by name.
                    let others = m.stats.len() + m.attributes.len();
                    assert_eq!(others + 1 + usize::from(unit.is_some()), columns.len());
                    for (name, value) in m.stats.iter() {
                        let i = columns.iter().position(|c| c == name).unwrap();
                        assert_eq!(*value, number_of(&cells[i]), "{} `{name}`", at(n));
                    }
                    for (name, value) in m.attributes.iter() {
                        let i = columns.iter().position(|c| c == name).unwrap();
                        assert_eq!(*value, cells[i], "{} `{name}`", at(n));
                    }
                    checked += 1;
                }
            }
            files += 1;
        }
        assert!(
            files >= 20 && checked > 600,
            "{files} files, {checked} rows"
        );
    }

    /// The corpus CSVs [`read`] accepts (the corpus also holds deliberately broken ones).
    fn accepted_corpus_csvs() -> Vec<PathBuf> {
        let all = crate::results::csv::tests::corpus_csvs();
        all.into_iter().filter(|p| read(p).is_ok()).collect()
    }

    /// A corpus file's first data row repeated right after itself is refused at the copy,
    /// naming the first, by both reads.
    #[test]
    fn a_repeated_row_is_refused_at_the_copy() {
        for path in accepted_corpus_csvs() {
            let text = std::fs::read_to_string(&path).unwrap();
            let tables = read_compact(&path).unwrap();
            let head = tables.tables().iter().find(|h| h.rows > 0).unwrap();
            let header = head.line - 1;
            let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
            let row = lines[header + 1];
            lines.insert(header + 2, row);
            let doubled = lines.concat();
            // Lines are 1-based: the row is line `header + 2`, its copy the next.
            let (first, second) = (header + 2, header + 3);
            let columns = cells_of(lines[header]);
            let label_column = columns
                .iter()
                .position(|c| c == "Metric")
                .or_else(|| columns.iter().position(|c| c == "Config Name"))
                .unwrap();
            let label = cells_of(row).swap_remove(label_column);
            let col = row
                .split(',')
                .take(label_column)
                .map(|c| c.len() + 1)
                .sum::<usize>()
                + 1;
            let expected = format!(
                "{}:{second}:{col}: duplicate metric row `{label}` (first on line {first}); \
                 expected each once",
                path.display()
            );
            let compact = parse_compact(doubled.clone().into_bytes(), &path).unwrap_err();
            let full = crate::results::parse_csv(doubled.as_bytes(), &path).unwrap_err();
            assert_eq!(compact.to_string(), expected);
            assert_eq!(full.to_string(), expected);
        }
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
