//! What a failed run's logs say about the user's load-generator fields: the HTTP client error
//! the load generator printed, or aiperf's refusal of an endpoint path. The job's stdout and
//! stderr and the failure markers (both schemas') are read, each only its last
//! [`LOG_TAIL_BYTES`]: a failed load generator prints its error just before it exits.

use std::path::Path;

use crate::render::{CURRENT_FAILURE_MARKER, JOB_STDERR, JOB_STDOUT, SEED_FAILURE_MARKER};
use crate::results::read_suffix;

/// The most read of the end of one log file.
pub const LOG_TAIL_BYTES: u64 = 1 << 20;

/// aiperf (0.13) refuses an endpoint without a leading slash before sending anything, in a
/// pydantic "Value error" box on stderr.
pub const AIPERF_NO_SLASH: &str = "endpoint.path must start with a leading slash";

/// The files read, in order: the first one naming a status gives it.
const LOGS: [&str; 4] = [
    JOB_STDOUT,
    JOB_STDERR,
    SEED_FAILURE_MARKER,
    CURRENT_FAILURE_MARKER,
];

/// What the logs of the run in `run_dir` say; unreadable or missing files say nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFindings {
    /// The first HTTP 4xx status a log names (see [`http_client_error`]).
    pub http_status: Option<u16>,
    /// aiperf's refusal of the endpoint, when a log holds it.
    pub refusal: Option<&'static str>,
}

/// Scans the logs of the run in `run_dir`.
pub fn scan(run_dir: &Path) -> LogFindings {
    let mut found = LogFindings::default();
    for name in LOGS {
        let Ok(bytes) = read_suffix(&run_dir.join(name), LOG_TAIL_BYTES) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        if found.http_status.is_none() {
            found.http_status = http_client_error(&text);
        }
        if text.contains(AIPERF_NO_SLASH) {
            found.refusal = Some(AIPERF_NO_SLASH);
        }
    }
    found
}

/// The first HTTP 4xx status in `text`, as the load generators print it: perf_analyzer's
/// "OpenAI response returns HTTP code 404" (a 4xx word at most 24 characters after "HTTP" on
/// the same line), or "404 Not Found" / "400 Bad Request".
pub fn http_client_error(text: &str) -> Option<u16> {
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len()).find_map(|i| after_http(&chars, i).or_else(|| reason_phrase(&chars, i)))
}

/// A 4xx word within 24 characters (no newline) after "HTTP" starting at `i`.
fn after_http(chars: &[char], i: usize) -> Option<u16> {
    if !chars[i..].starts_with(&['H', 'T', 'T', 'P']) {
        return None;
    }
    let start = i + 4;
    (start..=start + 24)
        .take_while(|&j| j == start || chars.get(j - 1).is_some_and(|&c| c != '\n'))
        .find_map(|j| status_word(chars, j))
}

/// A 4xx word at `i` followed by " Not Found" or " Bad Request".
fn reason_phrase(chars: &[char], i: usize) -> Option<u16> {
    let code = status_word(chars, i)?;
    let rest: String = chars[i + 3..].iter().take(12).collect();
    (rest.starts_with(" Not Found") || rest.starts_with(" Bad Request")).then_some(code)
}

/// The 4xx status spelled by the word of three digits starting at `i`.
fn status_word(chars: &[char], i: usize) -> Option<u16> {
    let digits = chars.get(i..i + 3)?;
    let is_word = |c: &char| c.is_alphanumeric() || *c == '_';
    let bounded = (i == 0 || !is_word(&chars[i - 1])) && !chars.get(i + 3).is_some_and(is_word);
    if digits[0] != '4' || !digits.iter().all(char::is_ascii_digit) || !bounded {
        return None;
    }
    digits.iter().collect::<String>().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::http_client_error;

    #[test]
    fn the_load_generators_spellings_of_a_client_error() {
        // perf_analyzer's own message (its binary holds "OpenAI response returns HTTP code ").
        let pa = "Thread [0] had error: OpenAI response returns HTTP code 404\n";
        assert_eq!(http_client_error(pa), Some(404));
        assert_eq!(http_client_error("got 422 Bad Request"), Some(422));
        assert_eq!(http_client_error("got 400 Bad Request!"), Some(400));
        assert_eq!(http_client_error("status: 404 Not Found"), Some(404));
        assert_eq!(http_client_error("HTTP/1.1 404 Not Found"), Some(404));
        // The first status in the text wins, whichever spelling.
        assert_eq!(
            http_client_error("400 Bad Request, then HTTP 404"),
            Some(400)
        );
        // Not a 4xx, not a word of its own, too far from "HTTP" or past its line.
        assert_eq!(http_client_error("HTTP code 500"), None);
        assert_eq!(http_client_error("HTTP code 4040"), None);
        assert_eq!(http_client_error("HTTP code x404"), None);
        // 24 characters between "HTTP" and the status at most: a space, 22 digits, a space.
        let digits = "1".repeat(22);
        assert_eq!(http_client_error(&format!("HTTP {digits} 404")), Some(404));
        assert_eq!(http_client_error(&format!("HTTP {digits}1 404")), None);
        assert_eq!(http_client_error("HTTP\n404"), None);
        assert_eq!(http_client_error("took 404 ms"), None);
        assert_eq!(http_client_error("HT TP 404"), None);
    }
}
