//! The accuracy summary of an aiperf accuracy run (`accuracy_results.csv`), read as CloudAI
//! 5b5c0f72 reads it (`parse_aiperf_accuracy` in `workloads/ai_dynamo/ai_dynamo.py`): the
//! `OVERALL` row's accuracy, else the first row's; an `Accuracy`/`accuracy`/`Value` cell
//! that is a fraction, a number above 1 (a percentage) or `35.00%`, else `correct / total`;
//! the result a fraction in 0..=1. Unlike CloudAI, which skips what it cannot read and may
//! answer from another row, a cell that is not a number is an error with its position.
//!
//! Writers: aiperf 0.13's `AccuracyDataExporter` (`task,correct,total,unparsed,accuracy`,
//! accuracy `%.4f`); CloudAI's documented layout `Task,Correct,Total,Accuracy` with `35.00%`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{ResultsError, RunRecord, position::line_col, read_small};
use crate::Error;

/// What the accuracy summary says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracy {
    /// The file read.
    pub path: PathBuf,
    /// Accuracy as a fraction (0.35 for 35 %).
    pub value: f64,
    /// The task of the row it came from (`OVERALL` when the file has that row).
    pub task: String,
}

/// One CSV record: each field with its byte offset in the file.
fn fields(line: &str, base: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = base;
    let mut quoted = false;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' if quoted && chars.peek().is_some_and(|(_, n)| *n == '"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push((std::mem::take(&mut cur), start));
                start = base + i + 1;
            }
            _ => cur.push(c),
        }
    }
    out.push((cur, start));
    out
}

fn find(header: &[(String, usize)], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|n| header.iter().position(|(h, _)| h.trim() == *n))
}

/// The accuracy summary of the run in `run_dir`, as CloudAI finds it: the first of the
/// record's places that holds a non-empty file (an empty file is no summary, as there).
/// `None` when the test runs no accuracy benchmark.
pub fn run_accuracy(run_dir: &Path, record: &RunRecord) -> Option<Result<Accuracy, Error>> {
    if record.accuracy_files.is_empty() {
        return None;
    }
    let found = record
        .accuracy_files
        .iter()
        .map(|p| run_dir.join(p))
        .find(|p| p.metadata().is_ok_and(|m| m.len() > 0));
    Some(match found {
        Some(p) => read_accuracy(&p).map_err(Error::from),
        None => Err(Error::NoAccuracySummary {
            dir: run_dir.to_owned(),
            looked_for: record.accuracy_files.clone(),
        }),
    })
}

/// Reads the accuracy summary at `path`.
pub fn read_accuracy(path: &Path) -> Result<Accuracy, ResultsError> {
    let data = read_small(path, "an accuracy summary")?;
    let bad = |offset: usize, message: String| {
        let (line, col) = line_col(&data, offset);
        ResultsError::BadAccuracy {
            path: path.to_owned(),
            line,
            col,
            message,
        }
    };
    let text = std::str::from_utf8(&data)
        .map_err(|e| bad(e.valid_up_to(), "expected UTF-8 text".into()))?;
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut lines = Vec::new();
    let mut offset = bom;
    for line in text[bom..].split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if !body.trim().is_empty() {
            lines.push((body, offset));
        }
        offset += line.len();
    }
    let Some(&(head, head_at)) = lines.first() else {
        return Err(bad(
            0,
            "file is empty; expected an accuracy table with a header such as `task,correct,total,unparsed,accuracy`".into(),
        ));
    };
    let header = fields(head, head_at);
    let acc_col = find(&header, &["Accuracy", "accuracy", "Value"]);
    let correct_col = find(&header, &["Correct", "correct"]);
    let total_col = find(&header, &["Total", "total"]);
    let task_col = find(&header, &["Task", "task", "Metric"]);
    if acc_col.is_none() && (correct_col.is_none() || total_col.is_none()) {
        return Err(bad(
            head_at,
            format!(
                "expected an `accuracy` column (or `correct` and `total`), found header `{head}`"
            ),
        ));
    }
    let mut first: Option<Accuracy> = None;
    for &(line, at) in &lines[1..] {
        let row = fields(line, at);
        let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).map(|(t, o)| (t.trim(), *o));
        let number = |i: Option<usize>, what: &str| -> Result<Option<f64>, ResultsError> {
            match cell(i) {
                None | Some(("", _)) => Ok(None),
                Some((t, o)) => {
                    let (digits, percent) = match t.strip_suffix('%') {
                        Some(d) => (d.trim_end(), true),
                        None => (t, false),
                    };
                    match digits.parse::<f64>() {
                        Ok(v) if v.is_finite() && v >= 0.0 => {
                            Ok(Some(if percent { v / 100.0 } else { v }))
                        }
                        _ => Err(bad(
                            o,
                            format!(
                                "`{what}`: `{t}` is not a number; expected a non-negative decimal such as 0.3500 or 35.00%"
                            ),
                        )),
                    }
                }
            }
        };
        let percent_cell = cell(acc_col).is_some_and(|(t, _)| t.ends_with('%'));
        let value = match number(acc_col, "accuracy")? {
            // A plain number above 1 is a percentage, as CloudAI reads it.
            Some(v) if !percent_cell && v > 1.0 => Some(v / 100.0),
            Some(v) => Some(v),
            None => match (number(correct_col, "correct")?, number(total_col, "total")?) {
                (Some(c), Some(t)) if t > 0.0 => Some(c / t),
                _ => None,
            },
        };
        let Some(value) = value else { continue };
        if value > 1.0 {
            let (_, o) = cell(acc_col).or(cell(correct_col)).unwrap_or(("", at));
            return Err(bad(o, format!("accuracy {value} is above 100 %")));
        }
        let task = cell(task_col).map_or("", |(t, _)| t).to_owned();
        let found = Accuracy {
            path: path.to_owned(),
            value,
            task: task.clone(),
        };
        if task.eq_ignore_ascii_case("OVERALL") {
            return Ok(found);
        }
        first.get_or_insert(found);
    }
    first.ok_or_else(|| {
        bad(
            head_at,
            "no row holds an accuracy (or correct and total counts)".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::read_accuracy;
    use std::path::PathBuf;

    fn data(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/accuracy")
            .join(name)
    }

    #[test]
    fn overall_row_as_a_fraction() {
        // aiperf 0.13's writer: `OVERALL,115,235,2,0.4894`.
        let a = read_accuracy(&data("accuracy_results.csv")).unwrap();
        assert_eq!((a.value, a.task.as_str()), (0.4894, "OVERALL"));
        // CloudAI's documented layout: `OVERALL,8368,14042,59.59%`.
        let a = read_accuracy(&data("cloudai_doc_accuracy_results.csv")).unwrap();
        assert_eq!(a.value, 59.59 / 100.0);
    }

    #[test]
    fn counts_when_no_accuracy_cell_and_first_row_without_overall() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        std::fs::write(&p, "task,correct,total,accuracy\nmath,3,4,\n").unwrap();
        assert_eq!(read_accuracy(&p).unwrap().value, 0.75);
        std::fs::write(&p, "task,correct,total,accuracy\nmath,3,4,120\n").unwrap();
        let e = read_accuracy(&p).unwrap_err().to_string();
        assert!(
            e.ends_with("a.csv:2:10: accuracy 1.2 is above 100 %"),
            "{e}"
        );
        std::fs::write(&p, "task,score\nmath,1\n").unwrap();
        let e = read_accuracy(&p).unwrap_err().to_string();
        assert!(
            e.contains("a.csv:1:1: expected an `accuracy` column"),
            "{e}"
        );
    }
}
