//! Whether a run's requests succeeded, from the counts its export holds.
//!
//! aiperf counts valid requests in `Request Count` and failed ones in `Error Request Count`
//! (its `RequestCountMetric` and `ErrorRequestCountMetric`); a run whose requests all failed
//! still writes an export, with throughputs that measure nothing. genai-perf has no error
//! count, so its runs are never judged here.

use std::path::Path;

use serde::Serialize;

use super::{Query, ResultsError, lookup_many};

/// The verdict on a run's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestVerdict {
    /// No request failed (or the tool does not count failures).
    Ok,
    /// Some requests failed: the figures are real but cover fewer requests than asked.
    Flagged,
    /// Every request failed: the run measured nothing.
    Failed,
}

/// Request counts of a run and the verdict drawn from them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestOutcome {
    /// Successful requests (`Request Count`), if the export has the count.
    pub succeeded: Option<f64>,
    /// Failed requests (`Error Request Count`), if the export has the count.
    pub failed: Option<f64>,
    /// What the counts mean for the run.
    pub verdict: RequestVerdict,
    /// Why, for a flagged or failed run; empty otherwise.
    pub cause: String,
}

/// The labels of the two counts, as both tools' exports spell them (lookups also find
/// aiperf's JSON tags `request_count` and `error_request_count` by these names).
pub const SUCCEEDED_METRIC: &str = "Request Count";
/// See [`SUCCEEDED_METRIC`].
pub const FAILED_METRIC: &str = "Error Request Count";

/// The verdict for these counts: any failure flags the run, and a run with failures and no
/// successful request failed.
pub fn request_outcome(succeeded: Option<f64>, failed: Option<f64>) -> RequestOutcome {
    let count = |v: f64| {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v}")
        }
    };
    let (verdict, cause) = match (succeeded, failed) {
        (_, None) => (RequestVerdict::Ok, String::new()),
        (_, Some(f)) if f <= 0.0 => (RequestVerdict::Ok, String::new()),
        (ok, Some(f)) if ok.is_none_or(|ok| ok <= 0.0) => (
            RequestVerdict::Failed,
            format!(
                "all {} requests failed (Error Request Count {}, no successful request)",
                count(f),
                count(f)
            ),
        ),
        (ok, Some(f)) => {
            let ok = ok.unwrap_or(0.0);
            (
                RequestVerdict::Flagged,
                format!(
                    "{} of {} requests failed (Error Request Count)",
                    count(f),
                    count(ok + f)
                ),
            )
        }
    };
    RequestOutcome {
        succeeded,
        failed,
        verdict,
        cause,
    }
}

/// [`request_outcome`] of the export at `path`.
pub fn read_request_outcome(path: impl AsRef<Path>) -> Result<RequestOutcome, ResultsError> {
    let queries = [
        Query::new(SUCCEEDED_METRIC, None),
        Query::new(FAILED_METRIC, None),
    ];
    let answers = lookup_many(path, &queries)?;
    let value = |i: usize| answers.get(i).and_then(|a| a.as_ref().ok().copied());
    Ok(request_outcome(value(0), value(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(
            request_outcome(Some(40.0), None).verdict,
            RequestVerdict::Ok
        );
        assert_eq!(
            request_outcome(Some(40.0), Some(0.0)).verdict,
            RequestVerdict::Ok
        );
        let some = request_outcome(Some(15.0), Some(5.0));
        assert_eq!(some.verdict, RequestVerdict::Flagged);
        assert_eq!(some.cause, "5 of 20 requests failed (Error Request Count)");
        let all = request_outcome(None, Some(10.0));
        assert_eq!(all.verdict, RequestVerdict::Failed);
        assert_eq!(
            all.cause,
            "all 10 requests failed (Error Request Count 10, no successful request)"
        );
        assert_eq!(
            request_outcome(Some(0.0), Some(3.0)).verdict,
            RequestVerdict::Failed
        );
    }
}
