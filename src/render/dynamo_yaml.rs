//! `dynamo_config.yaml` in the seed's layout (CloudAI §4.4): one section per Dynamo service
//! (`Frontend`, `PrefillWorker`, `Processor`, `Router`, `VllmWorker`, sorted like PyYAML's
//! dump), dashed keys, `served_model_name`/`model` injected, node counts and ports left out.

use std::fmt::Write;

use crate::config::{ArgValue, TestDefinition, Worker};

enum Yaml {
    Scalar(ArgValue),
    Map(Vec<(String, Yaml)>),
}

fn s(v: &str) -> Yaml {
    Yaml::Scalar(ArgValue::Str(v.to_string()))
}
fn int(v: u32) -> Yaml {
    Yaml::Scalar(ArgValue::Int(i64::from(v)))
}
fn boolean(v: bool) -> Yaml {
    Yaml::Scalar(ArgValue::Bool(v))
}
fn float(v: f64) -> Yaml {
    Yaml::Scalar(ArgValue::Float(v))
}

fn worker_section(w: &Worker, model: &str) -> Vec<(String, Yaml)> {
    let mut m: Vec<(String, Yaml)> = vec![
        ("block-size".into(), int(w.block_size)),
        (
            "gpu-memory-utilization".into(),
            float(w.gpu_memory_utilization),
        ),
        ("kv-transfer-config".into(), s(&w.kv_transfer_config)),
        ("max-model-len".into(), int(w.max_model_len)),
        ("max-num-seqs".into(), int(w.max_num_seqs)),
        ("model".into(), s(model)),
        (
            "pipeline-parallel-size".into(),
            int(*w.pipeline_parallel_size.value()),
        ),
        (
            "tensor-parallel-size".into(),
            int(*w.tensor_parallel_size.value()),
        ),
    ];
    if let Some(q) = &w.quantization {
        m.push(("quantization".into(), s(q)));
    }
    if let Some(d) = &w.decode {
        m.push(("conditional-disagg".into(), boolean(d.conditional_disagg)));
        m.push((
            "enable-prefix-caching".into(),
            boolean(d.enable_prefix_caching),
        ));
        m.push((
            "max-local-prefill-length".into(),
            int(d.max_local_prefill_length),
        ));
        m.push((
            "max-prefill-queue-size".into(),
            int(d.max_prefill_queue_size),
        ));
        m.push(("remote-prefill".into(), boolean(d.remote_prefill)));
        m.push(("router".into(), s(&d.router)));
    }
    let resources = w
        .service_args
        .resources
        .iter()
        .map(|(k, v)| (k.clone(), s(v)))
        .collect();
    m.push((
        "ServiceArgs".into(),
        Yaml::Map(vec![
            ("resources".into(), Yaml::Map(resources)),
            ("workers".into(), int(w.service_args.workers)),
        ]),
    ));
    for (k, v) in &w.extra_args {
        let key = k.replace('_', "-");
        m.retain(|(existing, _)| *existing != key);
        m.push((key, Yaml::Scalar(v.clone())));
    }
    m.sort_by(|a, b| a.0.cmp(&b.0));
    m
}

/// Render the Dynamo service configuration of a (pinned) test.
pub fn render(test: &TestDefinition) -> String {
    let model = &test.cmd_args.served_model_name;
    let d = &test.cmd_args.dynamo;
    let doc = vec![
        (
            "Frontend".to_string(),
            Yaml::Map(vec![
                ("endpoint".into(), s(&d.frontend.endpoint)),
                ("port".into(), int(u32::from(d.frontend.port))),
                ("served_model_name".into(), s(model)),
            ]),
        ),
        (
            "PrefillWorker".into(),
            Yaml::Map(worker_section(&d.prefill_worker, model)),
        ),
        (
            "Processor".into(),
            Yaml::Map(vec![
                ("block-size".into(), int(d.processor.block_size)),
                ("max-model-len".into(), int(d.processor.max_model_len)),
                ("model".into(), s(model)),
                ("router".into(), s(&d.processor.router)),
            ]),
        ),
        (
            "Router".into(),
            Yaml::Map(vec![
                ("min-workers".into(), int(d.router.min_workers)),
                ("model".into(), s(model)),
            ]),
        ),
        (
            "VllmWorker".into(),
            Yaml::Map(worker_section(&d.decode_worker, model)),
        ),
    ];
    let mut out = String::with_capacity(2048);
    write_map(&mut out, &doc, 0);
    out
}

/// Written straight into `out`: one allocation per document, not one per line and scalar
/// (this ran once per sweep case and was a fifth of rendering one).
fn write_map(out: &mut String, entries: &[(String, Yaml)], indent: usize) {
    for (k, v) in entries {
        out.extend(std::iter::repeat_n(' ', indent));
        write_str_scalar(out, k);
        match v {
            Yaml::Map(inner) => {
                out.push_str(":\n");
                write_map(out, inner, indent + 2);
            }
            Yaml::Scalar(x) => {
                out.push_str(": ");
                write_scalar(out, x);
                out.push('\n');
            }
        }
    }
}

fn write_scalar(out: &mut String, v: &ArgValue) {
    let _ = match v {
        ArgValue::Bool(b) => write!(out, "{b}"),
        ArgValue::Int(i) => write!(out, "{i}"),
        ArgValue::Float(f) if f.is_finite() && f.fract() == 0.0 => write!(out, "{f:.1}"),
        ArgValue::Float(f) => write!(out, "{f}"),
        ArgValue::Str(s) => {
            write_str_scalar(out, s);
            Ok(())
        }
    };
}

/// Strings are emitted as JSON strings, which YAML reads as double-quoted scalars: no value
/// can be mistaken for a number, a boolean, a comment or more YAML.
fn write_str_scalar(out: &mut String, s: &str) {
    const WORDS: [&str; 9] = ["true", "false", "yes", "no", "on", "off", "null", "y", "n"];
    let plain = s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        && !WORDS.iter().any(|w| w.eq_ignore_ascii_case(s));
    if plain {
        out.push_str(s);
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_str(s: &str) -> String {
        let mut out = String::new();
        write_str_scalar(&mut out, s);
        out
    }

    #[test]
    fn strings_that_look_like_other_things_are_quoted() {
        assert_eq!(scalar_str("kv"), "kv");
        assert_eq!(scalar_str("true"), "\"true\"");
        assert_eq!(scalar_str("8"), "\"8\"");
        assert_eq!(scalar_str("a: b\n#c"), "\"a: b\\n#c\"");
    }
}
