//! Byte offsets to 1-based line and column, computed only when needed.

/// Line and column of byte `offset` in `text`; CRLF, LF and lone CR each end a line.
///
/// Columns count characters (UTF-8 lead bytes), so the result matches what an editor shows
/// even for `°C` labels; it also works on invalid UTF-8.
pub(crate) fn line_col(text: &[u8], offset: usize) -> (usize, usize) {
    let mut tracker = LineTracker::default();
    tracker.advance(text, offset)
}

/// Forward-only line counter: parsing asks for increasing offsets, so the total cost stays
/// linear in the file size however many tables it holds.
#[derive(Debug, Default)]
pub(crate) struct LineTracker {
    offset: usize,
    line: usize,
    line_start: usize,
}

impl LineTracker {
    /// Line and column of `offset`, which must not be smaller than the previous one.
    pub(crate) fn advance(&mut self, text: &[u8], offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        debug_assert!(offset >= self.offset);
        let mut i = self.offset;
        while i < offset {
            match text[i] {
                b'\n' => {
                    self.line += 1;
                    self.line_start = i + 1;
                }
                // A CR ends the line unless it is the first half of CRLF.
                b'\r' if text.get(i + 1) != Some(&b'\n') => {
                    self.line += 1;
                    self.line_start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        self.offset = offset;
        let col = text[self.line_start..offset]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count();
        (self.line + 1, col + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::line_col;

    #[test]
    fn endings() {
        let t = b"ab\r\ncd\ne\rf\xC2\xB0g";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 2), (1, 3));
        assert_eq!(line_col(t, 3), (1, 4));
        assert_eq!(line_col(t, 4), (2, 1));
        assert_eq!(line_col(t, 7), (3, 1));
        assert_eq!(line_col(t, 9), (4, 1));
        assert_eq!(line_col(t, 12), (4, 3));
    }
}
