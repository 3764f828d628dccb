//! Results parsing against real genai-perf/aiperf exports.
//!
//! `tests/data/results/` holds byte-exact copies of the shared corpus files (provenance:
//! `shared/corpus/README.md`); `cloudai-doc-genai-perf/profile_genai_perf.csv` is the table
//! quoted in the seed document.

use std::path::{Path, PathBuf};

use cloudai_dynamo_rs::results::{
    self, Format, LookupError, MetricKey, Results, ResultsError, TableKind, Tool,
};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/results")
        .join(rel)
}

fn load(rel: &str) -> Results {
    results::read(data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn value(r: &Results, metric: &str, stat: Option<&str>) -> f64 {
    r.lookup(metric, stat)
        .unwrap_or_else(|e| panic!("{metric} {stat:?}: {e}"))
}

/// JSON floats: with serde_json's `float_roundtrip` feature (enabled in Cargo.toml) they are
/// the nearest double; the 2 ULP tolerance keeps these tests independent of that feature,
/// without which serde_json may be 1 ULP off.
#[track_caller]
fn assert_ulp(actual: f64, expected: f64) {
    let diff = (actual.to_bits() as i64 - expected.to_bits() as i64).abs();
    assert!(diff <= 2, "{actual} != {expected} ({diff} ulp)");
}

fn csv_err(bytes: &[u8]) -> ResultsError {
    results::parse_csv(bytes, "bad.csv").expect_err("must fail")
}

const SEED: &str = "cloudai-doc-genai-perf/profile_genai_perf.csv";
const GP_STREAM: &str = "genai-perf-0.0.16/dynamo-mocker-1p1d-stream-c2/tiny-openai-chat-concurrency2/profile_export_genai_perf";
const AIPERF_13: &str = "aiperf-0.13.0/dynamo-mocker-1p1d-stream-c4";

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Every corpus file

#[test]
fn every_corpus_file_parses() {
    let mut files = Vec::new();
    all_files(&data(""), &mut files);
    assert_eq!(files.len(), 30, "corpus copy changed: {files:#?}");
    for f in files {
        let r = results::read(&f).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.metrics().count() > 0, "{}", f.display());
        assert!(r.metrics().all(|m| !m.label.is_empty()));
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["tables"].is_array());
    }
}

// ---------------------------------------------------------------------------------------
// Seed (genai-perf ≈0.0.10–0.0.12, LF, `(per sec)` throughput, quoted thousands)

#[test]
fn seed_values() {
    let r = load(SEED);
    assert_eq!(r.tool, Tool::GenaiPerf);
    assert_eq!(r.format, Format::Csv);
    assert_eq!(value(&r, "default", None), 261.25);
    assert_eq!(value(&r, "output-token-throughput", None), 261.25);
    assert_eq!(value(&r, "time-to-first-token", None), 1146.31);
    assert_eq!(value(&r, "time-to-first-token", Some("max")), 3485.23);
    assert_eq!(value(&r, "time-to-second-token", Some("p25")), 1.78);
    assert_eq!(value(&r, "request-latency", None), 6406.2);
    assert_eq!(value(&r, "request-latency", Some("p99")), 9436.13);
    assert_eq!(value(&r, "inter-token-latency", None), 30.35);
    assert_eq!(value(&r, "request-throughput", None), 1.5);
    assert_eq!(value(&r, "Request Count (count)", Some("Value")), 40.0);
    assert_eq!(value(&r, "Input Sequence Length", Some("min")), 2999.0);

    let kinds: Vec<_> = r
        .tables
        .iter()
        .map(|t| (t.kind, t.line, t.metrics.len()))
        .collect();
    assert_eq!(
        kinds,
        [(TableKind::Request, 1, 6), (TableKind::System, 9, 3)]
    );
    let ttft = r.metric("Time To First Token (ms)").unwrap();
    assert_eq!(ttft.name, "Time To First Token");
    assert_eq!(ttft.unit.as_deref(), Some("ms"));
    let names: Vec<_> = ttft.stats.names().collect();
    assert_eq!(
        names,
        [
            "avg", "min", "max", "p99", "p95", "p90", "p75", "p50", "p25"
        ]
    );
    assert_eq!(ttft.stat("p10"), None);
    let thr = r.find_key(MetricKey::OutputTokenThroughput).unwrap();
    assert_eq!(thr.label, "Output Token Throughput (per sec)");
    assert_eq!(thr.unit.as_deref(), Some("per sec"));
}

#[test]
fn seed_line_endings_and_bom_do_not_matter() {
    let lf = std::fs::read(data(SEED)).unwrap();
    let text = String::from_utf8(lf.clone()).unwrap();
    let crlf = text.replace('\n', "\r\n");
    let cr = text.replace('\n', "\r");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(crlf.as_bytes());
    let no_trailing = text.trim_end().to_owned();
    let reference = results::parse_csv(&lf, "seed.csv").unwrap();
    for variant in [crlf.as_bytes(), cr.as_bytes(), &bom, no_trailing.as_bytes()] {
        let r = results::parse_csv(variant, "seed.csv").unwrap();
        assert_eq!(r.tables, reference.tables);
    }
}

// ---------------------------------------------------------------------------------------
// genai-perf files

#[test]
fn genai_perf_0_0_16_streaming() {
    let r = load(&format!("{GP_STREAM}.csv"));
    assert_eq!(r.tool, Tool::GenaiPerf);
    assert_eq!(value(&r, "default", None), 210.81);
    assert_eq!(value(&r, "time-to-first-token", Some("p1")), 69.14);
    assert_eq!(
        value(&r, "Output Token Throughput Per User", Some("max")),
        220.24
    );
    assert_eq!(value(&r, "Request Count", None), 20.0);
    assert_eq!(r.tables[0].columns.len(), 13);

    let j = load(&format!("{GP_STREAM}.json"));
    assert_eq!((j.tool, j.format), (Tool::GenaiPerf, Format::Json));
    assert_ulp(value(&j, "default", None), 210.81124096969864);
    assert_ulp(
        value(&j, "time-to-first-token", Some("p99")),
        86.77382324999999,
    );
    assert_ulp(
        value(&j, "inter-token-latency", Some("std")),
        0.39601779794025355,
    );
    let count = j.metric("request_count").unwrap();
    assert_eq!(count.unit.as_deref(), Some("count"));
    assert_eq!(j.table(TableKind::System).unwrap().metrics.len(), 3);
}

#[test]
fn genai_perf_0_0_16_other_runs() {
    let r = load(
        "genai-perf-0.0.16/dynamo-mocker-2p1d-stream-c4/tiny-openai-chat-concurrency4/profile_export_genai_perf.csv",
    );
    assert_eq!(value(&r, "default", None), 426.34);
    assert_eq!(value(&r, "inter-token-latency", Some("p5")), 4.31);
    assert_eq!(value(&r, "request-throughput", None), 24.4);

    let base = "genai-perf-0.0.16/dynamo-mocker-1p1d-nostream-c4/tiny-openai-chat-concurrency4/profile_export_genai_perf";
    let r = load(&format!("{base}.csv"));
    assert_eq!(value(&r, "default", None), 408.07);
    assert_eq!(value(&r, "request-latency", Some("p95")), 177.25);
    // Non-streaming: the CSV has no TTFT row, which is reported, not invented.
    assert!(matches!(
        r.lookup("time-to-first-token", None),
        Err(LookupError::MetricNotFound { .. })
    ));
    let j = load(&format!("{base}.json"));
    assert_ulp(
        value(&j, "request-latency", Some("max")),
        186.87853199999998,
    );
}

#[test]
fn genai_perf_quoted_thousands_everywhere() {
    let r = load("egham-adaptive-genai-perf/simple_long_response_c10_genai_perf.csv");
    assert_eq!(value(&r, "request-latency", None), 9182.22);
    assert_eq!(value(&r, "request-latency", Some("max")), 19035.11);
    assert_eq!(value(&r, "request-latency", Some("p1")), 1988.79);
    assert_eq!(value(&r, "Output Sequence Length", Some("max")), 1043.0);
    assert_eq!(value(&r, "default", None), 401.73);

    let r = load("egham-adaptive-genai-perf/simple_long_response_c50_genai_perf.csv");
    assert_eq!(value(&r, "default", None), 1727.18);
    assert_eq!(value(&r, "Request Count", None), 154.0);
    assert_eq!(value(&r, "request-latency", Some("p1")), 938.69);

    let j = load("egham-adaptive-genai-perf/simple_long_response_c10_genai_perf.json");
    assert_ulp(value(&j, "default", None), 401.73449899483796);
    assert_ulp(value(&j, "request_count", None), 27.0);
}

#[test]
fn genai_perf_0_0_2dev_nanoseconds() {
    let r = load("triton-client-genai-perf-0.0.2dev/profile_export_genai_perf.csv");
    assert_eq!(r.tool, Tool::GenaiPerf);
    let ttft = r.find("Time to First Token").unwrap();
    assert_eq!(ttft.unit.as_deref(), Some("ns"));
    assert_eq!(ttft.stat("avg"), Some(5964158.0));
    // Key lookups report durations in ms whatever the file's unit.
    assert_eq!(value(&r, "time-to-first-token", None), 5964158.0 * 1e-6);
    assert_eq!(
        value(&r, "request-latency", Some("max")),
        151025376.0 * 1e-6
    );
    let osl = r.metric("Num Output Token").unwrap();
    assert_eq!((osl.unit.as_deref(), osl.stat("p25")), (None, Some(46.0)));
    assert_eq!(value(&r, "default", None), 623.19);
    assert!(r.find("Request Count").is_none());
}

#[test]
fn genai_perf_analyze_sweep() {
    let r = load("perf_analyzer-genai-perf-analyze/analyze_export_genai_perf.csv");
    assert_eq!(r.tables.len(), 2);
    assert!(r.tables.iter().all(|t| t.kind == TableKind::Sweep));
    let c3 = &r.tables[0].metrics[0];
    assert_eq!(c3.label, "gpt2_run_config_3");
    assert_eq!(c3.stat("Concurrency"), Some(32.0));
    assert_eq!(c3.stat("p99 Time To First Token (ms)"), Some(184.43));
    assert_eq!(c3.stat("Request Throughput (requests/sec)"), Some(10.12));
    let gpu = &r.tables[1].metrics[4];
    assert_eq!(gpu.label, "gpt2_run_config_2");
    assert_eq!(gpu.attributes.get("GPU").map(String::as_str), Some("gpu0"));
    assert_eq!(gpu.stat("p99 GPU Power Usage (W)"), Some(82.38));
    // A sweep is not a single run: no CloudAI key resolves.
    assert!(r.lookup("default", None).is_err());
}

// ---------------------------------------------------------------------------------------
// aiperf files

#[test]
fn aiperf_0_1_1() {
    let r = load("aiperf-examples-run1-0.1.1/profile_export_aiperf.csv");
    assert_eq!(r.tool, Tool::Aiperf);
    assert_eq!(value(&r, "time-to-first-token", None), 2343.22);
    assert_eq!(value(&r, "time-to-second-token", Some("p5")), 22.74);
    assert_eq!(value(&r, "Inter Chunk Latency", Some("std")), 23.88);
    assert_eq!(value(&r, "Error Request Count", None), 11.0);
    assert_eq!(value(&r, "default", None), 2320.72);
    assert_eq!(
        value(&r, "Maximum Response Timestamp (ns)", None),
        1759522428472357888.0
    );
    // This version has no p10 column.
    let err = r.lookup("request-latency", Some("p10")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "metric `Request Latency (ms)` has no statistic `p10`; available: \
         avg, min, max, p1, p5, p25, p50, p75, p90, p95, p99, std"
    );

    let j = load("aiperf-examples-run1-0.1.1/profile_export_aiperf.json");
    assert_eq!(j.tool, Tool::Aiperf);
    let ttft = j.find_key(MetricKey::TimeToFirstToken).unwrap();
    assert_eq!(
        (ttft.label.as_str(), ttft.name.as_str()),
        ("ttft", "Time to First Token")
    );
    assert_ulp(value(&j, "time-to-first-token", None), 2343.219436988764);
    assert_ulp(value(&j, "ttst", Some("p99")), 142.91884412);
    assert_ulp(value(&j, "default", None), 2320.7222350404572);
    assert_eq!(
        j.lookup("request_count", Some("min")),
        Err(LookupError::MissingValue {
            metric: "request_count".into(),
            stat: "min".into()
        })
    );
}

#[test]
fn aiperf_0_8_0() {
    let r =
        load("databloom-aiperf-lab-tests-0.8.0/qwen3-4b-reasoning-c1/profile_export_aiperf.csv");
    assert_eq!(value(&r, "time-to-first-token", None), 417.08);
    assert_eq!(value(&r, "Error Request Count", None), 5.0);
    assert_eq!(value(&r, "default", None), 13.01);
    assert_eq!(value(&r, "request-latency", Some("sum")), 119070.89);
    let gpu = r.table(TableKind::GpuTelemetry).unwrap();
    assert_eq!((gpu.line, gpu.metrics.len()), (43, 0));
    assert_eq!(
        gpu.columns[..5],
        ["Endpoint", "GPU_Index", "GPU_Name", "GPU_UUID", "Metric"]
    );

    let j =
        load("databloom-aiperf-lab-tests-0.8.0/qwen3-4b-reasoning-c1/profile_export_aiperf.json");
    assert_eq!(j.version.as_deref(), Some("0.8.0"));
    assert_ulp(value(&j, "default", None), 13.012205690337778);
    assert_ulp(value(&j, "inter-token-latency", None), 30.817415507966533);

    // The dev build moves `sum` to the second column: mapped by name, not position.
    let r = load("aiperf-dev-results-0.8.0/smoke-100k-conc/profile_export_aiperf.csv");
    let e2e = r
        .metric("E2E Output Token Throughput (tokens/sec/user)")
        .unwrap();
    assert_eq!(e2e.stat("sum"), Some(16899800.5));
    assert_eq!(e2e.stat("min"), Some(0.85));
    assert_eq!(e2e.stat("max"), Some(57197.09));
    // An all-zero row is zero, not missing.
    assert_eq!(value(&r, "time-to-second-token", Some("p99")), 0.0);
    assert_eq!(value(&r, "default", None), 343421.9);
    let j = load("aiperf-dev-results-0.8.0/smoke-100k-conc/profile_export_aiperf.json");
    assert_ulp(value(&j, "request-throughput", None), 3400.2168222410205);
}

#[test]
fn aiperf_0_11() {
    let r = load("anud18-qwen36-aiperf-0.11/h100-agent-c16/profile_export_aiperf.csv");
    let osl = r.metric("OSL Mismatch Diff % (%)").unwrap();
    assert_eq!(
        (osl.name.as_str(), osl.unit.as_deref()),
        ("OSL Mismatch Diff %", Some("%"))
    );
    assert_eq!(osl.stat("avg"), Some(-75.18));
    let ttfb = r.find("http waiting (ttfb)").unwrap();
    assert_eq!(ttfb.unit.as_deref(), Some("ms"));
    assert_eq!(ttfb.stat("p99"), Some(680.17));
    let chunks = r.metric("HTTP Chunks Received").unwrap();
    assert_eq!(
        (chunks.unit.as_deref(), chunks.stat("max")),
        (None, Some(2047.0))
    );
    assert_eq!(value(&r, "default", None), 1147.96);
    assert_eq!(value(&r, "time-to-first-token", Some("p50")), 154.33);

    let j = load("anud18-qwen36-aiperf-0.11/h100-agent-c16/profile_export_aiperf.json");
    assert_eq!(j.version.as_deref(), Some("0.11.0"));
    assert_ulp(value(&j, "default", None), 1147.963976572097);
    assert!(j.table(TableKind::GpuTelemetry).is_none());

    let r = load("anud18-qwen36-aiperf-0.11/5090-toolagent_ts-fixed/profile_export_aiperf.csv");
    assert_eq!(value(&r, "request-latency", Some("sum")), 30219034.07);
    assert_eq!(value(&r, "Reasoning Token Count", Some("p99")), 784.69);
    assert_eq!(value(&r, "default", None), 291.88);
}

#[test]
fn aiperf_0_13_streaming() {
    let r = load(&format!("{AIPERF_13}/profile_export_aiperf.csv"));
    let kinds: Vec<_> = r.tables.iter().map(|t| (t.kind, t.line)).collect();
    assert_eq!(
        kinds,
        [
            (TableKind::Request, 1),
            (TableKind::System, 53),
            (TableKind::GpuTelemetry, 74)
        ]
    );
    assert!(r.metric("Time to First Token (ms)").is_some());
    assert_eq!(value(&r, "time-to-first-token", None), 81.89);
    assert_eq!(value(&r, "default", None), 389.99);
    assert_eq!(
        value(&r, "Effective Latency (CO-aware)", Some("avg")),
        r.metric("Effective Latency (CO-aware) (ms)")
            .unwrap()
            .stat("avg")
            .unwrap()
    );
    let active = r.metric("Active Decode Throughput (tokens/sec)").unwrap();
    assert_eq!(active.stat("p25"), None); // empty cell
    assert_eq!(active.stat("p50"), Some(382.25));

    let j = load(&format!("{AIPERF_13}/profile_export_aiperf.json"));
    assert_eq!(j.version.as_deref(), Some("0.13.0"));
    assert_ulp(value(&j, "time-to-first-token", None), 81.890528825);
    assert_ulp(value(&j, "default", None), 389.98915612477606);

    let warm = load(&format!(
        "{AIPERF_13}/phases/warmup/profile_export_aiperf.csv"
    ));
    assert_eq!(value(&warm, "default", None), 171.19);
}

#[test]
fn aiperf_0_13_non_streaming_and_server_metrics() {
    let r = load("aiperf-0.13.0/dynamo-mocker-1p1d-nostream-c4/profile_export_aiperf.csv");
    assert_eq!(value(&r, "default", None), 391.03);
    assert_eq!(value(&r, "request-latency", Some("p99")), 216.33);
    assert!(r.lookup("time-to-first-token", None).is_err());

    let s = load(&format!("{AIPERF_13}/server_metrics_export.csv"));
    assert_eq!(s.tables.len(), 3);
    assert!(s.tables.iter().all(|t| t.kind == TableKind::Other));
    let inflight = s.metric("dynamo_request_plane_inflight_requests").unwrap();
    assert_eq!(inflight.unit.as_deref(), Some("requests"));
    assert_eq!(inflight.stat("p99"), Some(5.87));
    assert_eq!(
        inflight.attributes.get("Endpoint").map(String::as_str),
        Some("127.0.1.1:8000")
    );
    let tokenize = s.metric("dynamo_frontend_tokenize_seconds").unwrap();
    assert_eq!(tokenize.stat("p50_estimate"), Some(0.001));
}

// ---------------------------------------------------------------------------------------
// Lookups

#[test]
fn name_lookup_ignores_case_unit_and_separators() {
    let gp = load(SEED);
    let ai = load("aiperf-examples-run1-0.1.1/profile_export_aiperf.csv");
    for r in [&gp, &ai] {
        for q in [
            "Time to First Token",
            "time to first token",
            "TIME_TO_FIRST_TOKEN",
            "Time To First Token (ms)",
        ] {
            assert!(r.find(q).is_some(), "{q}");
        }
    }
    // Exact label lookups stay exact.
    assert!(gp.metric("Time to First Token (ms)").is_none());
    assert!(ai.metric("Time To First Token (ms)").is_none());
    // Names are not prefixes of each other.
    assert_eq!(
        load(&format!("{GP_STREAM}.csv"))
            .find("Output Token Throughput")
            .unwrap()
            .label,
        "Output Token Throughput (tokens/sec)"
    );
}

#[test]
fn metric_keys_map_across_versions() {
    let per_sec = load(SEED);
    let tokens_sec = load(&format!("{GP_STREAM}.csv"));
    assert_eq!(
        per_sec
            .find_key(MetricKey::OutputTokenThroughput)
            .unwrap()
            .label,
        "Output Token Throughput (per sec)"
    );
    assert_eq!(
        tokens_sec
            .find_key(MetricKey::OutputTokenThroughput)
            .unwrap()
            .label,
        "Output Token Throughput (tokens/sec)"
    );
    let expected = [
        ("default", 261.25),
        ("output-token-throughput", 261.25),
        ("request-throughput", 1.5),
        ("time-to-first-token", 1146.31),
        ("time-to-second-token", 26.05),
        ("request-latency", 6406.2),
        ("inter-token-latency", 30.35),
    ];
    for (key, v) in expected {
        assert_eq!(value(&per_sec, key, None), v, "{key}");
        let k = MetricKey::from_key(key).unwrap();
        assert_eq!(per_sec.key_value(k, None), Ok(v));
    }
    assert_eq!(MetricKey::ALL.len(), 6);
    assert_eq!(value(&per_sec, "request-latency", Some("AVG")), 6406.2);
}

#[test]
fn missing_metrics_and_stats_are_errors_not_sentinels() {
    let r = load(SEED);
    let err = r.lookup("no-such-metric", None).unwrap_err();
    assert!(matches!(err, LookupError::MetricNotFound { .. }));
    assert!(
        err.to_string()
            .starts_with("metric `no-such-metric` not found in ")
    );
    assert_eq!(
        r.lookup("default", Some("p99")),
        Err(LookupError::StatNotFound {
            metric: "Output Token Throughput (per sec)".into(),
            stat: "p99".into(),
            available: "Value".into(),
        })
    );
    let na = b"Metric,avg,p99\r\nTime To First Token (ms),N/A,\r\n\r\nMetric,Value\r\nRequest Count (count),40\r\n";
    let r = results::parse_csv(na, "na.csv").unwrap();
    assert_eq!(
        r.lookup("time-to-first-token", None),
        Err(LookupError::MissingValue {
            metric: "Time To First Token (ms)".into(),
            stat: "avg".into()
        })
    );
    assert!(r.lookup("time-to-first-token", Some("p99")).is_err());
    assert!(r.lookup("default", None).is_err());
}

#[test]
fn throughput_per_gpu() {
    let r = load(SEED);
    assert_eq!(
        results::output_throughput_per_gpu(&r, 2, 8),
        Some(261.25 / 16.0)
    );
    assert_eq!(
        results::output_throughput_per_gpu(&r, 3, 4),
        Some(261.25 / 12.0)
    );
    assert_eq!(results::output_throughput_per_gpu(&r, 0, 8), None);
    assert_eq!(results::output_throughput_per_gpu(&r, 2, 0), None);
    let sweep = load("perf_analyzer-genai-perf-analyze/analyze_export_genai_perf.csv");
    assert_eq!(results::output_throughput_per_gpu(&sweep, 1, 8), None);
    assert_eq!(results::per_gpu(f64::INFINITY, 1), None);
    assert_eq!(results::per_gpu(100.0, 0), None);
    assert_eq!(results::engine_gpus(3, 8), Some(24));
    assert_eq!(results::engine_gpus(0, 8), None);
    let huge = results::engine_gpus(u32::MAX, u32::MAX).unwrap();
    assert_eq!(
        results::per_gpu(100.0, huge),
        Some(100.0 / (u32::MAX as f64).powi(2))
    );
}

// ---------------------------------------------------------------------------------------
// Layout variants

#[test]
fn gpu_telemetry_tables_and_separators() {
    let text = "Metric,avg,p99\n\
                Request Latency (ms),\"1,000.50\",2\n\
                ,,\n\
                Metric,Value\n\
                Output Token Throughput (tokens/sec),\"1,742.35\"\n\
                \n\
                Metric,GPU,avg,p99\n\
                GPU Power Usage (W),gpu0,300.5,350\n\
                GPU Power Usage (W),gpu1,N/A,\n\
                \n\
                Metric,GPU,Value\n\
                GPU Power Limit (W),gpu0,700.00\n\
                \n\n\
                === GPU Telemetry: host:9401 ===\n\
                Endpoint,GPU_Index,GPU_Name,GPU_UUID,Metric,avg,Hostname\n\
                localhost:9401,0,NVIDIA H100 80GB HBM3,GPU-1,GPU Temperature (°C),41.00,node1\n\
                Metric,Value\n\
                Request Count,3\n";
    let r = results::parse_csv(text.as_bytes(), "gpu.csv").unwrap();
    let kinds: Vec<_> = r.tables.iter().map(|t| (t.kind, t.line)).collect();
    assert_eq!(
        kinds,
        [
            (TableKind::Request, 1),
            (TableKind::System, 4),
            (TableKind::GpuTelemetry, 7),
            (TableKind::GpuTelemetry, 11),
            (TableKind::GpuTelemetry, 16),
            (TableKind::System, 18),
        ]
    );
    assert_eq!(value(&r, "default", None), 1742.35);
    assert_eq!(value(&r, "request-latency", None), 1000.5);
    let gpu1 = &r.tables[2].metrics[1];
    assert_eq!(gpu1.attributes.get("GPU").map(String::as_str), Some("gpu1"));
    assert_eq!((gpu1.stat("avg"), gpu1.stat("p99")), (None, None));
    let temp = &r.tables[4].metrics[0];
    assert_eq!(temp.unit.as_deref(), Some("°C"));
    assert_eq!(
        temp.attributes.get("GPU_Name").map(String::as_str),
        Some("NVIDIA H100 80GB HBM3")
    );
    assert_eq!(
        temp.attributes.get("Hostname").map(String::as_str),
        Some("node1")
    );
    assert_eq!(temp.stat("avg"), Some(41.0));
    assert_eq!(value(&r, "Request Count", None), 3.0);
}

#[test]
fn json_variants() {
    let gp = br#"{"output_token_throughput": {"unit": "tokens/sec", "avg": 5.5},
        "time_to_first_token": {"unit": "ms", "avg": NaN, "p99": NaN, "p50": 3},
        "telemetry_stats": {"gpu_power_usage": {"unit": "W", "gpu0": {"avg": 300.0, "p99": 320.0}}},
        "input_config": {"model_names": ["m"]}}"#;
    let r = results::parse_json(gp, "x.json").unwrap();
    assert_eq!(r.tool, Tool::GenaiPerf);
    assert_eq!(value(&r, "default", None), 5.5);
    assert_eq!(value(&r, "time-to-first-token", Some("p50")), 3.0);
    assert!(r.lookup("time-to-first-token", None).is_err());
    let gpu = r.table(TableKind::GpuTelemetry).unwrap();
    assert_eq!(
        gpu.metrics[0].attributes.get("GPU").map(String::as_str),
        Some("gpu0")
    );
    assert_eq!(gpu.metrics[0].stat("p99"), Some(320.0));

    let ai = br#"{"aiperf_version": "0.11.0", "request_latency": {"unit": "ms", "avg": 1.0, "p50": 1.0},
      "telemetry_data": {"endpoints": {"http://n:9401/metrics": {"gpus": {"gpu_0": {
        "gpu_index": 0, "gpu_name": "H100", "metrics": {"gpu_power_usage": {"unit": "W", "avg": 250.0}}}}}}}}"#;
    let r = results::parse_json(ai, "y.json").unwrap();
    assert_eq!(
        (r.tool, r.version.as_deref()),
        (Tool::Aiperf, Some("0.11.0"))
    );
    let m = &r.table(TableKind::GpuTelemetry).unwrap().metrics[0];
    let attrs: Vec<_> = m
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(
        attrs,
        [
            "Endpoint=http://n:9401/metrics",
            "GPU=gpu_0",
            "gpu_index=0",
            "gpu_name=H100"
        ]
    );
    assert_eq!(m.stat("avg"), Some(250.0));
}

#[test]
fn serialized_shape_keeps_order() {
    let r = load(SEED);
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["tool"], "genai_perf");
    assert_eq!(v["format"], "csv");
    assert_eq!(v["tables"][1]["kind"], "system");
    let m = &v["tables"][0]["metrics"][0];
    assert_eq!(m["label"], "Time To First Token (ms)");
    assert_eq!(m["name"], "Time To First Token");
    assert_eq!(m["unit"], "ms");
    assert_eq!(m["stats"]["avg"], 1146.31);
    assert!(m.get("attributes").is_none());
    let text = serde_json::to_string(&r.tables[0].metrics[0].stats).unwrap();
    assert!(
        text.starts_with(r#"{"avg":1146.31,"min":249.48,"max":3485.23,"p99""#),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// Discovery

#[test]
fn discovery_prefers_top_level_over_phases() {
    let dir = data(AIPERF_13);
    let found: Vec<_> = results::find_result_files(&dir)
        .unwrap()
        .into_iter()
        .map(|f| {
            let rel = f
                .path
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, f.tool, f.format)
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "profile_export_aiperf.csv".into(),
                Tool::Aiperf,
                Format::Csv
            ),
            (
                "profile_export_aiperf.json".into(),
                Tool::Aiperf,
                Format::Json
            ),
            (
                "phases/profiling/profile_export_aiperf.csv".into(),
                Tool::Aiperf,
                Format::Csv
            ),
            (
                "phases/warmup/profile_export_aiperf.csv".into(),
                Tool::Aiperf,
                Format::Csv
            ),
        ]
    );
    assert_eq!(
        results::best_result_csv(&dir).unwrap(),
        Some(dir.join("profile_export_aiperf.csv"))
    );
}

#[test]
fn discovery_of_genai_perf_and_edge_cases() {
    let dir = data("genai-perf-0.0.16/dynamo-mocker-1p1d-stream-c2");
    assert_eq!(
        results::best_result_csv(&dir).unwrap(),
        Some(dir.join("tiny-openai-chat-concurrency2/profile_export_genai_perf.csv"))
    );
    assert_eq!(
        results::best_result_csv(data("perf_analyzer-genai-perf-analyze")).unwrap(),
        None
    );

    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    std::fs::create_dir_all(p.join("a/phases/warmup")).unwrap();
    std::fs::create_dir_all(p.join("a/phases/profiling")).unwrap();
    for f in [
        "a/phases/warmup/profile_export_aiperf.csv",
        "a/phases/profiling/profile_export_aiperf.csv",
        "a/profile_export_aiperf.csv.partial",
        "a/profile_export.jsonl",
        "b_genai_perf.csv",
        "profile_genai_perf.csv",
    ] {
        std::fs::write(p.join(f), "").unwrap();
    }
    let names: Vec<_> = results::find_result_files(p)
        .unwrap()
        .into_iter()
        .map(|f| {
            f.path
                .strip_prefix(p)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "profile_genai_perf.csv",
            "b_genai_perf.csv",
            "a/phases/profiling/profile_export_aiperf.csv",
            "a/phases/warmup/profile_export_aiperf.csv",
        ]
    );
    let err = results::find_result_files(p.join("missing")).unwrap_err();
    assert!(matches!(err, ResultsError::Io { .. }), "{err}");
}

// ---------------------------------------------------------------------------------------
// Malformed input: exact error and position

#[test]
fn error_empty() {
    for bytes in [&b""[..], b"\r\n\r\n", b"\xEF\xBB\xBF", b"  \n"] {
        let e = csv_err(bytes);
        assert!(matches!(e, ResultsError::Empty { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "bad.csv:1:1: file is empty; expected a genai-perf/aiperf results table starting with a `Metric,...` header"
        );
    }
    assert!(matches!(
        results::parse_json(b"", "bad.json"),
        Err(ResultsError::Empty { .. })
    ));
}

#[test]
fn error_not_utf8() {
    let e = csv_err(b"Metric,avg\r\nTime To First Token (ms),1\xFF2\r\n");
    assert_eq!(
        e.to_string(),
        "bad.csv:2:27: invalid UTF-8 (byte 0xFF); expected UTF-8 text"
    );
    // cp1252 degree sign from a Windows genai-perf run.
    let e = csv_err(b"Metric,GPU,Value\nGPU Temperature (\xB0C),gpu0,40\n");
    assert!(
        matches!(
            e,
            ResultsError::NotUtf8 {
                line: 2,
                col: 18,
                byte: 0xB0,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn error_truncated_inside_quoted_cell() {
    let seed = std::fs::read(data(SEED)).unwrap();
    // Cut the seed inside `"1,146.31"` on line 2.
    let cut = &seed[..seed.windows(6).position(|w| w == b"\"1,146").unwrap() + 6];
    let e = csv_err(cut);
    assert_eq!(
        e.to_string(),
        "bad.csv:2:26: quoted cell is never closed; expected a closing `\"` (the file is probably truncated)"
    );
}

#[test]
fn error_truncated_row() {
    let full = std::fs::read(data(&format!("{GP_STREAM}.csv"))).unwrap();
    // Line 3 is `Time To Second Token (ms),5.50,3.82,5.79,...`; cut after `3.82`.
    let at = full.windows(9).position(|w| w == b"5.50,3.82").unwrap() + 9;
    let e = csv_err(&full[..at]);
    assert_eq!(
        e.to_string(),
        "bad.csv:3:36: row has 3 cells but the header on line 1 has 13; the file may be truncated or hand-edited"
    );
}

#[test]
fn error_ragged_rows() {
    let e = csv_err(b"Metric,avg,p99\nA (ms),1,2,3\n");
    assert!(
        matches!(
            e,
            ResultsError::RaggedRow {
                line: 2,
                col: 12,
                found: 4,
                expected: 3,
                header_line: 1,
                ..
            }
        ),
        "{e}"
    );
    // An unquoted thousands separator splits a cell: caught, not misread as 1.
    let e = csv_err(b"Metric,Value\r\nOutput Token Throughput (tokens/sec),1,742.35\r\n");
    assert_eq!(
        e.to_string(),
        "bad.csv:2:40: row has 3 cells but the header on line 1 has 2; the file may be truncated or hand-edited"
    );
    let e = csv_err(b"Metric,avg,p99\n\nMetric,Value\nX,1\nY\n");
    assert!(
        matches!(
            e,
            ResultsError::RaggedRow {
                line: 5,
                col: 2,
                found: 1,
                expected: 2,
                header_line: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn error_text_in_number_cell() {
    let seed = String::from_utf8(std::fs::read(data(SEED)).unwrap()).unwrap();
    let bad = seed.replacen("26.05", "abc", 1);
    let e = csv_err(bad.as_bytes());
    assert_eq!(
        e.to_string(),
        "bad.csv:3:27: `Time To Second Token (ms)` column `avg`: `abc` is not a number; \
         expected a decimal such as 1146.31 or \"1,146.31\", N/A or an empty cell"
    );
    // Badly grouped thousands inside quotes.
    let bad = seed.replacen("\"3,485.23\"", "\"34,85.23\"", 1);
    let e = csv_err(bad.as_bytes());
    assert!(
        matches!(&e, ResultsError::BadNumber { line: 2, col: 44, column, cell, .. } if column == "max" && cell == "34,85.23"),
        "{e}"
    );
    let e = csv_err(b"Metric,Value\nRequest Count,-\n");
    assert!(
        matches!(
            e,
            ResultsError::BadNumber {
                line: 2,
                col: 15,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn error_garbage_after_quote() {
    let e = csv_err(b"Metric,avg\nA (ms),\"1,146.31\"x\n");
    assert_eq!(
        e.to_string(),
        "bad.csv:2:18: unexpected `x` after a closing quote; expected `,` or the end of the line"
    );
}

#[test]
fn error_unknown_header_and_no_table() {
    let e = csv_err(b"\xEF\xBB\xBFFoo,Bar\r\n1,2\r\n");
    assert_eq!(
        e.to_string(),
        "bad.csv:1:1: unrecognised table header `Foo,Bar`; expected a header row with a `Metric` (or `Config Name`) column"
    );
    let e = csv_err(b"Metric,avg\n\nOops,1,2\n");
    assert!(
        matches!(
            e,
            ResultsError::UnknownHeader {
                line: 3,
                col: 1,
                ..
            }
        ),
        "{e}"
    );
    // aiperf's empty-telemetry-only file, and header-only tables: nothing to report.
    let e = csv_err(b"\r\n\r\nEndpoint,GPU_Index,GPU_Name,GPU_UUID,Metric,avg\r\n");
    assert_eq!(
        e.to_string(),
        "bad.csv: no metrics found; expected a `Metric,...` table (or JSON metric objects with a `unit`) with at least one row"
    );
    assert!(matches!(
        csv_err(b"Metric,Value\n"),
        ResultsError::NoMetricTable { .. }
    ));
    assert!(matches!(
        csv_err(b"# just a comment\n"),
        ResultsError::NoMetricTable { .. }
    ));
}

#[test]
fn error_empty_label() {
    let e = csv_err(b"Metric,avg\n ,1\n");
    assert_eq!(
        e.to_string(),
        "bad.csv:2:1: empty metric name; expected a label such as `Request Latency (ms)`"
    );
}

#[test]
fn error_json() {
    let full = std::fs::read(data(&format!("{GP_STREAM}.json"))).unwrap();
    let e = results::parse_json(&full[..200], "bad.json").unwrap_err();
    let ResultsError::Json { line, col, .. } = &e else {
        panic!("{e}")
    };
    // The cut falls after `"p5": 155.44877` on line 10 (19 characters).
    assert_eq!((*line, *col), (10, 19));
    assert!(
        e.to_string()
            .starts_with("bad.json:10:19: invalid JSON: EOF while parsing"),
        "{e}"
    );

    let e = results::parse_json(b"[1, 2]", "bad.json").unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad.json:1:1: expected a JSON object keyed by metric name at the top level, found an array"
    );
    let e = results::parse_json(br#"{"input_config": {}, "x": 1}"#, "bad.json").unwrap_err();
    assert!(matches!(e, ResultsError::NoMetricTable { .. }), "{e}");
    let e = results::parse_json(b"{\"a\":\n \xC3(}", "bad.json").unwrap_err();
    assert!(
        matches!(
            e,
            ResultsError::NotUtf8 {
                line: 2,
                col: 2,
                byte: 0xC3,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn error_io() {
    let e = results::read(data("does/not/exist.csv")).unwrap_err();
    assert!(matches!(e, ResultsError::Io { .. }));
    assert!(
        e.to_string().contains("does/not/exist.csv: cannot read: "),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// Deterministic mutation fuzzing (runs on stable; `fuzz/` has the libFuzzer targets)

/// xorshift64*: fixed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    const INSERTS: [&[u8]; 10] = [
        b"\"", b",", b"\n", b"\r", b"\r\n", b"\"\"", b"N/A", b"1,234", b"\xFF", b"Metric,",
    ];
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 => v.truncate(at),
            1 if at < v.len() => v[at] ^= 1 << rng.below(8),
            2 => {
                let ins = INSERTS[rng.below(INSERTS.len())];
                v.splice(at..at, ins.iter().copied());
            }
            3 if at < v.len() => {
                let end = (at + rng.below(16)).min(v.len());
                v.drain(at..end);
            }
            _ => {
                let b = v.get(rng.below(v.len())).copied().unwrap_or(b',');
                v.insert(at, b);
            }
        }
    }
    v
}

#[test]
fn mutated_inputs_never_panic() {
    let mut files = Vec::new();
    all_files(&data(""), &mut files);
    files.sort();
    let inputs: Vec<(bool, Vec<u8>)> = files
        .iter()
        .map(|f| {
            (
                f.extension().is_some_and(|e| e == "json"),
                std::fs::read(f).unwrap(),
            )
        })
        .collect();
    let mut rng = Rng(0x5EED_C0FF_EE00_D00D);
    let mut ok = 0usize;
    let cases = 24_000;
    for i in 0..cases {
        let (is_json, input) = &inputs[i % inputs.len()];
        let bytes = mutate(&mut rng, input);
        let parsed = if *is_json {
            results::parse_json(&bytes, "fuzz.json")
        } else {
            results::parse_csv(&bytes, "fuzz.csv")
        };
        match parsed {
            Ok(r) => {
                ok += 1;
                assert!(r.metrics().all(|m| !m.label.is_empty()));
                let _ = r.lookup("default", None);
                let _ = serde_json::to_string(&r).unwrap();
            }
            Err(e) => assert!(e.to_string().starts_with("fuzz."), "{e}"),
        }
    }
    // Most single mutations of real files still parse; a collapse here would mean the
    // mutator or the parser went wrong.
    assert!(
        ok > cases / 10,
        "only {ok} of {cases} mutated inputs parsed"
    );
}

// ---------------------------------------------------------------------------------------
// Hostile files (issue 9): cut files, impossible values, duplicates, units, types, paths

const GP_CSV_LINES: &str = "genai-perf-0.0.16/dynamo-mocker-1p1d-stream-c2/tiny-openai-chat-concurrency2/profile_export_genai_perf.csv";

fn gp_csv() -> String {
    String::from_utf8(std::fs::read(data(GP_CSV_LINES)).unwrap()).unwrap()
}

#[test]
fn csv_cut_inside_its_last_number_is_an_error() {
    let full = gp_csv();
    // Line 11 is `Output Token Throughput (tokens/sec),210.81` (CRLF, written by genai-perf):
    // cut after `21`, as a copy interrupted mid-write leaves it.
    let at = full.find("tokens/sec),210.81").unwrap() + "tokens/sec),21".len();
    let e = csv_err(&full.as_bytes()[..at]);
    assert_eq!(
        e.to_string(),
        "bad.csv:11:38: file ends inside a row (`21` has no line break after it); genai-perf and aiperf end every row with a line break, so the file is probably truncated"
    );
    // A whole value without its CRLF is still a cut: the writer always ends the row.
    let at = full.find("tokens/sec),210.81").unwrap() + "tokens/sec),210.81".len();
    assert!(matches!(
        csv_err(&full.as_bytes()[..at]),
        ResultsError::Truncated {
            line: 11,
            col: 38,
            ..
        }
    ));
    // The same through the streaming lookup.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile_genai_perf.csv");
    std::fs::write(&path, &full[..at - 4]).unwrap();
    let e = results::lookup_many(&path, &[results::Query::new("default", None)]).unwrap_err();
    assert!(matches!(e, ResultsError::Truncated { .. }), "{e}");
}

#[test]
fn lf_copy_without_final_newline_is_accepted_only_when_complete() {
    // The seed table is a copy pasted from CloudAI's docs (LF); its last row is
    // `Request Count (count),40.00` (line 12).
    let seed = String::from_utf8(std::fs::read(data(SEED)).unwrap()).unwrap();
    let body = seed.trim_end_matches('\n');
    let r = results::parse_csv(body.as_bytes(), "seed.csv").unwrap();
    assert_eq!(value(&r, "Request Count", None), 40.0);
    for cut in ["40", "40.0", ""] {
        let text = format!("{}{cut}", body.strip_suffix("40.00").unwrap());
        let e = csv_err(text.as_bytes());
        assert!(
            matches!(
                e,
                ResultsError::Truncated {
                    line: 12,
                    col: 23,
                    ..
                }
            ),
            "{cut:?}: {e}"
        );
    }
}

#[test]
fn impossible_csv_values_are_errors_with_position() {
    let base = gp_csv();
    let cases = [
        // (replace, with, line, column of the cell, found)
        ("tokens/sec),210.81", "tokens/sec),inf", 11, 38, "`inf`"),
        ("tokens/sec),210.81", "tokens/sec),1e400", 11, 38, "`1e400`"),
        (
            "tokens/sec),210.81",
            "tokens/sec),-210.81",
            11,
            38,
            "`-210.81`",
        ),
        ("(ms),72.90,", "(ms),-inf,", 2, 26, "`-inf`"),
        ("(per sec),12.33", "(per sec),-3", 12, 30, "`-3`"),
    ];
    for (from, to, line, col, found) in cases {
        let text = base.replacen(from, to, 1);
        let e = csv_err(text.as_bytes());
        let ResultsError::BadValue {
            line: l,
            col: c,
            found: f,
            ..
        } = &e
        else {
            panic!("{to}: {e}")
        };
        assert_eq!((*l, *c, f.as_str()), (line, col, found), "{to}: {e}");
    }
    let nines = "9".repeat(400);
    let text = base.replacen("tokens/sec),210.81", &format!("tokens/sec),{nines}"), 1);
    let e = csv_err(text.as_bytes());
    assert!(
        e.to_string().starts_with(
            "bad.csv:11:38: `Output Token Throughput (tokens/sec)` column `Value`: `99999"
        ) && e
            .to_string()
            .ends_with("is impossible; expected a finite number"),
        "{e}"
    );
    // Per-GPU rows too.
    let gpu = "Metric,GPU,avg,p99\r\nGPU Power Usage (W),gpu0,300.00,inf\r\n\r\nMetric,Value\r\nOutput Token Throughput (tokens/sec),5.00\r\n";
    let e = csv_err(gpu.as_bytes());
    assert!(
        matches!(
            e,
            ResultsError::BadValue {
                line: 2,
                col: 33,
                ..
            }
        ),
        "{e}"
    );
    // Negative where the unit allows it (aiperf's OSL mismatch percentage) is kept.
    let ok = "Metric,avg\r\nOSL Mismatch Diff % (%),-75.18\r\n";
    let r = results::parse_csv(ok.as_bytes(), "ok.csv").unwrap();
    assert_eq!(value(&r, "OSL Mismatch Diff %", None), -75.18);
}

#[test]
fn genai_perf_minus_one_sentinel_is_missing() {
    // genai-perf <= 0.0.4 wrote -1 for a statistic it did not have.
    let text = "Metric,avg,p99\r\nTime To First Token (ms),-1.00,12.50\r\n";
    let r = results::parse_csv(text.as_bytes(), "old.csv").unwrap();
    assert!(matches!(
        r.lookup("time-to-first-token", None),
        Err(LookupError::MissingValue { .. })
    ));
    assert_eq!(value(&r, "time-to-first-token", Some("p99")), 12.5);
}

#[test]
fn impossible_json_values_are_errors_with_position() {
    let cases = [
        (
            "{\n  \"time_to_first_token\": {\"unit\": \"ms\", \"avg\": -Infinity}\n}",
            "bad.json:2:41: `time_to_first_token` field `avg`: -Infinity is impossible; expected a finite number",
        ),
        (
            "{\n  \"output_token_throughput\": {\"unit\": \"tokens/sec\", \"avg\": Infinity}\n}",
            "bad.json:2:53: `output_token_throughput` field `avg`: Infinity is impossible; expected a finite number",
        ),
        (
            "{\n  \"request_throughput\": {\"unit\": \"requests/sec\", \"avg\": -2.5}\n}",
            "bad.json:2:50: `request_throughput` field `avg`: -2.5 is impossible; expected a non-negative number for this unit",
        ),
    ];
    for (text, expected) in cases {
        let e = results::parse_json(text.as_bytes(), "bad.json").unwrap_err();
        assert_eq!(e.to_string(), expected);
    }
    // Numbers beyond a double are invalid JSON, with their position.
    let nines = "9".repeat(400);
    let text =
        format!("{{\"request_throughput\": {{\"unit\": \"requests/sec\", \"avg\": {nines}}}}}");
    let e = results::parse_json(text.as_bytes(), "bad.json").unwrap_err();
    assert!(matches!(e, ResultsError::Json { line: 1, .. }), "{e}");
}

#[test]
fn duplicate_rows_and_keys_are_errors() {
    let base = gp_csv();
    // A second `Request Latency (ms)` row at the end of the request table (line 9).
    let dup = base.replacen(
        "\r\n\r\nMetric,Value",
        "\r\nRequest Latency (ms),1.00,1.00,1.00,1.00,1.00,1.00,1.00,1.00,1.00,1.00,1.00,1.00\r\n\r\nMetric,Value",
        1,
    );
    let e = csv_err(dup.as_bytes());
    assert_eq!(
        e.to_string(),
        "bad.csv:9:1: duplicate metric row `Request Latency (ms)` (first on line 4); expected each once"
    );
    // The streaming lookup refuses it too, whichever copy it would have read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile_genai_perf.csv");
    std::fs::write(&path, &dup).unwrap();
    let e =
        results::lookup_many(&path, &[results::Query::new("request-latency", None)]).unwrap_err();
    assert!(matches!(e, ResultsError::Duplicate { line: 9, .. }), "{e}");
    // One label per GPU is no duplicate; twice for the same GPU is.
    let gpu =
        "Metric,GPU,avg\r\nGPU Power Usage (W),gpu0,1.00\r\nGPU Power Usage (W),gpu1,2.00\r\n";
    results::parse_csv(gpu.as_bytes(), "gpu.csv").unwrap();
    let gpu = format!("{gpu}GPU Power Usage (W),gpu0,3.00\r\n");
    let e = csv_err(gpu.as_bytes());
    assert!(matches!(e, ResultsError::Duplicate { line: 4, .. }), "{e}");

    // A header naming a statistic twice.
    let e = csv_err(b"Metric,avg,p99,avg\r\nRequest Latency (ms),1.00,2.00,3.00\r\n");
    assert_eq!(
        e.to_string(),
        "bad.csv:1:16: duplicate column `avg` (first on line 1); expected each once"
    );

    let json = "{\"request_throughput\": {\"unit\": \"requests/sec\", \"avg\": 1.0},\n \"request_throughput\": {\"unit\": \"requests/sec\", \"avg\": 2.0}}";
    let e = results::parse_json(json.as_bytes(), "bad.json").unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad.json:2:2: duplicate JSON key `request_throughput` (first on line 1); expected each once"
    );
    let json = "{\"request_latency\": {\"unit\": \"ms\",\n \"avg\": 1.0, \"avg\": 2.0}}";
    let e = results::parse_json(json.as_bytes(), "bad.json").unwrap_err();
    assert!(
        matches!(
            e,
            ResultsError::Duplicate {
                line: 2,
                col: 14,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn units_are_converted_or_refused() {
    let table = |ttft_unit: &str, throughput_unit: &str| {
        format!(
            "Metric,avg\r\nTime To First Token ({ttft_unit}),1.50\r\n\r\nMetric,Value\r\nOutput Token Throughput ({throughput_unit}),7.00\r\n"
        )
    };
    for (unit, ms) in [
        ("s", 1500.0),
        ("sec", 1500.0),
        ("ms", 1.5),
        ("us", 0.0015),
        ("ns", 1.5e-6),
    ] {
        let r = results::parse_csv(table(unit, "tokens/sec").as_bytes(), "u.csv").unwrap();
        assert_eq!(value(&r, "time-to-first-token", None), ms, "{unit}");
    }
    let e = csv_err(table("min", "tokens/sec").as_bytes());
    assert_eq!(
        e.to_string(),
        "bad.csv:2:1: `Time To First Token (min)`: unknown unit `min`; expected a duration unit: ns, us, µs, ms, s or sec"
    );
    // A duration in a rate's unit, a rate in a duration's.
    let e = csv_err(table("tokens/sec", "tokens/sec").as_bytes());
    assert!(
        matches!(e, ResultsError::UnknownUnit { line: 2, .. }),
        "{e}"
    );
    let e = csv_err(table("ms", "ms").as_bytes());
    assert!(
        matches!(e, ResultsError::UnknownUnit { line: 5, .. }),
        "{e}"
    );
    let e = csv_err(table("ms", "tokens/min").as_bytes());
    assert!(
        matches!(
            e,
            ResultsError::UnknownUnit {
                line: 5,
                col: 1,
                ..
            }
        ),
        "{e}"
    );
    let json = "{\"ttft\": {\"unit\": \"min\", \"avg\": 1.0}}";
    let e = results::parse_json(json.as_bytes(), "bad.json").unwrap_err();
    assert!(
        matches!(
            e,
            ResultsError::UnknownUnit {
                line: 1,
                col: 2,
                ..
            }
        ),
        "{e}"
    );
    // Metrics no key reads keep whatever unit they have.
    let other = "Metric,avg\r\nGPU Clock (MHz),1.00\r\n";
    results::parse_csv(other.as_bytes(), "ok.csv").unwrap();
}

#[test]
fn json_wrong_types_are_named_with_position() {
    for (avg, found) in [
        ("\"210.81\"", "a string \"210.81\""),
        ("true", "true"),
        ("[210.81]", "an array"),
        ("{}", "an object"),
    ] {
        let json = format!(
            "{{\n  \"output_token_throughput\": {{\"unit\": \"tokens/sec\", \"avg\": {avg}}}\n}}"
        );
        let e = results::parse_json(json.as_bytes(), "bad.json").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "bad.json:2:53: `output_token_throughput` field `avg`: wrong type, expected a number or null, found {found}"
            )
        );
    }
    let json = "{\"request_latency\": {\"unit\": 5, \"avg\": 1.0}}";
    let e = results::parse_json(json.as_bytes(), "bad.json").unwrap_err();
    assert!(
        matches!(
            e,
            ResultsError::WrongType {
                line: 1,
                col: 22,
                ..
            }
        ),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn paths_that_are_not_regular_files_are_refused() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("run");
    std::fs::create_dir(&real).unwrap();
    std::fs::copy(data(GP_CSV_LINES), real.join("profile_genai_perf.csv")).unwrap();
    let link = dir.path().join("x.csv");
    symlink(&real, &link).unwrap();
    let named_dir = dir.path().join("y.csv");
    std::fs::create_dir(&named_dir).unwrap();
    let fifo = dir.path().join("fifo.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let queries = [results::Query::new("default", None)];
    for (path, found) in [
        (link.as_path(), "a directory"),
        (named_dir.as_path(), "a directory"),
        (fifo.as_path(), "a FIFO"),
        (Path::new("/dev/zero"), "a character device"),
    ] {
        for e in [
            results::read(path).unwrap_err(),
            results::lookup_many(path, &queries).unwrap_err(),
        ] {
            assert_eq!(
                e.to_string(),
                format!(
                    "{}: not a regular file ({found}); expected a genai-perf/aiperf export file",
                    path.display()
                )
            );
        }
    }
    // A symlink to a regular file is read as that file.
    let file_link = dir.path().join("z.csv");
    symlink(real.join("profile_genai_perf.csv"), &file_link).unwrap();
    assert_eq!(
        value(&results::read(&file_link).unwrap(), "default", None),
        210.81
    );
}

#[test]
fn file_size_limits() {
    let dir = tempfile::tempdir().unwrap();
    // Just over the full-parse limit, with real rows: the lookups still read it.
    let path = dir.path().join("big.csv");
    let mut text = String::from("Metric,Value\r\nOutput Token Throughput (tokens/sec),5.00\r\n");
    let mut i = 0;
    while (text.len() as u64) <= results::MAX_PARSE_BYTES {
        text.push_str(&format!("Synthetic {i} (ms),1.00\r\n"));
        i += 1;
    }
    std::fs::write(&path, &text).unwrap();
    let e = results::read(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: file is {} bytes, more than the {} bytes allowed for a full parse; genai-perf/aiperf summary exports are a few KB",
            path.display(),
            text.len(),
            results::MAX_PARSE_BYTES
        )
    );
    let answers = results::lookup_many(&path, &[results::Query::new("default", None)]).unwrap();
    assert_eq!(answers, vec![Ok(5.0)]);
    // Beyond the lookup limit nothing is read (a sparse file: no disk used).
    let huge = dir.path().join("huge.csv");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(results::MAX_SCAN_BYTES + 1)
        .unwrap();
    let e = results::lookup_many(&huge, &[results::Query::new("default", None)]).unwrap_err();
    assert!(matches!(e, ResultsError::TooLarge { .. }), "{e}");
}

#[cfg(unix)]
#[test]
fn a_fifo_handing_over_a_complete_csv_is_refused() {
    use std::os::unix::fs::OpenOptionsExt;
    // The writer opens, writes a whole small export and closes: the reader sees data, then
    // end of file, as from a regular file. Which of the two comes first is a race (a read
    // before the write finds nothing), so the hand-over is tried many times; before, about
    // one try in eight was answered with the FIFO's number.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("profile_genai_perf.csv");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let csv = "Metric,avg\r\nOutput Token Throughput (tokens/sec),21.00\r\n";
    let queries = [results::Query::new("default", None)];
    let expected = format!(
        "{}: not a regular file (a FIFO); expected a genai-perf/aiperf export file",
        fifo.display()
    );
    for _ in 0..200 {
        let path = fifo.clone();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            // Blocks until a reader opens the FIFO.
            let mut w = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            let _ = w.write_all(csv.as_bytes());
        });
        let answer = results::lookup_many(&fifo, &queries);
        // A reader for a writer that reached `open` only after the lookup closed the FIFO.
        let drain = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo);
        writer.join().unwrap();
        drop(drain);
        assert_eq!(answer.unwrap_err().to_string(), expected);
    }
}
