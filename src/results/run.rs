//! Everything the report shows of one run, decided here once: which exports it is read
//! from (one per aiperf phase or genai-perf run of a current-schema test, the preferred
//! export of a seed-schema run), their figures, the derived per-GPU and per-user rates,
//! the request verdict, the accuracy summary, and the verdict on the whole run.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::outcome::{FAILED_METRIC, SUCCEEDED_METRIC};
use super::{
    Accuracy, MetricReader, Query, RequestOutcome, RequestVerdict, ResultsError, RunRecord, Source,
    Tool, best_result, request_outcome, run_accuracy,
};

/// The figures of one export. Field names are the summary's column names.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub output_tokens_per_s: Option<f64>,
    pub output_tokens_per_s_per_gpu: Option<f64>,
    pub output_tokens_per_s_per_user: Option<f64>,
    pub request_throughput_per_s: Option<f64>,
    pub request_count: Option<f64>,
    pub ttft_avg_ms: Option<f64>,
    pub ttft_p50_ms: Option<f64>,
    pub ttft_p99_ms: Option<f64>,
    pub itl_avg_ms: Option<f64>,
    pub itl_p50_ms: Option<f64>,
    pub itl_p99_ms: Option<f64>,
    pub request_latency_avg_ms: Option<f64>,
    pub request_latency_p50_ms: Option<f64>,
    pub request_latency_p99_ms: Option<f64>,
    /// Failed requests (aiperf's `Error Request Count`).
    pub error_request_count: Option<f64>,
}

/// The queries behind [`Figures`], in the order [`figures_from`] reads the answers.
fn queries() -> Vec<Query> {
    let q = |m: &str, s: Option<&str>| Query::new(m, s);
    vec![
        q("output-token-throughput", None),
        q("request-throughput", None),
        q(SUCCEEDED_METRIC, None),
        q("time-to-first-token", Some("avg")),
        q("time-to-first-token", Some("p50")),
        q("time-to-first-token", Some("p99")),
        q("inter-token-latency", Some("avg")),
        q("inter-token-latency", Some("p50")),
        q("inter-token-latency", Some("p99")),
        q("request-latency", Some("avg")),
        q("request-latency", Some("p50")),
        q("request-latency", Some("p99")),
        // Measured per request by genai-perf >= 0.0.16 and aiperf.
        q("Output Token Throughput Per User", Some("avg")),
        q(FAILED_METRIC, None),
    ]
}

/// One source of a run with what was read from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceResults {
    /// Phase or workload name (empty for a seed-schema run's one export).
    pub name: String,
    pub tool: Tool,
    /// The file read (absolute or under the run directory), `None` when there is none.
    pub file: Option<PathBuf>,
    pub concurrency: Option<serde_json::Value>,
    /// CloudAI's report for a bare metric key (see [`Source::primary`]).
    pub primary: bool,
    pub figures: Figures,
    /// The request verdict, when the export could be read.
    pub requests: Option<RequestOutcome>,
    /// Why nothing could be read (missing report, malformed file).
    pub error: Option<String>,
}

/// The accuracy summary of a run whose test asks for one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccuracyResults {
    /// The summary read, `None` when it is missing or malformed.
    pub accuracy: Option<Accuracy>,
    pub error: Option<String>,
}

/// What the results say about the run as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultsVerdict {
    /// Every expected export was read and no request failed.
    Ok,
    /// Some requests of some source failed.
    Flagged,
    /// Every request of some source failed: it measured nothing.
    Failed,
    /// An expected export (or the accuracy summary) is missing or malformed.
    BadResults,
    /// No export at all (a seed-schema run that wrote none).
    NoResults,
}

/// The report's view of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResults {
    pub sources: Vec<SourceResults>,
    pub accuracy: Option<AccuracyResults>,
    /// The per-GPU divisor: the GPUs of the nodes that run an engine.
    pub gpus: Option<u64>,
    pub verdict: ResultsVerdict,
    /// Why, when the verdict is not `ok`: the source it concerns first (`round_2: ...`).
    pub cause: String,
}

/// Figures of the export at `file`.
fn read_source(
    reader: &mut MetricReader<'_>,
    file: &Path,
    gpus: Option<u64>,
    concurrency: Option<f64>,
) -> Result<(Figures, RequestOutcome), ResultsError> {
    let a: Vec<Option<f64>> = reader.read(file)?.into_iter().map(Result::ok).collect();
    let requests = request_outcome(a[2], a[13]);
    let mut f = Figures {
        output_tokens_per_s: a[0],
        request_throughput_per_s: a[1],
        request_count: a[2],
        ttft_avg_ms: a[3],
        ttft_p50_ms: a[4],
        ttft_p99_ms: a[5],
        itl_avg_ms: a[6],
        itl_p50_ms: a[7],
        itl_p99_ms: a[8],
        request_latency_avg_ms: a[9],
        request_latency_p50_ms: a[10],
        request_latency_p99_ms: a[11],
        error_request_count: requests.failed,
        ..Figures::default()
    };
    if requests.verdict == RequestVerdict::Failed {
        // Every request failed: the counts stay, the figures measure nothing.
        return Ok((
            Figures {
                request_count: f.request_count,
                error_request_count: f.error_request_count,
                ..Figures::default()
            },
            requests,
        ));
    }
    f.output_tokens_per_s_per_gpu = f
        .output_tokens_per_s
        .zip(gpus)
        .and_then(|(t, g)| super::per_gpu(t, g));
    // Per user: measured per request when the export has it, else throughput / concurrency.
    f.output_tokens_per_s_per_user = a[12].or_else(|| {
        let (t, c) = f.output_tokens_per_s.zip(concurrency)?;
        let v = t / c;
        (c > 0.0 && v.is_finite()).then_some(v)
    });
    Ok((f, requests))
}

/// The report's view of the run in `run_dir`, whose record is `record`; `gpus_per_node`
/// from the system file (`None` leaves the per-GPU figures out).
pub fn run_results(
    run_dir: &Path,
    record: &RunRecord,
    gpus_per_node: Option<u32>,
) -> Result<RunResults, ResultsError> {
    let gpus = record
        .engine_nodes
        .zip(gpus_per_node)
        .and_then(|(n, g)| super::engine_gpus(n, g));
    let queries = queries();
    let mut reader = MetricReader::new(&queries);
    let planned: Vec<(Source, Option<PathBuf>)> = if record.sources.is_empty() {
        // Seed schema: the one export, found by name.
        best_result(run_dir)?
            .map(|found| {
                let file = found.path;
                let source = Source {
                    name: String::new(),
                    tool: found.tool,
                    report: file.clone(),
                    concurrency: record.concurrency.clone(),
                    primary: true,
                };
                (source, Some(file))
            })
            .into_iter()
            .collect()
    } else {
        record
            .sources
            .iter()
            .map(|s| {
                let file = run_dir.join(&s.report);
                let present = file.symlink_metadata().is_ok();
                (s.clone(), present.then_some(file))
            })
            .collect()
    };
    let mut sources = Vec::with_capacity(planned.len());
    for (s, file) in planned {
        let mut out = SourceResults {
            name: s.name.clone(),
            tool: s.tool,
            file: file.clone(),
            concurrency: s.concurrency.clone(),
            primary: s.primary,
            figures: Figures::default(),
            requests: None,
            error: None,
        };
        match file {
            None => out.error = Some(format!("no {} in the run directory", s.report.display())),
            Some(f) => match read_source(
                &mut reader,
                &f,
                gpus,
                s.concurrency.as_ref().and_then(serde_json::Value::as_f64),
            ) {
                Ok((figures, requests)) => {
                    out.figures = figures;
                    out.requests = Some(requests);
                }
                Err(e) => out.error = Some(e.to_string()),
            },
        }
        sources.push(out);
    }
    let accuracy = run_accuracy(run_dir, record).map(|found| match found {
        Ok(a) => AccuracyResults {
            accuracy: Some(a),
            error: None,
        },
        Err(e) => AccuracyResults {
            accuracy: None,
            error: Some(e.to_string()),
        },
    });
    let (verdict, cause) = verdict(&sources, accuracy.as_ref());
    Ok(RunResults {
        sources,
        accuracy,
        gpus,
        verdict,
        cause,
    })
}

/// The worst of the sources' outcomes, the first source in run order naming the cause.
fn verdict(
    sources: &[SourceResults],
    accuracy: Option<&AccuracyResults>,
) -> (ResultsVerdict, String) {
    if sources.is_empty() && accuracy.is_none() {
        return (ResultsVerdict::NoResults, String::new());
    }
    let named = |s: &SourceResults, why: &str| {
        if s.name.is_empty() || sources.len() == 1 {
            why.to_owned()
        } else {
            format!("{}: {why}", s.name)
        }
    };
    if let Some(s) = sources.iter().find(|s| s.error.is_some()) {
        return (
            ResultsVerdict::BadResults,
            named(s, s.error.as_deref().unwrap_or_default()),
        );
    }
    if let Some(e) = accuracy.and_then(|a| a.error.as_deref()) {
        return (ResultsVerdict::BadResults, format!("accuracy: {e}"));
    }
    for wanted in [RequestVerdict::Failed, RequestVerdict::Flagged] {
        if let Some((s, r)) = sources.iter().find_map(|s| {
            s.requests
                .as_ref()
                .filter(|r| r.verdict == wanted)
                .map(|r| (s, r))
        }) {
            let v = if wanted == RequestVerdict::Failed {
                ResultsVerdict::Failed
            } else {
                ResultsVerdict::Flagged
            };
            return (v, named(s, &r.cause));
        }
    }
    (ResultsVerdict::Ok, String::new())
}
