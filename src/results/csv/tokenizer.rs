//! RFC 4180 rows and cells (Python `csv`'s default dialect), each cell with its byte offset.

use std::borrow::Cow;
use std::path::Path;

use super::super::error::ResultsError;
use super::super::number::{Stat, parse_stat, plain_number, quoted_number};
use super::super::position::line_col;
use super::header::{ColumnRole, Layout};
use super::validate::surely_fine;

/// One cell and the byte offset where it starts (its opening quote, if quoted).
#[derive(Debug)]
pub(super) struct Cell<'a> {
    pub(super) text: Cow<'a, str>,
    pub(super) offset: usize,
}

/// Byte range of a row, line terminator excluded.
#[derive(Debug, Clone, Copy)]
pub(super) struct RowSpan {
    pub(super) start: usize,
    pub(super) end: usize,
}

/// Reader-level failure, positioned by byte offset.
#[derive(Debug)]
pub(super) enum RawError {
    UnclosedQuote(usize),
    AfterQuote(usize),
}

impl RawError {
    pub(super) fn into_error(self, text: &str, path: &Path) -> ResultsError {
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

/// Length of the unquoted cell at the start of `bytes`: up to the first `,`, CR or LF.
///
/// Looks at eight bytes at a time (labels run to tens of bytes) with the classic SWAR
/// zero-byte test; its lowest flag is always exact, which is the only one used.
fn cell_len(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    for (i, chunk) in chunks.by_ref().enumerate() {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let hits = zero_bytes(w ^ (ONES * u64::from(b',')))
            | zero_bytes(w ^ (ONES * u64::from(b'\r')))
            | zero_bytes(w ^ (ONES * u64::from(b'\n')));
        if hits != 0 {
            return i * 8 + (hits.trailing_zeros() / 8) as usize;
        }
    }
    let rest = chunks.remainder();
    let done = bytes.len() - rest.len();
    done + rest
        .iter()
        .position(|&b| matches!(b, b',' | b'\r' | b'\n'))
        .unwrap_or(rest.len())
}

/// The closing quote of the quoted cell opening at `open`, if the cell has no `""` escape.
fn plain_quoted(bytes: &[u8], open: usize) -> Option<usize> {
    let close = open + 1 + bytes[open + 1..].iter().position(|&b| b == b'"')?;
    (bytes.get(close + 1) != Some(&b'"')).then_some(close)
}

/// What [`Reader::plain_row`] found besides the cells.
pub(super) struct PlainRow {
    /// Some statistic may break a value rule (see [`surely_fine`]): the row needs
    /// [`Layout::check_values`]; otherwise that check has nothing to do.
    pub(super) judge: bool,
}

/// RFC 4180 reader (Python `csv` default dialect) accepting CRLF, LF and CR line ends.
pub(super) struct Reader<'a> {
    pub(super) text: &'a str,
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads a data row of `layout` whose quoted cells hold no `""` and whose statistics
    /// parse, parsing them as it goes (plain decimals in the same pass, see
    /// [`plain_number`]); `None` (position unchanged) for any other row, including every
    /// malformed one.
    pub(super) fn plain_row(
        &mut self,
        layout: &Layout<'_>,
        cells: &mut Vec<Cell<'a>>,
        stats: &mut Vec<Stat>,
    ) -> Option<PlainRow> {
        let bytes = self.text.as_bytes();
        let mut pos = self.pos;
        let mut judge = false;
        cells.clear();
        stats.clear();
        let last = layout.roles.len() - 1;
        for (i, role) in layout.roles.iter().enumerate() {
            let start = pos;
            let text = if bytes.get(pos) == Some(&b'"') {
                // Quoted (genai-perf's `"1,146.31"`): the general path unless it is simple.
                let close = plain_quoted(bytes, pos)?;
                pos = close + 1;
                let text = &self.text[start + 1..close];
                if *role == ColumnRole::Stat {
                    let stat = match quoted_number(text.as_bytes()) {
                        Some(stat) => stat,
                        None => parse_stat(text).ok()?.into(),
                    };
                    judge |= !surely_fine(stat);
                    stats.push(stat);
                }
                text
            } else if *role == ColumnRole::Stat {
                let (value, end) = plain_number(bytes, pos)?;
                judge |= !surely_fine(value);
                stats.push(value);
                pos = end;
                &self.text[start..pos]
            } else {
                pos += cell_len(&bytes[pos..]);
                &self.text[start..pos]
            };
            cells.push(Cell {
                text: Cow::Borrowed(text),
                offset: start,
            });
            match bytes.get(pos) {
                Some(b',') if i < last => pos += 1,
                Some(b'\r' | b'\n') | None if i == last => {}
                _ => return None,
            }
        }
        self.pos = match bytes.get(pos) {
            Some(b'\r') if bytes.get(pos + 1) == Some(&b'\n') => pos + 2,
            Some(_) => pos + 1,
            None => pos,
        };
        Some(PlainRow { judge })
    }

    /// Reads the next row into `cells`; `None` at end of input.
    pub(super) fn next_row(
        &mut self,
        cells: &mut Vec<Cell<'a>>,
    ) -> Result<Option<RowSpan>, RawError> {
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
                self.pos = offset + cell_len(&bytes[offset..]);
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
    fn cell_ends() {
        let text = "abcdefgh,ijklmnopq\r\nrs\nt,uvwxyz0123456789";
        for start in 0..text.len() {
            let bytes = &text.as_bytes()[start..];
            let expected = bytes
                .iter()
                .position(|&b| matches!(b, b',' | b'\r' | b'\n'))
                .unwrap_or(bytes.len());
            assert_eq!(cell_len(bytes), expected, "{start}");
        }
        assert_eq!(cell_len("Temp (°C)\u{2c}\u{fffd}".as_bytes()), 10);
    }
}
