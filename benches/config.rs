//! Validations per second of the seed test file (CloudAI's pydantic path: ~290 µs each).
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const SEED: &str = include_str!("../tests/data/config/seed_test.toml");

fn bench(c: &mut Criterion) {
    c.bench_function("load_test_str(seed)", |b| {
        b.iter(|| cloudai_dynamo_rs::config::load_test_str(black_box(SEED), "seed.toml").is_ok())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
