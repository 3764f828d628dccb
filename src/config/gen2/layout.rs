//! Where the current schema's load generators leave their results, relative to the run
//! directory: the one naming rule the launch script writes by and the report reads by
//! (CloudAI 5b5c0f72: `_resolve_aiperf_phase` and `_render_aiperf_phases` in
//! `workloads/ai_dynamo/slurm_command_gen_strategy.py`, `parse_aiperf_accuracy` in
//! `ai_dynamo.py`).

/// The accuracy run's summary, copied from its artifact directory into the run directory.
pub const ACCURACY_RESULTS: &str = "accuracy_results.csv";

/// With several aiperf phases, the last one's report is also copied here (CloudAI's
/// literal name: its default `get_metric` benchmark and its success check read it).
pub const FINAL_AIPERF_REPORT: &str = "aiperf_report.csv";

/// Artifact directory and report file of one aiperf phase. With one phase (or none) the
/// base `[cmd_args.aiperf]` names apply; with several, each phase gets
/// `<base artifact dir>/<phase>` and `aiperf_<phase>_report.csv` unless it names its own.
pub fn aiperf_phase_files(
    base_artifact_dir: &str,
    base_report: &str,
    phase: &str,
    own_artifact_dir: Option<&str>,
    own_report: Option<&str>,
    single: bool,
) -> (String, String) {
    let artifact = own_artifact_dir.map_or_else(
        || {
            if single {
                base_artifact_dir.to_owned()
            } else {
                format!("{base_artifact_dir}/{phase}")
            }
        },
        str::to_owned,
    );
    let report = own_report.map_or_else(
        || {
            if single {
                base_report.to_owned()
            } else {
                format!("aiperf_{phase}_report.csv")
            }
        },
        str::to_owned,
    );
    (artifact, report)
}

/// Where CloudAI looks for the accuracy summary, in order: the run directory's copy, then
/// the accuracy run's artifact directory, then aiperf's default one.
pub fn accuracy_candidates(accuracy_artifact_dir: &str, aiperf_artifact_dir: &str) -> [String; 3] {
    [
        ACCURACY_RESULTS.to_owned(),
        format!("{accuracy_artifact_dir}/{ACCURACY_RESULTS}"),
        format!("{aiperf_artifact_dir}/{ACCURACY_RESULTS}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::aiperf_phase_files;

    #[test]
    fn phase_names_follow_cloudai() {
        let f = |name, a, r, single| {
            aiperf_phase_files("aiperf_artifacts", "aiperf_report.csv", name, a, r, single)
        };
        assert_eq!(
            f("round_1", None, None, false),
            (
                "aiperf_artifacts/round_1".into(),
                "aiperf_round_1_report.csv".into()
            )
        );
        assert_eq!(
            f("only", None, None, true),
            ("aiperf_artifacts".into(), "aiperf_report.csv".into())
        );
        assert_eq!(
            f("x", Some("mine"), Some("mine.csv"), false),
            ("mine".into(), "mine.csv".into())
        );
    }
}
