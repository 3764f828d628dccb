//! JSON exports: genai-perf `*_genai_perf.json` and aiperf `profile_export_aiperf.json`.
//!
//! Both are one object keyed by metric tag, each metric `{"unit": ..., "avg": ..., ...}`;
//! aiperf 0.1.x wraps them in `records`. GPU telemetry sits in `telemetry_stats`
//! (genai-perf) or `telemetry_data.endpoints` (aiperf).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::ResultsError;
use super::metric::{Attributes, Metric, Stats};
use super::{Table, TableKind};

/// Tables of a JSON export plus the tool version it declares, if any.
pub(crate) struct Parsed {
    pub(crate) tables: Vec<Table>,
    pub(crate) version: Option<String>,
    pub(crate) aiperf_like: bool,
    pub(crate) genai_perf_like: bool,
}

/// Parses a JSON export (`text` already stripped of its BOM).
pub(crate) fn parse(text: &str, path: &Path) -> Result<Parsed, ResultsError> {
    let root = match serde_json::from_str::<Node>(text) {
        Ok(node) => node,
        // genai-perf's `json.dumps` writes bare NaN/Infinity; retry only then, so the common
        // case pays nothing and error positions refer to the original text.
        Err(first) => match replace_non_finite(text) {
            Some(fixed) => {
                serde_json::from_str::<Node>(&fixed).map_err(|_| json_error(first, path))?
            }
            None => return Err(json_error(first, path)),
        },
    };
    let Node::Obj(top) = root else {
        return Err(ResultsError::JsonShape {
            path: path.to_owned(),
            found: root.kind(),
        });
    };

    let mut request = Vec::new();
    let mut system = Vec::new();
    let mut gpu = Vec::new();
    let mut version = None;
    let mut aiperf_like = false;
    let mut genai_perf_like = false;
    for (key, value) in &top {
        match (key.as_str(), value) {
            ("records", Node::Obj(records)) => {
                aiperf_like = true;
                for (tag, m) in records {
                    classify(tag, m, &mut request, &mut system);
                }
            }
            ("telemetry_stats", Node::Obj(t)) => {
                genai_perf_like = true;
                genai_perf_telemetry(t, &mut gpu);
            }
            ("telemetry_data", Node::Obj(t)) => {
                aiperf_like = true;
                aiperf_telemetry(t, &mut gpu);
            }
            ("aiperf_version", Node::Str(v)) => {
                aiperf_like = true;
                version = Some(v.clone());
            }
            ("schema_version" | "benchmark_id" | "run_info", _) => aiperf_like = true,
            _ => classify(key, value, &mut request, &mut system),
        }
    }
    if let Some(Node::Obj(cfg)) = top
        .iter()
        .find(|(k, _)| k == "input_config")
        .map(|(_, v)| v)
    {
        genai_perf_like |= cfg.iter().any(|(k, _)| k == "model_names" || k == "model");
    }

    let mut tables = Vec::new();
    for (kind, metrics) in [
        (TableKind::Request, request),
        (TableKind::System, system),
        (TableKind::GpuTelemetry, gpu),
    ] {
        if !metrics.is_empty() {
            tables.push(Table {
                kind,
                line: 0,
                columns: Vec::new(),
                metrics,
            });
        }
    }
    Ok(Parsed {
        tables,
        version,
        aiperf_like,
        genai_perf_like,
    })
}

fn json_error(e: serde_json::Error, path: &Path) -> ResultsError {
    ResultsError::Json {
        path: path.to_owned(),
        line: e.line().max(1),
        col: e.column().max(1),
        message: e.to_string(),
    }
}

/// Adds `value` as a metric if it looks like one (an object with a string `unit`):
/// distributions (with percentiles or `std`) go to `request`, scalars to `system`; `min`/`max`
/// alone do not count because aiperf's Rust runtime adds them to scalars.
fn classify(tag: &str, value: &Node, request: &mut Vec<Metric>, system: &mut Vec<Metric>) {
    let Some(metric) = metric_from(tag, value) else {
        return;
    };
    let distribution = metric
        .stats
        .iter()
        .any(|(k, v)| v.is_some() && (k.starts_with('p') || k == "std"));
    if distribution {
        request.push(metric);
    } else {
        system.push(metric);
    }
}

/// `{"unit": ..., "avg": ..., "tag"?, "header"?}` → metric named by `header` if present.
fn metric_from(tag: &str, value: &Node) -> Option<Metric> {
    let Node::Obj(fields) = value else {
        return None;
    };
    let mut unit = None;
    let mut header = None;
    let mut names = Vec::new();
    let mut values = Vec::new();
    for (k, v) in fields {
        match (k.as_str(), v) {
            ("unit", Node::Str(u)) => unit = Some(u),
            ("header", Node::Str(h)) => header = Some(h.clone()),
            (_, Node::Num(x)) => {
                names.push(k.clone());
                values.push((!x.is_nan()).then_some(*x));
            }
            (_, Node::Null) => {
                names.push(k.clone());
                values.push(None);
            }
            _ => {}
        }
    }
    let unit = unit?;
    if names.is_empty() {
        return None;
    }
    Some(Metric {
        label: tag.to_owned(),
        name: header.unwrap_or_else(|| tag.to_owned()),
        unit: (!unit.is_empty()).then(|| unit.clone()),
        attributes: Attributes::empty(),
        stats: Stats::new(Arc::from(names), values),
    })
}

/// `{metric: {"unit": u, "gpu0": {stats}, ...}}`.
fn genai_perf_telemetry(t: &[(String, Node)], out: &mut Vec<Metric>) {
    let gpu_key: Arc<[String]> = Arc::from(vec!["GPU".to_owned()]);
    for (tag, m) in t {
        let Node::Obj(fields) = m else { continue };
        let unit = fields.iter().find_map(|(k, v)| match (k.as_str(), v) {
            ("unit", Node::Str(u)) => Some(u.clone()),
            _ => None,
        });
        for (gpu, stats) in fields {
            let Node::Obj(stats) = stats else { continue };
            let mut with_unit = stats.clone();
            with_unit.push((
                "unit".to_owned(),
                Node::Str(unit.clone().unwrap_or_default()),
            ));
            if let Some(mut metric) = metric_from(tag, &Node::Obj(with_unit)) {
                metric.attributes = Attributes::new(gpu_key.clone(), vec![gpu.clone()]);
                out.push(metric);
            }
        }
    }
}

/// `{endpoints: {url: {gpus: {key: {gpu_index, gpu_name, ..., metrics: {tag: {...}}}}}}}`.
fn aiperf_telemetry(t: &[(String, Node)], out: &mut Vec<Metric>) {
    let Some(Node::Obj(endpoints)) = field(t, "endpoints") else {
        return;
    };
    for (url, endpoint) in endpoints {
        let Node::Obj(endpoint) = endpoint else {
            continue;
        };
        let Some(Node::Obj(gpus)) = field(endpoint, "gpus") else {
            continue;
        };
        for (gpu_key, gpu) in gpus {
            let Node::Obj(gpu) = gpu else { continue };
            let mut names = vec!["Endpoint".to_owned(), "GPU".to_owned()];
            let mut values = vec![url.clone(), gpu_key.clone()];
            for (k, v) in gpu {
                let text = match v {
                    Node::Str(s) => s.clone(),
                    Node::Num(x) => x.to_string(),
                    _ => continue,
                };
                names.push(k.clone());
                values.push(text);
            }
            let attrs = Attributes::new(Arc::from(names), values);
            let Some(Node::Obj(metrics)) = field(gpu, "metrics") else {
                continue;
            };
            for (tag, m) in metrics {
                if let Some(mut metric) = metric_from(tag, m) {
                    metric.attributes = attrs.clone();
                    out.push(metric);
                }
            }
        }
    }
}

fn field<'a>(obj: &'a [(String, Node)], name: &str) -> Option<&'a Node> {
    obj.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// JSON value that keeps object keys in document order.
///
/// `serde_json::Value` sorts keys unless the `preserve_order` feature is on; the order of
/// metrics and statistics is part of what users see, so this keeps it without that feature.
/// Arrays are skipped: no metric lives in one.
#[derive(Debug, Clone)]
enum Node {
    Null,
    Num(f64),
    Str(String),
    Obj(Vec<(String, Node)>),
    Other,
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Num(_) => "a number",
            Node::Str(_) => "a string",
            Node::Obj(_) => "an object",
            Node::Other => "an array or boolean",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Other)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Num(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Num(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Num(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Node::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Node>()? {
            entries.push((k, v));
        }
        Ok(Node::Obj(entries))
    }
}

/// Replaces the bare tokens `NaN`, `Infinity` and `-Infinity` outside strings by `null`;
/// `None` if there are none.
fn replace_non_finite(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut changed = false;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| bytes[i..].starts_with(t.as_bytes()));
        if let Some(t) = token {
            out.push_str(&text[copied..i]);
            out.push_str("null");
            i += t.len();
            copied = i;
            changed = true;
        } else {
            i += 1;
        }
    }
    changed.then(|| {
        out.push_str(&text[copied..]);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_tokens() {
        assert_eq!(
            replace_non_finite(r#"{"a": NaN, "b": -Infinity, "c": "NaN", "d": Infinity}"#)
                .as_deref(),
            Some(r#"{"a": null, "b": null, "c": "NaN", "d": null}"#)
        );
        assert_eq!(replace_non_finite(r#"{"a": 1}"#), None);
    }

    #[test]
    fn lenient_nan() {
        let p = parse(
            r#"{"request_latency": {"unit": "ms", "avg": NaN, "p50": 2.0}}"#,
            Path::new("x.json"),
        )
        .unwrap();
        let m = &p.tables[0].metrics[0];
        assert_eq!(m.stat("avg"), None);
        assert_eq!(m.stat("p50"), Some(2.0));
    }
}
