//! A run's status from what decides it: Slurm's final job state, then (for a job Slurm saw
//! complete) what the job's script left, and in the report the results the runner accepted.
//! The runner, the CloudAI plugin and the report all ask here, so they agree on a run.

/// What Slurm's final job state alone says about a run: `None` for `COMPLETED` (the script's
/// files decide: a script may exit 0 after catching a dead worker), else the run's status
/// (`cancelled`, `timeout`, or `failed` for every other terminal state: `FAILED`,
/// `OUT_OF_MEMORY`, `NODE_FAIL`, `PREEMPTED`, `BOOT_FAIL`, `DEADLINE`, ...) and its cause,
/// naming the state and Slurm's `code:signal` exit code when it is not `0:0` (not for
/// `TIMEOUT`, whose signal is Slurm's own).
pub fn slurm_verdict(state: &str, exit_code: Option<&str>) -> Option<(&'static str, String)> {
    let status = match state {
        "COMPLETED" => return None,
        "CANCELLED" => "cancelled",
        "TIMEOUT" => "timeout",
        _ => "failed",
    };
    let mut cause = format!("Slurm state {state}");
    let code = exit_code.and_then(|c| c.split_once(':'));
    if let Some((code, signal)) = code.filter(|c| state != "TIMEOUT" && *c != ("0", "0")) {
        cause += &format!(" (exit code {code}");
        cause += &if signal == "0" {
            ")".to_string()
        } else {
            format!(", signal {signal})")
        };
    }
    Some((status, cause))
}

/// The status the report shows for a run: the runner's (`runner`, from its `status.json`),
/// unless the results it accepted say otherwise (the results' `verdict`: `bad_results` for
/// unreadable or missing exports, `failed` when every request of a source failed, `flagged`
/// when some did). Without a runner's status (a tree copied from elsewhere, a killed runner)
/// the files decide: results mean `completed`, none `not_run`.
pub fn final_status<'a>(
    runner: Option<(&'a str, &'a str)>,
    verdict: &'a str,
    verdict_cause: &'a str,
    has_results: bool,
) -> (&'a str, &'a str) {
    let overruled = matches!(verdict, "bad_results" | "failed" | "flagged");
    match runner {
        Some(("completed", _)) | None if overruled => (verdict, verdict_cause),
        Some(status) => status,
        None if has_results => ("completed", ""),
        None => ("not_run", "no status.json and no results file"),
    }
}

#[cfg(test)]
mod tests {
    use super::{final_status, slurm_verdict};

    /// Slurm's state and exit code, and the status and cause expected.
    type Row = (
        &'static str,
        Option<&'static str>,
        Option<(&'static str, &'static str)>,
    );

    #[test]
    fn slurms_states_by_hand() {
        // sacct's JOB STATE CODES of a job that ended, with the exit codes Slurm reports.
        let table: [Row; 12] = [
            ("COMPLETED", Some("0:0"), None),
            ("COMPLETED", Some("1:0"), None),
            (
                "FAILED",
                Some("1:0"),
                Some(("failed", "Slurm state FAILED (exit code 1)")),
            ),
            (
                "FAILED",
                Some("0:9"),
                Some(("failed", "Slurm state FAILED (exit code 0, signal 9)")),
            ),
            ("FAILED", None, Some(("failed", "Slurm state FAILED"))),
            (
                "TIMEOUT",
                Some("0:15"),
                Some(("timeout", "Slurm state TIMEOUT")),
            ),
            (
                "CANCELLED",
                Some("0:15"),
                Some((
                    "cancelled",
                    "Slurm state CANCELLED (exit code 0, signal 15)",
                )),
            ),
            (
                "CANCELLED",
                Some("0:0"),
                Some(("cancelled", "Slurm state CANCELLED")),
            ),
            (
                "OUT_OF_MEMORY",
                Some("0:125"),
                Some((
                    "failed",
                    "Slurm state OUT_OF_MEMORY (exit code 0, signal 125)",
                )),
            ),
            (
                "NODE_FAIL",
                Some("1:0"),
                Some(("failed", "Slurm state NODE_FAIL (exit code 1)")),
            ),
            (
                "PREEMPTED",
                Some("0:0"),
                Some(("failed", "Slurm state PREEMPTED")),
            ),
            (
                "BOOT_FAIL",
                Some("garbage"),
                Some(("failed", "Slurm state BOOT_FAIL")),
            ),
        ];
        for (state, code, want) in table {
            let got = slurm_verdict(state, code);
            let got = got.as_ref().map(|(s, c)| (*s, c.as_str()));
            assert_eq!(got, want, "{state} {code:?}");
        }
    }

    #[test]
    fn the_results_overrule_only_a_completed_or_missing_status() {
        let done = Some(("completed", ""));
        let cancelled = ("cancelled", "Slurm state CANCELLED");
        assert_eq!(final_status(done, "ok", "", true), ("completed", ""));
        assert_eq!(
            final_status(done, "flagged", "2 of 10 failed", true),
            ("flagged", "2 of 10 failed")
        );
        assert_eq!(
            final_status(done, "bad_results", "x.csv: bad", true),
            ("bad_results", "x.csv: bad")
        );
        assert_eq!(
            final_status(None, "failed", "all failed", true),
            ("failed", "all failed")
        );
        assert_eq!(
            final_status(Some(cancelled), "failed", "all failed", true),
            cancelled
        );
        assert_eq!(final_status(None, "ok", "", true), ("completed", ""));
        assert_eq!(
            final_status(None, "ok", "", false),
            ("not_run", "no status.json and no results file")
        );
    }
}
