//! The load generator's command line: only the flags the user set, each value one argument.

use crate::config::{LoadArgs, LoadGenerator, TestDefinition};

/// Default commands, run through `bash -c` so that users can override them with a path or a
/// wrapper (`/opt/stack/bin/genai-perf profile`).
pub fn default_cmd(lg: &LoadGenerator) -> &'static str {
    match lg {
        LoadGenerator::GenaiPerf(_) => "genai-perf profile",
        LoadGenerator::Aiperf(_) => "aiperf profile",
    }
}

/// Arguments after the command. `frontend_url` is a shell word (it may reference the
/// `CLOUDAIX_FRONTEND_HOST` variable set on the node), every other item is literal data.
pub fn args(test: &TestDefinition, artifact_dir: &str) -> Vec<Arg> {
    let lg = &test.cmd_args.load_generator;
    let a: &LoadArgs = lg.args();
    // The frontend's port as the node sees it (the standalone scheduler moves it); a port of
    // the user's own that differs from the frontend's stays as written.
    let url = match a.port {
        Some(p) if p != test.cmd_args.dynamo.frontend.port => {
            format!("http://${{CLOUDAIX_FRONTEND_HOST}}:{p}")
        }
        _ => "http://${CLOUDAIX_FRONTEND_HOST}:${CLOUDAIX_FRONTEND_PORT}".to_string(),
    };
    let mut v = vec![
        Arg::lit(if matches!(lg, LoadGenerator::GenaiPerf(_)) {
            "-m"
        } else {
            "--model"
        }),
        Arg::lit(&test.cmd_args.served_model_name),
        Arg::lit("--url"),
        Arg::Expand(url),
    ];
    let mut opt = |flag: &str, value: Option<String>| {
        if let Some(x) = value {
            v.push(Arg::lit(flag));
            v.push(Arg::Lit(x));
        }
    };
    opt("--endpoint-type", a.endpoint_type.clone());
    opt("--endpoint", a.endpoint.clone());
    opt("--input-file", a.input_file.clone());
    opt("--tokenizer", a.tokenizer.clone());
    opt(
        "--synthetic-input-tokens-mean",
        a.synthetic_input_tokens_mean.map(|x| x.to_string()),
    );
    opt(
        "--synthetic-input-tokens-stddev",
        a.synthetic_input_tokens_stddev.map(|x| x.to_string()),
    );
    opt(
        "--output-tokens-mean",
        a.output_tokens_mean.map(|x| x.to_string()),
    );
    opt(
        "--output-tokens-stddev",
        a.output_tokens_stddev.map(|x| x.to_string()),
    );
    opt("--random-seed", a.random_seed.map(|x| x.to_string()));
    opt("--request-count", a.request_count.map(|x| x.to_string()));
    opt(
        "--warmup-request-count",
        a.warmup_request_count.map(|x| x.to_string()),
    );
    opt(
        "--concurrency",
        a.concurrency.as_ref().map(|c| c.value().to_string()),
    );
    opt(
        "--request-rate",
        a.request_rate.as_ref().map(|r| r.value().to_string()),
    );
    if a.streaming {
        v.push(Arg::lit("--streaming"));
    }
    for x in &a.extra_inputs {
        v.push(Arg::lit("--extra-inputs"));
        v.push(Arg::lit(x));
    }
    match lg {
        LoadGenerator::GenaiPerf(_) => {
            // `profile.json` makes genai-perf name its CSV `profile_genai_perf.csv`.
            v.extend(
                [
                    "--profile-export-file",
                    "profile.json",
                    "--artifact-dir",
                    artifact_dir,
                ]
                .map(Arg::lit),
            );
        }
        LoadGenerator::Aiperf(_) => {
            v.extend(["--artifact-dir", artifact_dir, "--ui-type", "simple"].map(Arg::lit));
        }
    }
    v.extend(a.extra_args.iter().map(|x| Arg::lit(x)));
    // genai-perf hands everything after its first `--` to perf_analyzer.
    if !a.perf_analyzer_args.is_empty() {
        if !a.extra_args.iter().any(|x| x == "--") {
            v.push(Arg::lit("--"));
        }
        v.extend(a.perf_analyzer_args.iter().map(|x| Arg::lit(x)));
    }
    v
}

/// One command-line argument as it will be written into the script.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// Data: single-quoted, never expanded.
    Lit(String),
    /// Generated text that references the node's variables: double-quoted.
    Expand(String),
}

impl Arg {
    fn lit(s: &str) -> Arg {
        Arg::Lit(s.to_string())
    }

    pub fn to_shell(&self) -> String {
        match self {
            Arg::Lit(s) => super::quote::sh(s),
            Arg::Expand(s) => format!("\"{s}\""),
        }
    }
}
