//! What a run's load generation leaves to report, from its record: one source per aiperf
//! phase or genai-perf run, in the order the job ran them, and the accuracy summary when the
//! test asks for one. The file names come from the naming rule the launch script writes by
//! (`config::gen2::aiperf_phase_files`). Seed-schema records have none: their one export is
//! found by name ([`super::best_result_file`]).

use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::Tool;
use crate::config::gen2::{AIPERF_ARTIFACTS, accuracy_candidates, aiperf_phase_files};

/// One set of figures a run produces: an aiperf phase or a genai-perf run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// The phase name (`round_1`), `aiperf` for a single aiperf run, `genai_perf`.
    pub name: String,
    /// The workload that writes it.
    pub tool: Tool,
    /// Its report, relative to the run directory (`aiperf_round_1_report.csv`).
    pub report: PathBuf,
    /// The load generator's concurrency for this source, when the test sets it (a number;
    /// an integer stays one).
    pub concurrency: Option<serde_json::Value>,
    /// Whether CloudAI reads this one for a bare metric key and its report: the last source
    /// of the first workload (with several phases, `aiperf_report.csv` is the last's copy).
    pub primary: bool,
}

/// The record's view of a current-schema test (`test.cmd_args` of `test-run.json`).
#[derive(Deserialize)]
pub(super) struct RawCmdArgs {
    #[serde(default)]
    workloads: Option<Vec<String>>,
    #[serde(default)]
    genai_perf: Option<RawLoad>,
    #[serde(default)]
    aiperf: Option<RawLoad>,
    #[serde(default)]
    aiperf_phases: Option<Vec<RawPhase>>,
    #[serde(default)]
    aiperf_accuracy: Option<RawAccuracy>,
}

#[derive(Deserialize)]
pub(super) struct RawLoad {
    /// Seed schema: the concurrency is a field of the load generator.
    #[serde(default)]
    concurrency: Option<serde_json::Value>,
    #[serde(flatten)]
    files: RawFiles,
}

#[derive(Deserialize)]
struct RawPhase {
    name: String,
    #[serde(flatten)]
    files: RawFiles,
}

/// What a workload and a phase both say about where they write and at what concurrency.
#[derive(Deserialize)]
struct RawFiles {
    #[serde(default)]
    report_name: Option<String>,
    #[serde(default)]
    artifact_dir_name: Option<String>,
    #[serde(default)]
    args: Option<IndexMap<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct RawAccuracy {
    artifact_dir_name: String,
}

impl RawCmdArgs {
    /// The seed schema's concurrency (`genai_perf.concurrency`, else `aiperf.concurrency`).
    pub(super) fn seed_concurrency(&self) -> Option<serde_json::Value> {
        [&self.genai_perf, &self.aiperf]
            .into_iter()
            .flatten()
            .find_map(|l| l.concurrency.clone())
            .filter(|c| !c.is_null())
    }

    /// Whether the record is of a current-schema test (only it has `workloads`).
    pub(super) fn is_current(&self) -> bool {
        self.workloads.is_some()
    }

    /// The sources and the accuracy summary's candidate paths; `Err` names a workload this
    /// reader does not know, or the field whose path would leave the run directory.
    pub(super) fn sources(&self) -> Result<(Vec<Source>, Vec<PathBuf>), SourcesError> {
        let mut out = Vec::new();
        for (i, w) in self.workloads.iter().flatten().enumerate() {
            let first = i == 0;
            match w.as_str() {
                "genai_perf" | "genai_perf.sh" => {
                    let g = self.genai_perf.as_ref();
                    out.push(Source {
                        name: "genai_perf".into(),
                        tool: Tool::GenaiPerf,
                        report: inside(
                            g.and_then(|g| g.files.report_name.as_deref())
                                .unwrap_or("genai_perf_report.csv"),
                            || "genai_perf.report_name".into(),
                        )?,
                        concurrency: g.and_then(|g| concurrency(g.files.args.as_ref())),
                        primary: first,
                    });
                }
                "aiperf" | "aiperf.sh" => {
                    let base = self.aiperf.as_ref();
                    let base_art = base
                        .and_then(|b| b.files.artifact_dir_name.as_deref())
                        .unwrap_or(AIPERF_ARTIFACTS);
                    let base_report = base
                        .and_then(|b| b.files.report_name.as_deref())
                        .unwrap_or("aiperf_report.csv");
                    let base_conc = base.and_then(|b| concurrency(b.files.args.as_ref()));
                    let phases = self.aiperf_phases.as_deref().unwrap_or_default();
                    let single = phases.len() <= 1;
                    let named: Vec<(&str, Option<&RawPhase>)> = if phases.is_empty() {
                        vec![("aiperf", None)]
                    } else {
                        phases.iter().map(|p| (p.name.as_str(), Some(p))).collect()
                    };
                    let n = named.len();
                    for (k, (name, phase)) in named.into_iter().enumerate() {
                        let (_, report) = aiperf_phase_files(
                            base_art,
                            base_report,
                            name,
                            phase.and_then(|p| p.files.artifact_dir_name.as_deref()),
                            phase.and_then(|p| p.files.report_name.as_deref()),
                            single,
                        );
                        // The field the report's name comes from.
                        let field = || match phase {
                            Some(p) if p.files.report_name.is_some() => {
                                format!("aiperf_phases[{k}].report_name")
                            }
                            Some(_) if !single => format!("aiperf_phases[{k}].name"),
                            _ => "aiperf.report_name".to_owned(),
                        };
                        out.push(Source {
                            name: name.to_owned(),
                            tool: Tool::Aiperf,
                            report: inside(&report, field)?,
                            concurrency: phase
                                .and_then(|p| concurrency(p.files.args.as_ref()))
                                .or_else(|| base_conc.clone()),
                            primary: first && k + 1 == n,
                        });
                    }
                }
                other => return Err(SourcesError::UnknownWorkload(other.to_owned())),
            }
        }
        let accuracy = match &self.aiperf_accuracy {
            Some(a) => accuracy_candidates(&a.artifact_dir_name, AIPERF_ARTIFACTS)
                .iter()
                .map(|p| inside(p, || "aiperf_accuracy.artifact_dir_name".into()))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok((out, accuracy))
    }
}

/// `concurrency` of a tool's `args` (a positive number; anything else is no concurrency).
fn concurrency(args: Option<&IndexMap<String, serde_json::Value>>) -> Option<serde_json::Value> {
    let v = args?.get("concurrency")?;
    v.as_f64()
        .is_some_and(|c| c.is_finite() && c > 0.0)
        .then(|| v.clone())
}

/// Why a current-schema record's workloads give no sources. Fields are named from
/// `test.cmd_args`, which the record reader prefixes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum SourcesError {
    /// `workloads` names a load generator this reader does not know.
    #[error(
        "workloads: unknown workload {0:?}; expected `genai_perf`, `aiperf` or their `.sh` scripts"
    )]
    UnknownWorkload(String),
    /// A report or artifact path that would leave the run directory.
    #[error(
        "{field}: path {path:?} is not inside the run directory; expected a relative path without `..`"
    )]
    Outside {
        /// The field the path comes from (`aiperf_phases[1].report_name`).
        field: String,
        /// The path as the record gives it.
        path: String,
    },
}

/// `p` as a path inside the run directory: relative, without `..`; else an error naming
/// the `field` it comes from.
fn inside(p: &str, field: impl FnOnce() -> String) -> Result<PathBuf, SourcesError> {
    let path = Path::new(p);
    let ok = !p.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if ok {
        Ok(path.to_owned())
    } else {
        Err(SourcesError::Outside {
            field: field(),
            path: p.to_owned(),
        })
    }
}
