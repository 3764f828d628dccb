//! Heap bytes of result reads, counted by a global allocator (this test binary's only): the
//! standing target "a read holds at most twice the file size" as a check. One test, so no
//! other test's allocations run while it counts. `benches/memory.rs` prints the figures.

use std::path::Path;

use cloudai_dynamo_rs::results;
use peak_alloc::PeakAlloc;

/// Counts a `realloc` as a new block beside the old one: never below what a read needs.
#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// The peak of live heap bytes during `f` above those live before it.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let out = f();
    (out, ALLOCATOR.peak_usage() - before)
}

/// `rows` rows of 12 one-character statistics (the densest table a parse accepts) and the
/// system table, as `benches/results_vs_pandas.py`'s `write_dense` writes them.
fn dense_csv(rows: usize) -> String {
    let mut text = String::from("Metric,avg,min,max,p99,p95,p90,p75,p50,p25,p10,p5,p1\r\n");
    for i in 0..rows {
        text.push_str(&format!("{i:x},0,0,0,0,0,0,0,0,0,0,0,0\r\n"));
    }
    text + "\r\nMetric,Value\r\nOutput Token Throughput (tokens/sec),1.00\r\n"
}

#[test]
fn reads_hold_at_most_twice_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // 8,000 rows of 29-30 bytes: 235 KB, under MAX_PARSE_BYTES.
    let dense = dir.path().join("dense_genai_perf.csv");
    std::fs::write(&dense, dense_csv(8_000)).unwrap();
    let size = std::fs::metadata(&dense).unwrap().len() as usize;
    assert!(size as u64 <= results::MAX_PARSE_BYTES);
    // Warm: std's and the OS's one-time allocations are no part of a read.
    results::read_compact(&dense).unwrap();

    // The text (1x), 4 bytes a row of offsets and 8 of hashes (12 / 29.5 = 0.41x), each
    // reserved once: growth by doubling, counted with its copies, came to 2.0x.
    let (compact, peak) = peak_of(|| results::read_compact(&dense).unwrap());
    assert_eq!(compact.tables()[0].rows, 8_000);
    assert!(
        peak * 2 <= size * 3,
        "read_compact: {peak} bytes for {size}"
    );

    // One lookup holds the file and a little (the answers, the query's state), not a
    // buffer of 64 KiB whatever the file.
    let queries = [results::Query::new("default", None)];
    let seed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/results/cloudai-doc-genai-perf/profile_genai_perf.csv");
    let seed_size = std::fs::metadata(&seed).unwrap().len() as usize;
    results::lookup_many(&seed, &queries).unwrap();
    let (answers, peak) = peak_of(|| results::lookup_many(&seed, &queries).unwrap());
    assert!(answers[0].is_ok());
    assert!(
        peak <= seed_size + 4096,
        "lookup_many: {peak} bytes for {seed_size}"
    );

    // A file beyond the reused buffer is read once into a vector of its size.
    let (answers, peak) = peak_of(|| results::lookup_many(&dense, &queries).unwrap());
    assert_eq!(answers[0].as_ref().ok(), Some(&1.0));
    assert!(peak <= size + 4096, "lookup_many: {peak} bytes for {size}");

    // A JSON export is streamed: its text (1x) and its metrics (held as parsed, about 1x
    // for the largest), no tree of the document (6.3x) nor of one entry (3.4x, aiperf
    // 0.1.x's `records` and genai-perf's exports 5-6x: their metrics sit in one entry).
    let json = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "tests/data/results/aiperf-0.13.0/dynamo-mocker-1p1d-stream-c4/profile_export_aiperf.json",
    );
    let json_size = std::fs::metadata(&json).unwrap().len() as usize;
    let (compact, peak) = peak_of(|| results::read_compact(&json).unwrap());
    assert!(compact.tables().iter().map(|t| t.rows).sum::<usize>() > 20);
    assert!(
        peak <= 2 * json_size,
        "read_compact: {peak} bytes for {json_size}"
    );
    // Every corpus export, the smallest (4.4 KB) included, whose fixed part per read (the
    // path, the tables, the name lists) weighs most.
    for json in json_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results")) {
        let size = std::fs::metadata(&json).unwrap().len() as usize;
        let (compact, peak) = peak_of(|| results::read_compact(&json).unwrap());
        assert!(!compact.tables().is_empty());
        assert!(
            peak <= 3 * size,
            "read_compact: {peak} bytes for {size} in {}",
            json.display()
        );
    }
}

/// The `.json` files under `dir`, at any depth.
fn json_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(json_files(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out
}
