//! Two rows of the same metric (label, unit and attributes such as the GPU): a lookup could
//! not tell which is right, so the file is refused, naming the second copy.
//!
//! Rows are remembered by a hash of their identity, 8 bytes each, not by their text: a sink
//! that keeps no row ([`super::index`]) must not need a map of every label to check them.
//! Rows whose hashes are equal are compared in full by the caller.

use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::path::Path;

use super::super::error::ResultsError;
use super::super::lookup::Row;
use super::super::position::line_col;
use super::shorten;

/// Collects the identity hash of every row, in file order.
#[derive(Debug, Default)]
pub(super) struct DuplicateFinder {
    state: RowHasher,
    /// The hash of each row offered, in row order.
    rows: Vec<u64>,
}

impl DuplicateFinder {
    /// A finder with room for `rows` rows (grown by doubling it would hold up to twice).
    pub(super) fn with_capacity(rows: usize) -> Self {
        Self {
            state: RowHasher::default(),
            rows: Vec::with_capacity(rows),
        }
    }

    /// Remembers the next row (row numbers count from 0 across all tables).
    pub(super) fn add(&mut self, row: &impl Row) {
        let mut h = self.state;
        row.label().hash(&mut h);
        row.unit().hash(&mut h);
        for i in 0..row.attr_count() {
            row.attr(i).hash(&mut h);
        }
        self.rows.push(h.finish());
    }

    /// The first row, in file order, that repeats an earlier row's metric, with the earliest
    /// such row: `(first, second)` row numbers. `same(a, b)` tells whether rows `a` and `b`
    /// are the same metric; it is asked only of rows whose hashes are equal.
    pub(super) fn first(mut self, same: impl Fn(usize, usize) -> bool) -> Option<(usize, usize)> {
        // The row number replaces the hash's low bits, so that one sort of the same 8 bytes
        // groups equal hashes in row order: fewer hash bits only mean more rows compared.
        let bits = usize::BITS - self.rows.len().leading_zeros();
        let mask = 1u64.checked_shl(bits).map_or(u64::MAX, |m| m - 1);
        for (n, h) in self.rows.iter_mut().enumerate() {
            *h = (*h & !mask) | n as u64;
        }
        self.rows.sort_unstable();
        let mut found: Option<(usize, usize)> = None;
        for group in self.rows.chunk_by(|a, b| a & !mask == b & !mask) {
            // Sorted by row number within a group: the first match is its earliest repeat.
            'group: for (k, &second) in group.iter().enumerate().skip(1) {
                let second = (second & mask) as usize;
                for &first in &group[..k] {
                    let first = (first & mask) as usize;
                    if same(first, second) {
                        if found.is_none_or(|(_, s)| second < s) {
                            found = Some((first, second));
                        }
                        break 'group;
                    }
                }
            }
        }
        found
    }
}

/// A multiply-and-fold hash of 8 bytes a step, keyed per finder from std's random keys.
///
/// SipHash (std's) cost as much as reading the row's cells; this costs a multiply a word.
/// Equal hashes are only a reason to compare two rows in full, so a collision costs time,
/// never a wrong answer, and the random key keeps a file from choosing its collisions.
#[derive(Debug, Clone, Copy)]
struct RowHasher {
    state: u64,
    key: u64,
}

impl Default for RowHasher {
    fn default() -> Self {
        let key = RandomState::new().hash_one(0x5151_u64) | 1;
        Self { state: key, key }
    }
}

/// The 128-bit product of `a` and `b`, its halves folded together.
fn fold_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

impl Hasher for RowHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in chunks.by_ref() {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.state = fold_multiply(self.state ^ u64::from_le_bytes(word), K);
        }
        let rest = chunks.remainder();
        let mut word = [0; 8];
        word[..rest.len()].copy_from_slice(rest);
        // The length goes in with the tail, so that `ab` + `c` and `a` + `bc` differ.
        let tail = u64::from_le_bytes(word) ^ ((bytes.len() as u64) << 56);
        self.state = fold_multiply(self.state ^ tail, K);
    }

    fn finish(&self) -> u64 {
        fold_multiply(self.state, self.key)
    }
}

/// [`ResultsError::Duplicate`] for a metric row first seen at byte `first`, again at `second`.
pub(crate) fn duplicate_error(
    text: &str,
    path: &Path,
    label: &str,
    first: usize,
    second: usize,
) -> ResultsError {
    let (line, col) = line_col(text.as_bytes(), second);
    ResultsError::Duplicate {
        path: path.to_owned(),
        line,
        col,
        what: "metric row",
        name: shorten(label),
        first_line: line_col(text.as_bytes(), first).0,
    }
}
