//! Validation and rendering of a test file, seed schema (CloudAI 13816b1a) against the current
//! one (CloudAI main): the seed file, the same job in the current schema, and a full
//! current-schema file in the shape of CloudAI main's shipped vLLM test. The target: the
//! current schema within 2× of the seed's (`cargo bench --bench config`).
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;

use cloudai_dynamo_rs::config::{SystemConfig, load_any_test_str, load_system_str};
use cloudai_dynamo_rs::render::{SingleRun, render_single};

const SEED: &str = include_str!("../tests/data/config/seed_test.toml");
const CURRENT: &str = include_str!("../tests/data/config/current_test.toml");
const CURRENT_FULL: &str = include_str!("../tests/data/config/current_full.toml");
const SYSTEM: &str = include_str!("../conf/staging/ai_dynamo/system/oci.toml");

/// Validate the test text, plan and render its run (the system is read once, as a host does).
fn render(system: &SystemConfig, text: &str) -> bool {
    let Ok(test) = load_any_test_str(text, "t.toml") else {
        return false;
    };
    let single = SingleRun {
        system,
        test: &test,
        id: "bench",
        iteration: 0,
        step: None,
        num_nodes: None,
        nodes: &[],
        time_limit: Some("01:00:00"),
        metadata_script: false,
    };
    render_single(&single, Path::new("/tmp/run"), Path::new("/tmp/install")).is_ok()
}

fn bench(c: &mut Criterion) {
    let system = load_system_str(SYSTEM, "system.toml").expect("valid system");
    for (name, text) in [
        ("seed", SEED),
        ("current", CURRENT),
        ("current_full", CURRENT_FULL),
    ] {
        assert!(render(&system, text), "{name} must render");
        c.bench_function(&format!("validate/{name}"), |b| {
            b.iter(|| load_any_test_str(black_box(text), "t.toml").is_ok())
        });
        c.bench_function(&format!("validate+render/{name}"), |b| {
            b.iter(|| render(&system, black_box(text)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
