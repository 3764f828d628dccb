//! Results parsing speed: real exports, lookups, and MB/s on a large synthetic CSV.
use std::hint::black_box;

use cloudai_dynamo_rs::results;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SEED: &[u8] =
    include_bytes!("../tests/data/results/cloudai-doc-genai-perf/profile_genai_perf.csv");
const AIPERF: &[u8] = include_bytes!(
    "../tests/data/results/aiperf-0.13.0/dynamo-mocker-1p1d-stream-c4/profile_export_aiperf.csv"
);
const AIPERF_JSON: &[u8] = include_bytes!(
    "../tests/data/results/aiperf-0.13.0/dynamo-mocker-1p1d-stream-c4/profile_export_aiperf.json"
);

/// genai-perf-style request table (quoted thousands in half the cells) plus a system table,
/// about `rows × 130` bytes.
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
    s.push_str("\r\nMetric,Value\r\nOutput Token Throughput (tokens/sec),\"1,727.18\"\r\n");
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    c.bench_function("parse_csv(seed)", |b| {
        b.iter(|| results::parse_csv(black_box(SEED), "seed.csv").unwrap())
    });
    c.bench_function("parse_csv(aiperf 0.13, 6 KB)", |b| {
        b.iter(|| results::parse_csv(black_box(AIPERF), "aiperf.csv").unwrap())
    });
    c.bench_function("parse_json(aiperf 0.13, 43 KB)", |b| {
        b.iter(|| results::parse_json(black_box(AIPERF_JSON), "aiperf.json").unwrap())
    });
    c.bench_function("parse_csv+lookup 6 keys(seed)", |b| {
        b.iter(|| {
            let r = results::parse_csv(black_box(SEED), "seed.csv").unwrap();
            results::MetricKey::ALL
                .iter()
                .map(|k| r.key_value(*k, None).unwrap_or(0.0))
                .sum::<f64>()
        })
    });
    // What `read_metrics_many` does per file: read it and answer the six keys while scanning.
    let aiperf_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/results/aiperf-0.13.0/dynamo-mocker-1p1d-stream-c4/profile_export_aiperf.csv"
    );
    let queries: Vec<results::Query> = results::MetricKey::ALL
        .iter()
        .map(|k| results::Query::key(*k, None))
        .collect();
    let mut reader = results::MetricReader::new(&queries);
    c.bench_function("MetricReader::read 6 keys(aiperf 0.13, 6 KB file)", |b| {
        b.iter(|| reader.read(black_box(aiperf_path)).unwrap())
    });

    let big = synthetic_csv(80_000);
    let mut group = c.benchmark_group("synthetic");
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.sample_size(20);
    group.bench_function(
        format!("parse_csv({:.1} MB)", big.len() as f64 / 1e6),
        |b| b.iter(|| results::parse_csv(black_box(&big), "big.csv").unwrap()),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
