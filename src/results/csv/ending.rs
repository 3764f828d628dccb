//! A file cut short: its last row lacks the line break its writer ends every row with.

use std::path::Path;

use super::super::error::ResultsError;
use super::super::position::line_col;
use super::shorten;

/// Refuses a file whose last row has no line break, unless the writer could have left it so.
///
/// genai-perf and aiperf write with Python's `csv.writer`, which ends every row with CRLF:
/// a file with CRLF rows that stops without one was cut short, wherever the cut fell (in
/// `…tokens/sec),21` the value was `21.xx`). Copies pasted from documents are LF and may
/// lose the final newline; those are accepted when their last cell is complete as the
/// writers format numbers (two decimals, `N/A`) or is text.
pub(super) fn check_ending(text: &str, path: &Path) -> Result<(), ResultsError> {
    if text.ends_with(['\n', '\r']) {
        return Ok(());
    }
    let start = text.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let last = &text[start..];
    if last.trim().is_empty() {
        return Ok(());
    }
    let writer_made = text[..start].contains("\r\n");
    // The last cell: after the last comma outside quotes (a quoted cell may hold commas).
    let cell_start = match last.ends_with('"') {
        true => last[..last.len() - 1].rfind('"').unwrap_or(0),
        false => last.rfind(',').map_or(0, |i| i + 1),
    };
    let cell = &last[cell_start..];
    if !writer_made && writer_complete(cell) {
        return Ok(());
    }
    let (line, col) = line_col(text.as_bytes(), start + cell_start);
    Err(ResultsError::Truncated {
        path: path.to_owned(),
        line,
        col,
        tail: shorten(cell),
    })
}

/// Whether a final cell is complete as the writers format it: a number with exactly two
/// decimals (`f"{v:.2f}"`, `f"{v:,.2f}"`), `N/A`, or text that is no number at all.
fn writer_complete(cell: &str) -> bool {
    let t = cell.trim().trim_matches('"');
    if t.is_empty() {
        return false;
    }
    let numeric = t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b'-' | b'+'));
    if !numeric {
        return true;
    }
    let decimals = t.rsplit_once('.').map(|(_, d)| d);
    decimals.is_some_and(|d| d.len() == 2 && d.bytes().all(|b| b.is_ascii_digit()))
}
