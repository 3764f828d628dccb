//! Source files and byte spans, resolved to 1-based line/column positions for diagnostics.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Index of a file in a [`Sources`] set; every node of the config tree remembers its file so
/// that errors in a scenario override point into the scenario, not into the test file.
pub type FileId = usize;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

/// The text of one configuration file and its line starts.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Worked out on the first position asked for: a valid file never needs it.
    line_starts: OnceLock<Vec<usize>>,
    /// False for data that came from no file (a host framework's dict): its errors name the
    /// origin but no line.
    positioned: bool,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: String) -> Self {
        Self {
            path: path.into(),
            text,
            line_starts: OnceLock::new(),
            positioned: true,
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    /// A source without text: positions in it are line 0 ("no position").
    pub fn unpositioned(path: impl Into<PathBuf>) -> Self {
        Self {
            positioned: false,
            ..Self::new(path, String::new())
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        if !self.positioned {
            return (0, 0);
        }
        let offset = offset.min(self.text.len());
        let line_starts = self.line_starts();
        let line = line_starts.partition_point(|&s| s <= offset).max(1);
        let start = line_starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, column)
    }
}

/// All files of one validation run.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, path: impl Into<PathBuf>, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        self.files.len() - 1
    }

    /// See [`SourceFile::unpositioned`].
    pub fn add_unpositioned(&mut self, path: impl Into<PathBuf>) -> FileId {
        self.files.push(SourceFile::unpositioned(path));
        self.files.len() - 1
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let f = SourceFile::new("x.toml", "a = 1\nbé = \"x\"\n".to_string());
        assert_eq!(f.position(0), (1, 1));
        assert_eq!(f.position(4), (1, 5));
        assert_eq!(f.position(6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(f.position(9), (2, 3));
        assert_eq!(f.position(10_000), (3, 1));
    }
}
