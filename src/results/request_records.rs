//! aiperf's per-request records (`profile_export.jsonl`): the HTTP status of a failed request.
//!
//! aiperf (0.13) logs no status when every request fails, only "All 10 inference request(s)
//! failed"; each failed request's record holds it:
//! `{"error": {"code": 404, "type": "Not Found", ...}}`.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::{ResultsError, find_request_records, io_error, open_regular};

/// The most read of one records file: a rehearsal sends about 10 requests, whose records are a
/// few KB; real runs' records reach GBs and are never read whole.
pub const RECORDS_READ_BYTES: u64 = 1 << 20;

/// The first client error (HTTP 4xx) in aiperf's per-request records under `run_dir`, files in
/// path order, each read up to [`RECORDS_READ_BYTES`]. Files that cannot be read (gone, not a
/// regular file: a FIFO is never waited on) are passed over, as are lines that are not a
/// record with an integer `error.code`.
pub fn first_client_error(run_dir: impl AsRef<Path>) -> Result<Option<u16>, ResultsError> {
    for path in find_request_records(run_dir)? {
        let Ok(text) = read_prefix(&path, RECORDS_READ_BYTES) else {
            continue;
        };
        if let Some(code) = String::from_utf8_lossy(&text)
            .lines()
            .find_map(client_error)
        {
            return Ok(Some(code));
        }
    }
    Ok(None)
}

/// The 4xx `error.code` of one record line, if it has one.
fn client_error(line: &str) -> Option<u16> {
    let record: serde_json::Value = serde_json::from_str(line).ok()?;
    let code = record.get("error")?.get("code")?.as_u64()?;
    u16::try_from(code).ok().filter(|c| (400..500).contains(c))
}

/// At most the first `limit` bytes of the regular file `path`.
pub(crate) fn read_prefix(path: &Path, limit: u64) -> Result<Vec<u8>, ResultsError> {
    let (file, _) = open_regular(path)?;
    let mut data = Vec::new();
    file.take(limit)
        .read_to_end(&mut data)
        .map_err(io_error(path))?;
    Ok(data)
}

/// At most the last `limit` bytes of the regular file `path`.
pub(crate) fn read_suffix(path: &Path, limit: u64) -> Result<Vec<u8>, ResultsError> {
    let (mut file, size) = open_regular(path)?;
    file.seek(SeekFrom::Start(size.saturating_sub(limit)))
        .map_err(io_error(path))?;
    let mut data = Vec::new();
    file.take(limit)
        .read_to_end(&mut data)
        .map_err(io_error(path))?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::client_error;

    #[test]
    fn only_an_integer_4xx_error_code_counts() {
        assert_eq!(
            client_error(r#"{"error": {"code": 404, "type": "Not Found"}}"#),
            Some(404)
        );
        assert_eq!(client_error(r#"{"error": {"code": 500}}"#), None);
        assert_eq!(client_error(r#"{"error": {"code": "404"}}"#), None);
        assert_eq!(client_error(r#"{"error": null}"#), None);
        assert_eq!(client_error(r#"{"metrics": {}}"#), None);
        assert_eq!(client_error("not json"), None);
    }
}
