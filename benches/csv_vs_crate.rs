//! The hand-written CSV reader (`src/results/csv/`) against the `csv` crate, on the same
//! bytes: every CSV export of the corpus (`tests/data/results`) and a large synthetic one.
//!
//!     cargo bench --bench csv_vs_crate
//!
//! The crate side splits records and fields (quotes, CRLF, blank lines) and turns every
//! statistic cell into an `f64` (thousands commas removed): less than ours does (no header
//! classification, no per-cell position, no validation), so it is a lower bound of what a
//! crate-based reader would cost. Ours is measured on each path the product reads with:
//!
//! * scan: every cell validated and read, one metric answered, no row kept: what
//!   `get_metric`/`read_metrics_many` do on a CSV of any size (file read included);
//! * index: the scan keeping where each row starts, what `read_results` does (files of at
//!   most 256 KiB).
//!
//! Those are the reader's two modes. A third row, "index + materialization", times
//! `results::parse_csv` (what `results::read` does with a CSV: Rust callers and tests, files
//! of at most 256 KiB): the index, then every row read again and owned as a `Metric`. It is
//! no reader of its own and is shown for its cost, not compared for the 1.5× rule.
//!
//! The hand-written reader is kept only while its scan is at least 1.5× faster than the
//! crate on both the corpus and the large table (issue 11).
use std::hint::black_box;
use std::path::{Path, PathBuf};

use cloudai_dynamo_rs::results;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn corpus_csvs(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            corpus_csvs(&p, out);
        } else if p.extension().is_some_and(|e| e == "csv") {
            out.push(p);
        }
    }
}

/// The `csv` crate's records, every cell after the first tried as a number.
fn with_crate(data: &[u8]) -> f64 {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut record = csv::ByteRecord::new();
    let mut sum = 0.0;
    let mut cell = String::new();
    while reader.read_byte_record(&mut record).expect("csv record") {
        for field in record.iter().skip(1) {
            cell.clear();
            cell.extend(
                std::str::from_utf8(field)
                    .unwrap_or("")
                    .chars()
                    .filter(|&c| c != ','),
            );
            if let Ok(v) = cell.parse::<f64>() {
                sum += v;
            }
        }
    }
    sum
}

fn synthetic_csv(rows: usize) -> Vec<u8> {
    let mut s = String::from("Metric,avg,min,max,p99,p95,p90,p75,p50,p25,p10,p5,p1\r\n");
    for i in 0..rows {
        s.push_str(&format!("Synthetic Metric {i} (ms)"));
        for j in 0..12 {
            if j % 2 == 0 {
                s.push_str(&format!(
                    ",\"{},{:03}.{:02}\"",
                    1 + i % 97,
                    (i * 7 + j) % 1000,
                    j
                ));
            } else {
                s.push_str(&format!(",{}.{:02}", (i * 13 + j) % 1000, j));
            }
        }
        s.push_str("\r\n");
    }
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut paths = Vec::new();
    corpus_csvs(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results"),
        &mut paths,
    );
    // Only the files our reader accepts (the corpus also holds deliberately broken ones).
    let files: Vec<(PathBuf, Vec<u8>)> = paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read corpus file");
            (p, bytes)
        })
        .filter(|(p, b)| results::parse_csv(b, p).is_ok())
        .collect();
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    let queries = [results::Query::new("default", None)];

    let mut group = c.benchmark_group("corpus CSVs");
    group.throughput(Throughput::Bytes(total as u64));
    let n = files.len();
    group.bench_function(format!("ours, scan ({n} files)"), |b| {
        let mut reader = results::MetricReader::new(&queries);
        b.iter(|| {
            for (p, _) in &files {
                black_box(reader.read(p).expect("scan"));
            }
        })
    });
    group.bench_function(format!("ours, index ({n} files)"), |b| {
        b.iter(|| {
            for (p, _) in &files {
                black_box(results::read_compact(p).expect("index"));
            }
        })
    });
    group.bench_function(format!("ours, index + materialization ({n} files)"), |b| {
        b.iter(|| {
            for (p, bytes) in &files {
                black_box(results::parse_csv(black_box(bytes), p).expect("parse"));
            }
        })
    });
    group.bench_function(format!("csv crate ({} files)", files.len()), |b| {
        b.iter(|| {
            for (_, bytes) in &files {
                black_box(with_crate(black_box(bytes)));
            }
        })
    });
    group.finish();

    let big = synthetic_csv(80_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let big_path = dir.path().join("big_genai_perf.csv");
    std::fs::write(&big_path, &big).expect("write the large table");
    let mut group = c.benchmark_group("synthetic");
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.sample_size(10);
    group.bench_function("ours, scan", |b| {
        let mut reader = results::MetricReader::new(&queries);
        b.iter(|| black_box(reader.read(&big_path).expect("scan")))
    });
    group.bench_function("ours, index + materialization", |b| {
        b.iter(|| results::parse_csv(black_box(&big), "big.csv").expect("parse"))
    });
    group.bench_function("csv crate", |b| b.iter(|| with_crate(black_box(&big))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
