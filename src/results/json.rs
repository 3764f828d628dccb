//! JSON exports: genai-perf `*_genai_perf.json` and aiperf `profile_export_aiperf.json`.
//!
//! Both are one object keyed by metric tag, each metric `{"unit": ..., "avg": ..., ...}`;
//! aiperf 0.1.x wraps them in `records`. GPU telemetry sits in `telemetry_stats`
//! (genai-perf) or `telemetry_data.endpoints` (aiperf).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::check::{self, Verdict};
use super::csv::shorten;
use super::error::ResultsError;
use super::metric::{Attributes, Metric, Stats};
use super::position::line_col;
use super::{Table, TableKind};

/// Tables of a JSON export plus the tool version it declares, if any.
pub(crate) struct Parsed {
    pub(crate) tables: Vec<Table>,
    pub(crate) version: Option<String>,
    pub(crate) aiperf_like: bool,
    pub(crate) genai_perf_like: bool,
}

/// Parses a JSON export (`text` already stripped of its BOM).
///
/// Streamed: no tree of the document is built. A metric's object is read into one short
/// list of its fields (keys and strings borrowed from the text), made a metric and dropped;
/// entries that hold no metric are only checked (syntax, duplicate keys); only GPU
/// telemetry, whose unit may follow its GPUs, is read as a tree, one entry at a time. So
/// the peak is the text and the metrics (`benches/memory.rs`; a tree of the whole document
/// took 6-7x the file). The outcome is that of reading the whole tree first: a syntax error
/// anywhere wins, then the first duplicate key (in document order, a key before its
/// value's keys), then the document's shape, then the first bad metric.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Parsed, ResultsError> {
    let cx = Context {
        text,
        path,
        base: text.as_ptr() as usize,
        replaced: Vec::new(),
        names: RefCell::new(Vec::new()),
    };
    let first = match read_entries(text, &cx) {
        Ok(parsed) => return parsed,
        Err(first) => first,
    };
    // genai-perf's `json.dumps` writes bare NaN/Infinity; retry only then, so the common
    // case pays nothing and error positions refer to the original text.
    let mut replaced = Vec::new();
    let Some(fixed) = replace_non_finite(text, &mut replaced) else {
        return Err(json_error(first, path));
    };
    let cx = Context {
        text,
        path,
        base: fixed.as_ptr() as usize,
        replaced,
        names: RefCell::new(Vec::new()),
    };
    read_entries(&fixed, &cx).unwrap_or_else(|_| Err(json_error(first, path)))
}

/// The export in `parsed` (the text or its rewrite, `cx.base`), entry by entry; `Err` is a
/// syntax error, `Ok(Err)` any other.
fn read_entries(
    parsed: &str,
    cx: &Context<'_>,
) -> Result<Result<Parsed, ResultsError>, serde_json::Error> {
    use serde::Deserializer as _;
    let mut entries = Entries {
        cx,
        duplicate: None,
        failed: None,
        request: Vec::new(),
        system: Vec::new(),
        gpu: Vec::new(),
        version: None,
        aiperf_like: false,
        genai_perf_like: false,
    };
    // As `serde_json::from_str` reads: the value, then nothing but whitespace after it.
    let mut de = serde_json::Deserializer::from_str(parsed);
    let root = (&mut de).deserialize_any(TopVisitor(&mut entries))?;
    de.end()?;
    Ok(entries.finish(root))
}

/// What the entries read so far gave.
struct Entries<'c, 'a> {
    cx: &'c Context<'a>,
    /// The first duplicate key: once found, the rest is only parsed (a syntax error wins).
    duplicate: Option<ResultsError>,
    /// The first bad metric: once found, the rest is only checked for duplicates.
    failed: Option<ResultsError>,
    request: Vec<Metric>,
    system: Vec<Metric>,
    gpu: Vec<Metric>,
    version: Option<String>,
    aiperf_like: bool,
    genai_perf_like: bool,
}

impl Entries<'_, '_> {
    /// Whether metrics are still made: no duplicate key and no bad metric so far.
    fn open(&self) -> bool {
        self.duplicate.is_none() && self.failed.is_none()
    }

    /// One top-level entry, once its value is read (its keys checked, `records` already
    /// made into metrics): its metrics.
    fn entry(&mut self, key: &Key<'_>, value: &JsonNode<'_>) {
        if !self.open() {
            return;
        }
        if let Err(e) = self.metrics(key, value) {
            self.failed = Some(e);
        }
    }

    fn metrics(&mut self, key: &Key<'_>, value: &JsonNode<'_>) -> Result<(), ResultsError> {
        let cx = self.cx;
        match (key.name.as_ref(), value) {
            ("records", JsonNode::Obj(_)) => self.aiperf_like = true,
            ("telemetry_stats", JsonNode::Obj(t)) => {
                self.genai_perf_like = true;
                cx.genai_perf_telemetry(t, &mut self.gpu)?;
            }
            ("telemetry_data", JsonNode::Obj(t)) => {
                self.aiperf_like = true;
                cx.aiperf_telemetry(t, &mut self.gpu)?;
            }
            ("aiperf_version", JsonNode::Str(v)) => {
                self.aiperf_like = true;
                self.version = Some(v.to_string());
            }
            ("schema_version" | "benchmark_id" | "run_info", _) => self.aiperf_like = true,
            _ => self.classify(key, value)?,
        }
        if let ("input_config", JsonNode::Obj(cfg)) = (key.name.as_ref(), value) {
            self.genai_perf_like |= cfg
                .iter()
                .any(|(k, _)| k.name == "model_names" || k.name == "model");
        }
        Ok(())
    }

    fn classify(&mut self, tag: &Key<'_>, value: &JsonNode<'_>) -> Result<(), ResultsError> {
        self.cx
            .classify(tag, value, &mut self.request, &mut self.system)
    }

    /// `key` in an object whose keys so far are `seen`: records the first duplicate.
    fn check_key<'de>(&mut self, seen: &mut HashMap<Cow<'de, str>, Option<usize>>, key: &Key<'de>) {
        if let Some(first) = seen.get(key.name.as_ref()) {
            self.duplicate = Some(self.cx.duplicate_key(key, *first));
        } else {
            seen.insert(key.name.clone(), key.at());
        }
    }

    /// The outcome, once the whole text is read: `root` is the kind of a top-level value
    /// that is not an object.
    fn finish(self, root: Option<&'static str>) -> Result<Parsed, ResultsError> {
        if let Some(e) = self.duplicate {
            return Err(e);
        }
        if let Some(found) = root {
            return Err(ResultsError::JsonShape {
                path: self.cx.path.to_owned(),
                found,
            });
        }
        if let Some(e) = self.failed {
            return Err(e);
        }
        let mut tables = Vec::new();
        for (kind, metrics) in [
            (TableKind::Request, self.request),
            (TableKind::System, self.system),
            (TableKind::GpuTelemetry, self.gpu),
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
            version: self.version,
            aiperf_like: self.aiperf_like,
            genai_perf_like: self.genai_perf_like,
        })
    }
}

/// The top-level value: an object's entries read one at a time, each as its key says
/// ([`Mode::of`]); any other value's kind, for the shape error.
struct TopVisitor<'e, 'c, 'a>(&'e mut Entries<'c, 'a>);

impl<'de> Visitor<'de> for TopVisitor<'_, '_, '_> {
    type Value = Option<&'static str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let entries = self.0;
        let mut seen = HashMap::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if entries.duplicate.is_none() {
                entries.check_key(&mut seen, &key);
            }
            // Once a key is duplicated, values are still read as strings, not skipped:
            // serde_json places some syntax errors differently when it skips a string.
            let mode = match entries.duplicate {
                None => Mode::of(&key.name),
                Some(_) => Mode::Skip,
            };
            let seed = Value {
                entries: &mut *entries,
                mode,
            };
            let value = map.next_value_seed(seed)?;
            entries.entry(&key, &value);
        }
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Some(JsonNode::Array.kind()))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Some(JsonNode::Null.kind()))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Some(JsonNode::Null.kind()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Some(JsonNode::Bool(false).kind()))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Some(JsonNode::Num(0.0).kind()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Some(JsonNode::Num(0.0).kind()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Some(JsonNode::Num(0.0).kind()))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Some(JsonNode::Str(Cow::Borrowed("")).kind()))
    }
}

/// How much of an object value is kept while it is read; every object's keys are checked
/// for duplicates as they are read, whatever the mode.
#[derive(Clone, Copy)]
enum Mode {
    /// Nothing: an empty [`JsonNode::Obj`] stands for it.
    Skip,
    /// Its own entries, each value as `Skip` keeps it: a metric's fields.
    Fields,
    /// aiperf 0.1.x's `records`: each entry read as `Fields` and made a metric at once.
    Records,
    /// The whole tree, checked once read: GPU telemetry.
    Tree,
}

impl Mode {
    /// The mode of a top-level entry's value: what [`Entries::metrics`] reads of it.
    fn of(key: &str) -> Mode {
        match key {
            "records" => Mode::Records,
            "telemetry_stats" | "telemetry_data" => Mode::Tree,
            "schema_version" | "benchmark_id" | "run_info" => Mode::Skip,
            _ => Mode::Fields,
        }
    }
}

/// One value read as its [`Mode`] says; scalars are kept whatever the mode.
struct Value<'e, 'c, 'a> {
    entries: &'e mut Entries<'c, 'a>,
    mode: Mode,
}

impl<'de> DeserializeSeed<'de> for Value<'_, '_, '_> {
    type Value = JsonNode<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<JsonNode<'de>, D::Error> {
        if let Mode::Tree = self.mode {
            let node = JsonNode::deserialize(d)?;
            let entries = self.entries;
            if entries.duplicate.is_none()
                && let Err(e) = entries.cx.check_duplicates(&node)
            {
                entries.duplicate = Some(e);
            }
            return Ok(node);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value<'_, '_, '_> {
    type Value = JsonNode<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonNode<'de>, A::Error> {
        let entries = self.entries;
        let mut seen = HashMap::new();
        let mut fields = Vec::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if entries.duplicate.is_none() {
                entries.check_key(&mut seen, &key);
            }
            let mode = match (self.mode, &entries.duplicate) {
                (Mode::Records, None) => Mode::Fields,
                _ => Mode::Skip,
            };
            let seed = Value {
                entries: &mut *entries,
                mode,
            };
            let value = map.next_value_seed(seed)?;
            match self.mode {
                Mode::Fields if entries.duplicate.is_none() => fields.push((key, value)),
                Mode::Records if entries.open() => {
                    if let Err(e) = entries.classify(&key, &value) {
                        entries.failed = Some(e);
                    }
                }
                _ => {}
            }
        }
        Ok(JsonNode::Obj(fields))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<JsonNode<'de>, A::Error> {
        JsonNodeVisitor.visit_seq(seq)
    }
    fn visit_unit<E>(self) -> Result<JsonNode<'de>, E> {
        Ok(JsonNode::Null)
    }
    fn visit_none<E>(self) -> Result<JsonNode<'de>, E> {
        Ok(JsonNode::Null)
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<JsonNode<'de>, E> {
        JsonNodeVisitor.visit_bool(v)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<JsonNode<'de>, E> {
        JsonNodeVisitor.visit_i64(v)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<JsonNode<'de>, E> {
        JsonNodeVisitor.visit_u64(v)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<JsonNode<'de>, E> {
        JsonNodeVisitor.visit_f64(v)
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<JsonNode<'de>, E> {
        JsonNodeVisitor.visit_borrowed_str(v)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<JsonNode<'de>, E> {
        JsonNodeVisitor.visit_str(v)
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<JsonNode<'de>, E> {
        JsonNodeVisitor.visit_string(v)
    }
}

fn json_error(e: serde_json::Error, path: &Path) -> ResultsError {
    ResultsError::Json {
        path: path.to_owned(),
        line: e.line().max(1),
        col: e.column().max(1),
        message: e.to_string(),
    }
}

/// A bare non-JSON token the writers emit, rewritten before parsing (see
/// [`replace_non_finite`]).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    NaN,
    Infinity,
    NegInfinity,
}

/// What positions and checks need: the original text, the address the parsed text starts
/// at (borrowed keys and strings point into it), and the tokens rewritten.
struct Context<'a> {
    text: &'a str,
    path: &'a Path,
    base: usize,
    /// Byte offset of each rewritten token's string content, in order.
    replaced: Vec<(usize, Token)>,
    /// The statistics' names of the last metrics made, shared by the next metric with the
    /// same names (aiperf's metrics mostly have one of a few lists): a metric then holds its
    /// values, not a copy of the names.
    names: RefCell<Vec<Arc<[String]>>>,
}

/// How many recent name lists [`Context::names`] keeps.
const NAME_LISTS: usize = 8;

impl Context<'_> {
    /// Byte offset of borrowed text at `addr` (the rewritten text has the same length).
    fn offset(&self, addr: Option<usize>) -> usize {
        addr.map_or(0, |a| a.saturating_sub(self.base))
    }

    /// Line and column of a key at `at`: its opening quote.
    fn key_position(&self, at: Option<usize>) -> (usize, usize) {
        let offset = self.offset(at).saturating_sub(1);
        line_col(self.text.as_bytes(), offset)
    }

    /// The token a string stands for, if it was written as a bare NaN/Infinity.
    fn token(&self, at: Option<usize>) -> Option<Token> {
        let offset = self.offset(Some(at?));
        self.replaced
            .binary_search_by_key(&offset, |(o, _)| *o)
            .ok()
            .map(|i| self.replaced[i].1)
    }

    /// `names` as an `Arc`, shared with an earlier metric's when equal.
    fn intern(&self, names: &[&str]) -> Arc<[String]> {
        let mut lists = self.names.borrow_mut();
        if let Some(list) = lists
            .iter()
            .find(|l| l.len() == names.len() && l.iter().zip(names).all(|(a, b)| a == b))
        {
            return list.clone();
        }
        let list: Arc<[String]> = names.iter().map(|n| (*n).to_owned()).collect();
        if lists.len() == NAME_LISTS {
            lists.remove(0);
        }
        lists.push(list.clone());
        list
    }

    /// Refuses any object with a key twice (JSON parsers disagree on which copy wins).
    fn check_duplicates(&self, node: &JsonNode<'_>) -> Result<(), ResultsError> {
        let JsonNode::Obj(entries) = node else {
            return Ok(());
        };
        let mut seen: HashMap<&str, &Key> = HashMap::with_capacity(entries.len());
        for (key, value) in entries {
            if let Some(first) = seen.insert(&key.name, key) {
                return Err(self.duplicate_key(key, first.at()));
            }
            self.check_duplicates(value)?;
        }
        Ok(())
    }

    /// `key` written again after a first one at `first`, in the same object.
    fn duplicate_key(&self, key: &Key<'_>, first: Option<usize>) -> ResultsError {
        let (line, col) = self.key_position(key.at());
        ResultsError::Duplicate {
            path: self.path.to_owned(),
            line,
            col,
            what: "JSON key",
            name: shorten(&key.name),
            first_line: self.key_position(first).0,
        }
    }

    /// Adds `value` as a metric if it is one (an object with a `unit`): distributions (with
    /// percentiles or `std`) go to `request`, scalars to `system`; `min`/`max` alone do not
    /// count because aiperf's Rust runtime adds them to scalars.
    fn classify(
        &self,
        tag: &Key<'_>,
        value: &JsonNode<'_>,
        request: &mut Vec<Metric>,
        system: &mut Vec<Metric>,
    ) -> Result<(), ResultsError> {
        let Some(metric) = self.metric_from(tag, value, &[])? else {
            return Ok(());
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
        Ok(())
    }

    /// `{"unit": ..., "avg": ..., "tag"?, "header"?}` → metric named by `header` if present;
    /// `extra` are more fields of the same metric (genai-perf telemetry keeps `unit` one
    /// level up). `None` for an object without a `unit`, which is no metric; a metric field
    /// of the wrong type, an impossible value or an unknown unit is an error at its key.
    fn metric_from(
        &self,
        tag: &Key<'_>,
        value: &JsonNode<'_>,
        extra: &[(Key<'_>, JsonNode<'_>)],
    ) -> Result<Option<Metric>, ResultsError> {
        let JsonNode::Obj(fields) = value else {
            return Ok(None);
        };
        let fields = || fields.iter().chain(extra);
        if !fields().any(|(k, _)| k.name == "unit") {
            return Ok(None);
        }
        let mut unit = None;
        let mut header = None;
        let mut names = Vec::new();
        let mut values = Vec::new();
        let mut keys = Vec::new();
        for (k, v) in fields() {
            match (k.name.as_ref(), v) {
                ("unit", JsonNode::Str(u)) => unit = Some(u.as_ref()),
                ("header", JsonNode::Str(h)) => header = Some(h.to_string()),
                ("tag", JsonNode::Str(..)) => {}
                ("unit" | "header" | "tag", other) => {
                    return Err(self.wrong_type(tag, k, "a string", other));
                }
                (_, JsonNode::Num(x)) => {
                    names.push(k.name.as_ref());
                    values.push((!x.is_nan()).then_some(*x));
                    keys.push(k);
                }
                (_, JsonNode::Null) => {
                    names.push(k.name.as_ref());
                    values.push(None);
                    keys.push(k);
                }
                (_, s @ JsonNode::Str(_)) if self.token(s.at()) == Some(Token::NaN) => {
                    names.push(k.name.as_ref());
                    values.push(None);
                    keys.push(k);
                }
                (_, s @ JsonNode::Str(_)) if self.token(s.at()).is_some() => {
                    let infinity = match self.token(s.at()) {
                        Some(Token::NegInfinity) => f64::NEG_INFINITY,
                        _ => f64::INFINITY,
                    };
                    names.push(k.name.as_ref());
                    values.push(Some(infinity));
                    keys.push(k);
                }
                (_, other) => return Err(self.wrong_type(tag, k, "a number or null", other)),
            }
        }
        let unit = unit.filter(|u| !u.is_empty());
        if names.is_empty() {
            return Ok(None);
        }
        let name = header.unwrap_or_else(|| tag.name.to_string());
        for (value, key) in values.iter_mut().zip(&keys) {
            let Some(v) = *value else { continue };
            match check::judge(v, || check::non_negative(&name, unit)) {
                Verdict::Fine => {}
                Verdict::Missing => *value = None,
                Verdict::Impossible(expected) => {
                    let (line, col) = self.key_position(key.at());
                    let found = match v {
                        f64::INFINITY => "Infinity".to_owned(),
                        f64::NEG_INFINITY => "-Infinity".to_owned(),
                        v => v.to_string(),
                    };
                    return Err(ResultsError::BadValue {
                        path: self.path.to_owned(),
                        line,
                        col,
                        what: format!("`{}` field `{}`", shorten(&tag.name), shorten(&key.name)),
                        found,
                        expected,
                    });
                }
            }
        }
        let metric = Metric {
            label: tag.name.to_string(),
            name,
            unit: unit.map(str::to_owned),
            attributes: Attributes::empty(),
            stats: Stats::new(self.intern(&names), values),
        };
        if let Some(expected) = check::unit_problem(&metric) {
            let (line, col) = self.key_position(tag.at());
            return Err(ResultsError::UnknownUnit {
                path: self.path.to_owned(),
                line,
                col,
                metric: shorten(&tag.name),
                found: check::describe_unit(metric.unit.as_deref().map(shorten).as_deref()),
                expected,
            });
        }
        Ok(Some(metric))
    }

    fn wrong_type(
        &self,
        tag: &Key<'_>,
        key: &Key<'_>,
        expected: &'static str,
        found: &JsonNode<'_>,
    ) -> ResultsError {
        let (line, col) = self.key_position(key.at());
        ResultsError::WrongType {
            path: self.path.to_owned(),
            line,
            col,
            what: format!("`{}` field `{}`", shorten(&tag.name), shorten(&key.name)),
            expected,
            found: found.describe(),
        }
    }

    /// `{metric: {"unit": u, "gpu0": {stats}, ...}}`.
    fn genai_perf_telemetry(
        &self,
        t: &[(Key<'_>, JsonNode<'_>)],
        out: &mut Vec<Metric>,
    ) -> Result<(), ResultsError> {
        let gpu_key: Arc<[String]> = Arc::from(vec!["GPU".to_owned()]);
        for (tag, m) in t {
            let JsonNode::Obj(fields) = m else { continue };
            let unit: Vec<(Key, JsonNode)> = fields
                .iter()
                .filter(|(k, _)| k.name == "unit")
                .cloned()
                .collect();
            for (gpu, stats) in fields {
                if !matches!(stats, JsonNode::Obj(_)) {
                    continue;
                }
                if let Some(mut metric) = self.metric_from(tag, stats, &unit)? {
                    metric.attributes =
                        Attributes::new(gpu_key.clone(), vec![gpu.name.to_string()]);
                    out.push(metric);
                }
            }
        }
        Ok(())
    }

    /// `{endpoints: {url: {gpus: {key: {gpu_index, gpu_name, ..., metrics: {tag: {...}}}}}}}`.
    fn aiperf_telemetry(
        &self,
        t: &[(Key<'_>, JsonNode<'_>)],
        out: &mut Vec<Metric>,
    ) -> Result<(), ResultsError> {
        let Some(JsonNode::Obj(endpoints)) = field(t, "endpoints") else {
            return Ok(());
        };
        for (url, endpoint) in endpoints {
            let JsonNode::Obj(endpoint) = endpoint else {
                continue;
            };
            let Some(JsonNode::Obj(gpus)) = field(endpoint, "gpus") else {
                continue;
            };
            for (gpu_key, gpu) in gpus {
                let JsonNode::Obj(gpu) = gpu else { continue };
                let mut names = vec!["Endpoint".to_owned(), "GPU".to_owned()];
                let mut values = vec![url.name.to_string(), gpu_key.name.to_string()];
                for (k, v) in gpu {
                    let text = match v {
                        JsonNode::Str(s) => s.to_string(),
                        JsonNode::Num(x) => x.to_string(),
                        _ => continue,
                    };
                    names.push(k.name.to_string());
                    values.push(text);
                }
                let attrs = Attributes::new(Arc::from(names), values);
                let Some(JsonNode::Obj(metrics)) = field(gpu, "metrics") else {
                    continue;
                };
                for (tag, m) in metrics {
                    if let Some(mut metric) = self.metric_from(tag, m, &[])? {
                        metric.attributes = attrs.clone();
                        out.push(metric);
                    }
                }
            }
        }
        Ok(())
    }
}

fn field<'n, 'de>(obj: &'n [(Key<'de>, JsonNode<'de>)], name: &str) -> Option<&'n JsonNode<'de>> {
    obj.iter().find(|(k, _)| k.name == name).map(|(_, v)| v)
}

/// An object key, borrowed from the parsed input when serde_json could lend it (keys
/// without escapes): its address gives errors their position.
#[derive(Debug, Clone, PartialEq)]
struct Key<'de> {
    name: Cow<'de, str>,
}

impl Key<'_> {
    /// The address of the key's text in the parsed input, if borrowed.
    fn at(&self) -> Option<usize> {
        borrowed_at(&self.name)
    }
}

#[allow(clippy::ptr_arg)] // Borrowed or owned is the point, which `&str` would lose.
fn borrowed_at(s: &Cow<'_, str>) -> Option<usize> {
    match s {
        Cow::Borrowed(s) => Some(s.as_ptr() as usize),
        Cow::Owned(_) => None,
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key {
                    name: Cow::Borrowed(v),
                })
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key {
                    name: Cow::Owned(v.to_owned()),
                })
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// JSON value that keeps object keys in document order, with their positions.
///
/// Not `serde_json::Value` (even with `preserve_order`, i.e. an `IndexMap`): that keeps the
/// order but not where each key and string sits in the file, which every error reports as
/// line and column. Array elements are skipped: no metric lives in one. Strings borrowed
/// from the input (no escapes) keep their address, as [`Key`]s do.
#[derive(Debug, Clone, PartialEq)]
enum JsonNode<'de> {
    Null,
    Num(f64),
    Str(Cow<'de, str>),
    Bool(bool),
    Array,
    Obj(Vec<(Key<'de>, JsonNode<'de>)>),
}

impl JsonNode<'_> {
    fn kind(&self) -> &'static str {
        match self {
            JsonNode::Null => "null",
            JsonNode::Num(_) => "a number",
            JsonNode::Str(..) => "a string",
            JsonNode::Bool(_) => "a boolean",
            JsonNode::Array => "an array",
            JsonNode::Obj(_) => "an object",
        }
    }

    /// A string's address in the parsed input, if borrowed from it.
    fn at(&self) -> Option<usize> {
        match self {
            JsonNode::Str(s) => borrowed_at(s),
            _ => None,
        }
    }

    /// The value as an error shows it.
    fn describe(&self) -> String {
        match self {
            JsonNode::Str(s) => {
                let short: String = s.chars().take(40).collect();
                format!("a string {short:?}")
            }
            JsonNode::Bool(b) => b.to_string(),
            other => other.kind().to_owned(),
        }
    }
}

impl<'de> Deserialize<'de> for JsonNode<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonNodeVisitor)
    }
}

struct JsonNodeVisitor;

impl<'de> Visitor<'de> for JsonNodeVisitor {
    type Value = JsonNode<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<JsonNode<'de>, E> {
        Ok(JsonNode::Null)
    }
    fn visit_none<E>(self) -> Result<JsonNode<'de>, E> {
        Ok(JsonNode::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<JsonNode<'de>, E> {
        Ok(JsonNode::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<JsonNode<'de>, E> {
        Ok(JsonNode::Num(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<JsonNode<'de>, E> {
        Ok(JsonNode::Num(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<JsonNode<'de>, E> {
        Ok(JsonNode::Num(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<JsonNode<'de>, E> {
        Ok(JsonNode::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<JsonNode<'de>, E> {
        Ok(JsonNode::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<JsonNode<'de>, E> {
        Ok(JsonNode::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonNode<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonNode::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonNode<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Key<'de>, JsonNode<'de>>()? {
            entries.push((k, v));
        }
        Ok(JsonNode::Obj(entries))
    }
}

/// Rewrites the bare tokens `NaN`, `Infinity` and `-Infinity` outside strings as strings of
/// the same length (`"N"`, `"Infini"`, `"-Infini"`), so every offset stays that of the
/// original text; `replaced` gets the offset of each such string's content, in order, for
/// [`Context::token`] to recognise them. `None` if there are none.
fn replace_non_finite(text: &str, replaced: &mut Vec<(usize, Token)>) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
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
        let token = [
            ("-Infinity", "\"-Infini\"", Token::NegInfinity),
            ("Infinity", "\"Infini\"", Token::Infinity),
            ("NaN", "\"N\"", Token::NaN),
        ]
        .into_iter()
        .find(|(t, _, _)| bytes[i..].starts_with(t.as_bytes()));
        if let Some((t, with, kind)) = token {
            out.push_str(&text[copied..i]);
            out.push_str(with);
            replaced.push((i + 1, kind));
            i += t.len();
            copied = i;
        } else {
            i += 1;
        }
    }
    (!replaced.is_empty()).then(|| {
        out.push_str(&text[copied..]);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_tokens() {
        let mut replaced = Vec::new();
        let text = r#"{"a": NaN, "b": -Infinity, "c": "NaN", "d": Infinity}"#;
        let fixed = replace_non_finite(text, &mut replaced).unwrap();
        assert_eq!(
            fixed,
            r#"{"a": "N", "b": "-Infini", "c": "NaN", "d": "Infini"}"#
        );
        assert_eq!(fixed.len(), text.len());
        assert_eq!(
            replaced,
            vec![
                (7, Token::NaN),
                (17, Token::NegInfinity),
                (45, Token::Infinity)
            ]
        );
        replaced.clear();
        assert_eq!(replace_non_finite(r#"{"a": 1}"#, &mut replaced), None);
    }

    /// Entries are read one at a time, but errors rank as if the whole tree were read
    /// first: a syntax error anywhere, then a duplicate key anywhere, then the first bad
    /// metric (positions counted by hand).
    #[test]
    fn errors_rank_as_for_the_whole_tree() {
        let bad_metric = "{\"a\": {\"unit\": \"ms\", \"avg\": \"x\"},\n";
        let path = Path::new("x.json");
        let refused = |text: &str, start: &str| {
            let err = parse(text, path).err().unwrap().to_string();
            assert!(err.starts_with(start), "{err}");
        };
        // A bad metric alone.
        let alone = format!("{bad_metric} \"b\": 1}}");
        refused(&alone, "x.json:1:22: `a` field `avg`: wrong type");
        // A duplicate key after it, at the top or inside a later entry: the duplicate.
        let top = format!("{bad_metric} \"b\": 1,\n \"b\": 2}}");
        refused(&top, "x.json:3:2: duplicate JSON key `b` (first on line 2)");
        let nested = format!("{bad_metric} \"c\": {{\"d\": 1,\n \"d\": 2}}}}");
        refused(
            &nested,
            "x.json:3:2: duplicate JSON key `d` (first on line 2)",
        );
        // A syntax error after both: the syntax error.
        let cut = format!("{bad_metric} \"b\": 1,\n \"b\": 2,");
        refused(&cut, "x.json:3:8: invalid JSON: EOF while parsing");
        // A second top-level value is a syntax error too, whatever came before.
        refused(
            "{\"b\": 1, \"b\": 2} 3",
            "x.json:1:18: invalid JSON: trailing",
        );
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
