//! CloudAI's `get_metric(metric)` for an AIDynamo run, answered as the CloudAI of the run's
//! schema generation answers it (its DSE reads observations through it):
//!
//! * seed schema, CloudAI 13816b1a (`report_generation_strategy.py`): the keys `default`,
//!   `output-token-throughput`, `request-throughput`, `time-to-first-token`,
//!   `time-to-second-token`, `request-latency`, `inter-token-latency`, from the run's
//!   export; also, as this project always accepted, a CSV metric name (`Time To First Token
//!   (ms)`) and `<benchmark>:<metric>:<statistic>`;
//! * current schema, CloudAI 5b5c0f72 (`report_generation_strategy.py`, `get_metric`):
//!   `accuracy` (only when the test runs `aiperf_accuracy`), `<benchmark>:<metric>:<statistic>`
//!   read from `<benchmark>_report.csv` (`aiperf_round_1:…` reads a phase's report), and a bare
//!   metric name, statistic `avg`, from the first workload's `<workload>_report.csv` (with
//!   several aiperf phases, the last phase's copy `aiperf_report.csv`). The seed's keys
//!   (`default`, …) are also answered there, from that same report: CloudAI 5b5c0f72 reads
//!   `default` as a metric name and finds none, although `default` is its `agent_metrics`
//!   default (README, "Differences from CloudAI").
//!
//! Metric names match as the core's lookups match (unit, case and `Time To`/`Time to`
//! spelling aside); CloudAI's `avg` is `avg`, else `Value` (where pandas put a
//! `Metric,Value` row's value, under the first table's `avg` heading).

use std::path::{Path, PathBuf};

use super::{MetricKey, Query, RunRecord, best_result_file, lookup_many, read_accuracy};

/// CloudAI's statistic: `avg` means "the row's average, else its single value".
fn stat(s: &str) -> Option<&str> {
    (s != "avg").then_some(s)
}

/// What a key asks for, before any file is read.
enum Ask<'k> {
    Accuracy,
    Key(MetricKey),
    Named {
        benchmark: Option<&'k str>,
        metric: &'k str,
        stat: Option<&'k str>,
    },
}

fn parse(key: &str) -> Result<Ask<'_>, String> {
    if key.eq_ignore_ascii_case("accuracy") {
        return Ok(Ask::Accuracy);
    }
    if let Ok(k) = key.parse::<MetricKey>() {
        return Ok(Ask::Key(k));
    }
    if key.contains(':') {
        let parts: Vec<&str> = key.splitn(3, ':').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.trim().is_empty()) {
            return Err(format!(
                "metric key {key:?}: expected `benchmark:metric name:statistic`"
            ));
        }
        return Ok(Ask::Named {
            benchmark: Some(parts[0].trim()),
            metric: parts[1].trim(),
            stat: stat(parts[2].trim()),
        });
    }
    // CSV metric names start with a capital letter (`Time To First Token (ms)`), which tells
    // them from a misspelled key such as `thruput`: refused before a DSE starts.
    if !key.starts_with(|c: char| c.is_uppercase()) {
        return Err(format!(
            "metric key {key:?}: expected one of {}, `accuracy`, `benchmark:metric name:statistic` or a CSV metric name such as `Time To First Token (ms)`",
            METRIC_KEYS.join(", ")
        ));
    }
    Ok(Ask::Named {
        benchmark: None,
        metric: key,
        stat: None,
    })
}

/// CloudAI 13816b1a's AIDynamo metric keys, in its order (its reporter's `metrics` list).
pub const METRIC_KEYS: [&str; 7] = [
    "default",
    "output-token-throughput",
    "request-throughput",
    "time-to-first-token",
    "time-to-second-token",
    "request-latency",
    "inter-token-latency",
];

/// Whether `key` is a metric key [`cloudai_metric`] answers (else why not): what CloudAI's
/// DSE checks `agent_metrics` against before it starts.
pub fn check_metric_key(key: &str) -> Result<(), String> {
    parse(key).map(|_| ())
}

/// `Ok(value)`, or why CloudAI would get its `METRIC_ERROR`.
pub fn cloudai_metric(
    run_dir: &Path,
    record: Option<&RunRecord>,
    key: &str,
) -> Result<f64, String> {
    let ask = parse(key)?;
    let current = record.filter(|r| !r.sources.is_empty());
    let query = |file: &Path, q: Query| -> Result<f64, String> {
        let answers = lookup_many(file, std::slice::from_ref(&q)).map_err(|e| e.to_string())?;
        answers
            .into_iter()
            .next()
            .expect("one answer per query")
            .map_err(|e| format!("{}: {e}", file.display()))
    };
    let Some(record) = current else {
        // Seed schema: the run's one export.
        let file = best_result_file(run_dir)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{}: {}", run_dir.display(), crate::error::NO_RESULTS_FILE))?;
        return match ask {
            Ask::Accuracy => Err("accuracy: the seed schema runs no accuracy benchmark".into()),
            Ask::Key(k) => query(&file, Query::key(k, None)),
            Ask::Named { metric, stat, .. } => query(&file, Query::new(metric, stat)),
        };
    };
    let report = |benchmark: &str| -> Result<PathBuf, String> {
        // CloudAI joins the name as given: only plain names stay inside the run directory.
        if benchmark.contains(['/', '\\']) || benchmark.starts_with('.') {
            return Err(format!("benchmark {benchmark:?} is not a report name"));
        }
        let file = run_dir.join(format!("{benchmark}_report.csv"));
        match file.metadata() {
            Ok(m) if m.len() > 0 => Ok(file),
            _ => Err(format!("{} does not exist or is empty", file.display())),
        }
    };
    // The first workload's name: its sources are first in the record.
    let first = match record.sources.first().map(|s| s.tool) {
        Some(super::Tool::GenaiPerf) => "genai_perf",
        _ => "aiperf",
    };
    match ask {
        Ask::Accuracy => {
            if record.accuracy_files.is_empty() {
                return Err("accuracy: the test runs no aiperf_accuracy".into());
            }
            let file = record
                .accuracy_files
                .iter()
                .map(|p| run_dir.join(p))
                .find(|p| p.metadata().is_ok_and(|m| m.len() > 0))
                .ok_or_else(|| "accuracy: no accuracy_results.csv".to_string())?;
            read_accuracy(&file)
                .map(|a| a.value)
                .map_err(|e| e.to_string())
        }
        Ask::Key(k) => query(&report(first)?, Query::key(k, None)),
        Ask::Named {
            benchmark,
            metric,
            stat,
        } => query(
            &report(benchmark.unwrap_or(first))?,
            Query::new(metric, stat),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::check_metric_key;

    #[test]
    fn keys_cloudai_may_ask_for() {
        for ok in [
            "default",
            "inter-token-latency",
            "accuracy",
            "Accuracy",
            "aiperf_round_1:Time to First Token (ms):p99",
            "Output Token Throughput (tokens/sec)",
        ] {
            assert_eq!(check_metric_key(ok), Ok(()), "{ok}");
        }
        for bad in ["thruput", "", "aiperf:Request Count", "a::avg", "x:y:"] {
            assert!(check_metric_key(bad).is_err(), "{bad}");
        }
    }
}
