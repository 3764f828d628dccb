//! What a failed rehearsal left that points at the user's files: the load generator's section
//! and endpoint in the run's record (`test-run.json`, written by the core), and the HTTP client
//! error aiperf recorded per request (see `crate::results::first_client_error`), and what the
//! run's logs say (see [`super::logs`]).

use std::path::Path;

use serde::Serialize;

use crate::config::LoadGenerator;
use crate::render::RECORD_FILE;
use crate::results::{MAX_PARSE_BYTES, first_client_error, read_prefix};

/// The facts a verdict names; each `None` when the run did not leave it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The load generator's section of `cmd_args` (`genai_perf`, `aiperf`).
    pub section: Option<&'static str>,
    /// Its `endpoint` field as the user wrote it.
    pub endpoint: Option<String>,
    /// The first HTTP 4xx the logs name, else the first in aiperf's per-request records.
    pub http_status: Option<u16>,
    /// The load generator's refusal of the endpoint, as its logs word it.
    pub refusal: Option<&'static str>,
}

/// The evidence of the run in `run_dir`. A missing or unreadable record or records file leaves
/// its fields `None`: the verdict then falls back to the runner's cause.
pub fn evidence(run_dir: &Path) -> Evidence {
    let (section, endpoint) = load_generator(run_dir).unwrap_or_default();
    let logs = super::logs::scan(run_dir);
    Evidence {
        section,
        endpoint,
        http_status: logs
            .http_status
            .or_else(|| first_client_error(run_dir).ok().flatten()),
        refusal: logs.refusal,
    }
}

/// `(section, endpoint)` of the load generator in the run's record.
fn load_generator(run_dir: &Path) -> Option<(Option<&'static str>, Option<String>)> {
    let text = read_prefix(&run_dir.join(RECORD_FILE), MAX_PARSE_BYTES).ok()?;
    let record: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let cmd_args = record.get("test")?.get("cmd_args")?;
    let (section, args) = LoadGenerator::SECTIONS
        .iter()
        .find_map(|s| Some((*s, cmd_args.get(*s).filter(|a| a.is_object())?)))?;
    let endpoint = args
        .get("endpoint")
        .and_then(|e| e.as_str())
        .map(String::from);
    Some((Some(section), endpoint))
}

#[cfg(test)]
mod tests {
    use super::{Evidence, evidence};

    #[test]
    fn the_records_endpoint_and_aiperfs_404() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(evidence(dir.path()), Evidence::default());
        std::fs::write(
            dir.path().join("test-run.json"),
            r#"{"test": {"cmd_args": {"genai_perf": "x", "aiperf": {"endpoint": "/v1/x"}}}}"#,
        )
        .unwrap();
        let records = dir.path().join("a/b");
        std::fs::create_dir_all(&records).unwrap();
        std::fs::write(
            records.join("profile_export.jsonl"),
            "{\"metrics\": {}}\n{\"error\": {\"code\": 404, \"type\": \"Not Found\"}}\n",
        )
        .unwrap();
        assert_eq!(
            evidence(dir.path()),
            Evidence {
                section: Some("aiperf"),
                endpoint: Some("/v1/x".into()),
                http_status: Some(404),
                refusal: None,
            }
        );
        // A status the load generator printed comes before the records' (perf_analyzer's
        // message, see `super::super::logs`), and aiperf's refusal is read from its stderr.
        let path = "tests/data/rehearse/aiperf-0.13-no-slash.txt";
        let stderr = std::fs::read_to_string(path).unwrap();
        std::fs::write(dir.path().join("stderr.txt"), stderr).unwrap();
        std::fs::write(
            dir.path().join("stdout.txt"),
            "Thread [0] had error: OpenAI response returns HTTP code 400\n",
        )
        .unwrap();
        let found = evidence(dir.path());
        assert_eq!(found.http_status, Some(400));
        assert_eq!(
            found.refusal,
            Some("endpoint.path must start with a leading slash")
        );
    }
}
