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

use std::io::ErrorKind;
use std::path::Path;

use super::{
    LookupError, MetricKey, MetricKeyError, Query, ResultsError, best_result_file, lookup_many,
    read_run_record, run_accuracy,
};
use crate::Error;

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

fn parse(key: &str) -> Result<Ask<'_>, MetricKeyError> {
    if key.eq_ignore_ascii_case("accuracy") {
        return Ok(Ask::Accuracy);
    }
    if let Some(k) = MetricKey::from_key(key) {
        return Ok(Ask::Key(k));
    }
    if key.contains(':') {
        let parts: Vec<&str> = key.splitn(3, ':').map(str::trim).collect();
        let &[benchmark, metric, statistic] = parts.as_slice() else {
            return Err(MetricKeyError::Malformed { key: key.into() });
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(MetricKeyError::Malformed { key: key.into() });
        }
        // CloudAI joins the name as given: only plain names stay inside the run directory.
        if benchmark.contains(['/', '\\']) || benchmark.starts_with('.') {
            return Err(MetricKeyError::NotAReport {
                key: key.into(),
                benchmark: benchmark.into(),
            });
        }
        return Ok(Ask::Named {
            benchmark: Some(benchmark),
            metric,
            stat: stat(statistic),
        });
    }
    // CSV metric names start with a capital letter (`Time To First Token (ms)`), which tells
    // them from a misspelled key such as `thruput`: refused before a DSE starts.
    if !key.starts_with(|c: char| c.is_uppercase()) {
        return Err(MetricKeyError::Unknown { key: key.into() });
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
pub fn check_metric_key(key: &str) -> Result<(), MetricKeyError> {
    parse(key).map(|_| ())
}

/// The value CloudAI's `get_metric(key)` gives for the run in `run_dir`, or why CloudAI
/// would get its `METRIC_ERROR`: a refused key ([`Error::MetricKey`]), a metric the run
/// does not have ([`Error::Lookup`]), a missing file (an OS error), a malformed one.
///
/// The run's record (`test-run.json`) tells the schema generation; a directory without one
/// (exports only) is read as the seed schema reads it. A record that is there but malformed
/// is an error: read as the seed schema, a current-schema run could answer from the wrong
/// phase's export.
pub fn cloudai_metric(run_dir: &Path, key: &str) -> Result<f64, Error> {
    let ask = parse(key)?;
    let record = match read_run_record(&run_dir.join(crate::render::RECORD_FILE), None) {
        Ok(r) => Some(r),
        Err(ResultsError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let query = |file: &Path, q: Query| -> Result<f64, Error> {
        let answers = lookup_many(file, std::slice::from_ref(&q))?;
        answers
            .into_iter()
            .next()
            .expect("one answer per query")
            .map_err(|e| Error::lookup(file, e))
    };
    let not_measured = |reason| {
        Error::lookup(
            run_dir,
            LookupError::NotMeasured {
                metric: key.to_owned(),
                reason,
            },
        )
    };
    let Some(record) = record.filter(|r| !r.sources.is_empty()) else {
        // Seed schema: the run's one export.
        let file = best_result_file(run_dir)?.ok_or_else(|| Error::NoResultsFile {
            dir: run_dir.to_owned(),
        })?;
        return match ask {
            Ask::Accuracy => Err(not_measured("the seed schema runs no accuracy benchmark")),
            Ask::Key(k) => query(&file, Query::key(k, None)),
            Ask::Named { metric, stat, .. } => query(&file, Query::new(metric, stat)),
        };
    };
    // CloudAI reads `<benchmark>_report.csv`; a missing one is a missing file, an empty
    // one an empty results file (CloudAI: "does not exist or is empty").
    let report = |benchmark: &str| run_dir.join(format!("{benchmark}_report.csv"));
    // The first workload's name: its sources are first in the record.
    let first = match record.sources.first().map(|s| s.tool) {
        Some(super::Tool::GenaiPerf) => "genai_perf",
        _ => "aiperf",
    };
    match ask {
        Ask::Accuracy => match run_accuracy(run_dir, &record) {
            Some(found) => found.map(|a| a.value),
            None => Err(not_measured("the test runs no aiperf_accuracy")),
        },
        Ask::Key(k) => query(&report(first), Query::key(k, None)),
        Ask::Named {
            benchmark,
            metric,
            stat,
        } => query(
            &report(benchmark.unwrap_or(first)),
            Query::new(metric, stat),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{MetricKeyError, check_metric_key};

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
        let malformed = |key: &str| MetricKeyError::Malformed { key: key.into() };
        let unknown = |key: &str| MetricKeyError::Unknown { key: key.into() };
        for (bad, why) in [
            ("thruput", unknown("thruput")),
            ("", unknown("")),
            ("aiperf:Request Count", malformed("aiperf:Request Count")),
            ("a::avg", malformed("a::avg")),
            ("x:y:", malformed("x:y:")),
            (
                "../x:Request Count:avg",
                MetricKeyError::NotAReport {
                    key: "../x:Request Count:avg".into(),
                    benchmark: "../x".into(),
                },
            ),
        ] {
            assert_eq!(check_metric_key(bad), Err(why), "{bad}");
        }
    }
}
