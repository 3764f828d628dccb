//! Peak heap bytes of one result read, counted by a global allocator (this bench's only, not
//! the product's): a load-independent figure for the standing target "a read holds at most
//! twice the file size".
//!
//!     cargo bench --bench memory
//!
//! For each file: the peak of live heap bytes during the read above the bytes live before it
//! (the read's own memory, whatever the process held already), and the bytes still live while
//! the result is held (`read_compact`'s `CompactResults`, Python's `Results`). Reads are
//! `read_compact` (Python's `read_results`), `MetricReader` with one query (Python's
//! `get_metric`: a fresh reader per call, as `get_metric` makes one) and `read` (the full
//! parse into `Metric`s, not a Python entry point since `read_results` keeps the text; shown
//! for comparison). Files: the densest CSV `read_compact` accepts (`MAX_PARSE_BYTES` of
//! one-character cells, as `benches/results_vs_pandas.py` writes it) and every corpus export.
//!
//! What this does not count: code pages, the stack, and the allocator's own arenas, which the
//! process pays once, on its first call (`benches/vs_cloudai.py`'s `memory` measures those as
//! the whole process's `ru_maxrss`).
use std::path::{Path, PathBuf};

use cloudai_dynamo_rs::results;
use peak_alloc::PeakAlloc;

/// The system allocator, counting live bytes and their peak. It counts a `realloc` as a new
/// block live next to the old one (it moves every block it reallocates): the most a realloc
/// can cost, so a figure here is never below what the read needs.
#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// `f`'s result, the peak of live heap bytes above those live before the call, and the bytes
/// still live after it while its result is held.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let out = f();
    let peak = ALLOCATOR.peak_usage() - before;
    let held = ALLOCATOR.current_usage().saturating_sub(before);
    (out, peak, held)
}

/// The densest CSV of `size` bytes: 12 one-character statistics a row, as
/// `benches/results_vs_pandas.py`'s `write_dense` writes it.
fn dense_csv(size: usize) -> String {
    let stats = [
        "avg", "min", "max", "p99", "p95", "p90", "p75", "p50", "p25", "p10", "p5", "p1",
    ];
    let tail = "\r\nMetric,Value\r\nOutput Token Throughput (tokens/sec),1.00\r\n";
    let mut text = format!("Metric,{}\r\n", stats.join(","));
    let zeros = vec!["0"; stats.len()].join(",");
    for i in 0.. {
        let line = format!("{i:x},{zeros}\r\n");
        if text.len() + line.len() + tail.len() > size {
            break;
        }
        text.push_str(&line);
    }
    text.push_str(tail);
    text
}

fn corpus(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            corpus(&p, out);
        } else if p.extension().is_some_and(|e| e == "csv" || e == "json") {
            out.push(p);
        }
    }
}

fn ratio(bytes: usize, size: u64) -> String {
    format!("{:.2}x", bytes as f64 / size as f64)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().unwrap();
    let dense = work.path().join("dense_genai_perf.csv");
    std::fs::write(&dense, dense_csv(results::MAX_PARSE_BYTES as usize)).unwrap();
    let mut files = vec![dense];
    corpus(&root.join("tests/data/results"), &mut files);
    let queries = [results::Query::new("default", None)];

    println!("peak heap bytes of one read above the bytes live before it (counting allocator)");
    println!("target: peak <= 2x the file's size; held = live while the result is kept");
    println!(
        "{:>8}  {:>21} {:>9}  {:>21}  {:>21}  file",
        "bytes", "read_compact peak", "held", "MetricReader peak", "read (full) peak"
    );
    let mut over = 0;
    for path in &files {
        let size = std::fs::metadata(path).unwrap().len();
        // Once unmeasured: the first call's one-time allocations (std's, the OS's) are no
        // part of any read.
        let _ = results::read_compact(path);
        let (compact, peak, held) = measure(|| results::read_compact(path));
        let compact = match compact {
            Ok(c) => c,
            Err(e) => {
                println!("{size:8}  refused: {e}");
                continue;
            }
        };
        drop(compact);
        let (_, lookup, _) = measure(|| results::MetricReader::new(&queries).read(path));
        let (_, full, _) = measure(|| results::read(path));
        let name = path.strip_prefix(root).unwrap_or(path);
        let verdict = if peak as f64 <= 2.0 * size as f64 {
            ""
        } else {
            over += 1;
            "  OVER"
        };
        println!(
            "{size:8}  {peak:>12} {:>8} {held:>9}  {lookup:>12} {:>8}  {full:>12} {:>8}  {}{verdict}",
            ratio(peak, size),
            ratio(lookup, size),
            ratio(full, size),
            name.display(),
        );
    }
    println!(
        "read_compact above 2x the file: {over} of {} files",
        files.len()
    );
    println!(
        "notes: a CSV's peak is its text, 4 bytes a row of offsets and 8 of duplicate-check \
         hashes (freed after the check), plus a fixed part per read (the path; each table's \
         column names, kept by its head, its layout and its rows' names): the fixed part \
         is most of a small file's ratio. A JSON export is read one top-level entry at a time: \
         its peak is its text, its metrics and one entry's tree; it is held as parsed \
         metrics. Not counted here: the \
         code pages and allocator arenas any process's first call touches, once (~0.3 MB \
         of the extension's code in `benches/vs_cloudai.py`'s `memory`)."
    );
}
