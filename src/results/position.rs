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
            // Eight bytes at a time while they hold no CR or LF: rows are long.
            if let Some(chunk) = text.get(i..i + 8).filter(|_| i + 8 <= offset) {
                let mut word = [0; 8];
                word.copy_from_slice(chunk);
                let w = u64::from_le_bytes(word);
                if !has_byte(w, b'\n') && !has_byte(w, b'\r') {
                    i += 8;
                    continue;
                }
            }
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
        self.offset = self.offset.max(offset);
        let col = text[self.line_start..offset]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count();
        (self.line + 1, col + 1)
    }
}

/// Whether any byte of `word` is `byte` (the classic zero-byte test, exact as a yes/no).
fn has_byte(word: u64, byte: u8) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS != 0
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

    /// A tracker asked for increasing offsets, some between a CR and its LF, agrees with
    /// a walk of every byte from the start.
    #[test]
    fn tracker_agrees_with_a_walk() {
        let t = b"a\r\n\r\n\rb\n\r\r\nc\xC2\xB0\r\nd\n\n\re";
        let walk = |offset: usize| {
            let (mut line, mut start) = (1, 0);
            for i in 0..offset {
                if t[i] == b'\n' || (t[i] == b'\r' && t.get(i + 1) != Some(&b'\n')) {
                    line += 1;
                    start = i + 1;
                }
            }
            let col = t[start..offset]
                .iter()
                .filter(|&&b| b & 0xC0 != 0x80)
                .count();
            (line, col + 1)
        };
        for step in 1..4 {
            let mut tracker = super::LineTracker::default();
            for offset in (0..=t.len() + 1).step_by(step) {
                let expected = walk(offset.min(t.len()));
                assert_eq!(tracker.advance(t, offset), expected, "{offset} by {step}");
                assert_eq!(line_col(t, offset), expected, "{offset}");
            }
        }
    }
}
