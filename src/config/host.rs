//! Test definitions and systems handed over by a host framework (CloudAI) as data, not files.
//!
//! CloudAI parses the TOML files itself and gives the plugin its models' dumps: plain trees of
//! maps, lists and scalars. They are read here into the same spanned [`Node`] tree and by the
//! same readers as a file, so both engines apply one set of rules. What is specific to data
//! from CloudAI lives here and nowhere else:
//!
//! * `None` (TOML has no null) is an absent field;
//! * CloudAI's own fields next to ours (`dse_excluded_args`, `nsys`, a system's `slurm_nodes`,
//!   …) are CloudAI's business: not errors, except the features our scripts would silently not
//!   honour ([`UNHONOURED_TEST_FIELDS`]);
//! * CloudAI merges a scenario entry's `cmd_args` over the test's by exact key, so a dashed
//!   override of an underscored field leaves both spellings: the later one wins, as the
//!   embedded engine's merge does (tables whose keys are data keep every spelling);
//! * positions: when the dump came from files (the test file CloudAI was reading, or a
//!   scenario entry), those files are read again and every value the dump still holds as the
//!   files wrote it gets the files' line and column, a scenario override the scenario's. A
//!   value no file wrote (a DSE step's pick) is reported with the origin's name, without line.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::any_test::{AnyTest, read_any_test};
use super::diagnostic::{ConfigError, Diagnostics};
use super::node::{Key, Node, Value, canonical_key, merge, parse_document, same_key};
use super::source::{FileId, Sources, Span};
use super::system::{SystemConfig, read_system};

/// CloudAI test fields for features our scripts do not implement: set, they are refused
/// rather than ignored (a profile the user asked for would silently not be taken).
pub const UNHONOURED_TEST_FIELDS: &[&str] = &["nsys", "predictor", "training_report"];

/// Where a dumped test definition came from, when CloudAI read it from files.
#[derive(Clone, Copy, Debug, Default)]
pub struct Origin<'a> {
    /// The test file (CloudAI's `TestParser.current_file`); for a scenario entry that
    /// overrides a named test, that test's file.
    pub test_file: Option<&'a Path>,
    /// The scenario file and the `id` of its `[[Tests]]` entry, when the definition is that
    /// entry's (defined inline, or a named test with the entry's overrides merged over it).
    pub scenario: Option<(&'a Path, &'a str)>,
}

impl Origin<'_> {
    /// The name errors carry when no line can be given.
    fn label(&self) -> String {
        match (self.scenario, self.test_file) {
            (Some((path, id)), _) => format!("{} (Tests entry {id:?})", path.display()),
            (None, Some(path)) => path.display().to_string(),
            (None, None) => "<CloudAI test definition>".to_string(),
        }
    }
}

/// A test definition read from a host's dump.
#[derive(Debug)]
pub struct HostTest {
    pub test: AnyTest,
    /// `cmd_args` as read (spellings folded), to be kept by the host in place of its dump.
    pub cmd_args: Option<Node>,
    /// The sweep axes, as dotted paths spelled as in `cmd_args` (`extra_env_vars.X` for the
    /// environment), in axis order: the only lists a host that sweeps every list must sweep.
    pub sweep_axes: Vec<String>,
}

/// A host's dump as a tree: what the readers read. Spans point at nothing yet (file 0).
#[derive(Debug)]
pub struct Dump(pub Node);

/// Read a dumped `AIDynamo` test definition (either generation).
pub fn read_host_test(dump: Dump, origin: &Origin) -> Result<HostTest, ConfigError> {
    let mut sources = Sources::default();
    let virtual_file = sources.add_unpositioned(origin.label());
    let files = Anchors::read(&mut sources, origin);
    let mut node = dump.0;
    retarget(&mut node, virtual_file);
    // Only a merge leaves two spellings to fold: a test file's own are an error, as in the
    // embedded engine.
    let from_test_file = origin.test_file.is_some() && origin.scenario.is_none();
    if let Some(cmd_args) = child_mut(&mut node, "cmd_args").filter(|_| !from_test_file) {
        fold_spellings(cmd_args);
    }
    if let Some(anchor) = files.anchor() {
        relocate(&mut node, &anchor);
    }
    let mut diags = Diagnostics::new(&sources);
    // CloudAI validated its own top-level fields and its git repositories' (extra="forbid").
    diags.host_fields_at = |path| path.is_empty() || path.starts_with("git_repos[");
    refuse_unhonoured(&node, &mut diags);
    let test = read_any_test(&node, &mut diags);
    let cmd_args = child(&node, "cmd_args").cloned();
    let mut test = diags.finish(test)?;
    // `sweep_slots` lends its fields mutably (expansion pins them); naming them changes none.
    let sweep_axes = test
        .sweep_axis_keys()
        .iter()
        .map(|name| spelled(&node, name))
        .collect();
    Ok(HostTest {
        test,
        cmd_args,
        sweep_axes,
    })
}

/// Read a dumped Slurm system (CloudAI's `SlurmSystem`): our fields, CloudAI's others ignored.
pub fn read_host_system(dump: Dump) -> Result<SystemConfig, ConfigError> {
    let mut sources = Sources::default();
    let file = sources.add_unpositioned("<CloudAI system>");
    let mut node = dump.0;
    retarget(&mut node, file);
    if let Some(env) = child_mut(&mut node, "global_env_vars") {
        take_env_defaults(env);
    }
    let mut diags = Diagnostics::new(&sources);
    diags.host_fields_at = |_| true;
    let system = read_system(&node, &mut diags);
    diags.finish(system)
}

/// CloudAI lets a system environment variable be a table with a `default` (values per
/// scheduler context); the sbatch exports the default, as CloudAI's own does.
fn take_env_defaults(env: &mut Node) {
    let Value::Table(entries) = &mut env.value else {
        return;
    };
    for (_, value) in entries {
        if let Some(default) = child(value, "default").cloned() {
            *value = default;
        }
    }
}

fn refuse_unhonoured(node: &Node, diags: &mut Diagnostics) {
    let Value::Table(entries) = &node.value else {
        return;
    };
    for (key, _) in entries {
        if UNHONOURED_TEST_FIELDS
            .iter()
            .any(|f| same_key(&key.name, f))
        {
            diags.error(
                key.span,
                &key.name,
                "not supported by the cloudai-dynamo-rs AIDynamo (its scripts would not honour it); remove it",
            );
        }
    }
}

/// The files a dump came from, read again for positions.
struct Anchors {
    test: Option<Node>,
    /// The scenario entry's overridable fields, and whether the entry defines its test inline.
    entry: Option<(Node, bool)>,
}

impl Anchors {
    fn read(sources: &mut Sources, origin: &Origin) -> Self {
        let mut parse = |path: &Path| -> Option<Node> {
            // A file that cannot be read now only costs positions: the dump is what counts.
            let text = std::fs::read_to_string(path).ok()?;
            let id = sources.add(path, text);
            parse_document(&sources.file(id).text, id).ok()
        };
        let test = origin.test_file.and_then(&mut parse);
        let entry = origin.scenario.and_then(|(path, id)| {
            let scenario = parse(path)?;
            scenario_entry(&scenario, id)
        });
        Self { test, entry }
    }

    /// What the embedded engine reads for this definition: the test file with the entry's
    /// overrides merged over it, or the inline entry.
    fn anchor(self) -> Option<Node> {
        match (self.test, self.entry) {
            (_, Some((entry, true))) => Some(entry),
            (Some(mut test), Some((overrides, false))) => {
                merge(&mut test, &overrides);
                Some(test)
            }
            (None, Some((overrides, false))) => Some(overrides),
            (test, None) => test,
        }
    }
}

/// The overridable fields of the `[[Tests]]` entry with `id`, and whether it is inline.
fn scenario_entry(scenario: &Node, id: &str) -> Option<(Node, bool)> {
    let Value::Array(entries) = &child(scenario, "Tests")?.value else {
        return None;
    };
    let entry = entries
        .iter()
        .find(|e| matches!(child(e, "id").map(|n| &n.value), Some(Value::String(s)) if s == id))?;
    let Value::Table(fields) = &entry.value else {
        return None;
    };
    let inline = child(entry, "test_name").is_none();
    let overrides = fields
        .iter()
        .filter(|(k, _)| {
            super::scenario::OVERRIDABLE
                .iter()
                .any(|o| same_key(&k.name, o))
        })
        .cloned()
        .collect();
    Some((
        Node {
            value: Value::Table(overrides),
            span: entry.span,
        },
        inline,
    ))
}

fn child<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    match &node.value {
        Value::Table(entries) => entries
            .iter()
            .rev()
            .find(|(k, _)| same_key(&k.name, key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn child_mut<'n>(node: &'n mut Node, key: &str) -> Option<&'n mut Node> {
    match &mut node.value {
        Value::Table(entries) => entries
            .iter_mut()
            .rev()
            .find(|(k, _)| same_key(&k.name, key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn retarget(node: &mut Node, file: FileId) {
    node.span.file = file;
    match &mut node.value {
        Value::Table(entries) => {
            for (k, v) in entries {
                k.span.file = file;
                retarget(v, file);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| retarget(v, file)),
        _ => {}
    }
}

/// Tables whose keys are data (engine flags, resource names, cache configuration): every
/// spelling is kept there.
fn keys_are_data(key: &str) -> bool {
    super::test_def::FREE_KEY_TABLES
        .iter()
        .chain(super::gen2::FREE_KEY_TABLES)
        .any(|t| same_key(key, t))
}

/// One entry per field: of two spellings of a key (CloudAI's exact-key merge of a scenario
/// override), the later wins and tables are merged, as the embedded engine merges overrides.
fn fold_spellings(node: &mut Node) {
    match &mut node.value {
        Value::Table(entries) => {
            let mut folded: Vec<(Key, Node)> = Vec::with_capacity(entries.len());
            for (key, mut value) in std::mem::take(entries) {
                if !keys_are_data(&key.name) {
                    fold_spellings(&mut value);
                }
                let canonical = canonical_key(&key.name);
                match folded
                    .iter_mut()
                    .find(|(k, _)| same_key(&k.name, &canonical))
                {
                    Some((existing_key, existing)) => {
                        *existing_key = key;
                        merge(existing, &value);
                    }
                    None => folded.push((key, value)),
                }
            }
            *entries = folded;
        }
        Value::Array(items) => items.iter_mut().for_each(fold_spellings),
        _ => {}
    }
}

/// Give `node` the spans of `anchor` wherever it holds what the anchor holds.
fn relocate(node: &mut Node, anchor: &Node) {
    match (&mut node.value, &anchor.value) {
        (Value::Table(entries), Value::Table(anchored)) => {
            node.span = anchor.span;
            for (key, value) in entries {
                let canonical = canonical_key(&key.name);
                if let Some((k, v)) = anchored
                    .iter()
                    .rev()
                    .find(|(k, _)| same_key(&k.name, &canonical))
                {
                    key.span = k.span;
                    relocate(value, v);
                }
            }
        }
        (Value::Array(items), Value::Array(anchored)) => {
            node.span = anchor.span;
            if items.len() == anchored.len() {
                for (item, a) in items.iter_mut().zip(anchored) {
                    relocate(item, a);
                }
            }
        }
        (a, b) if same_scalar(a, b) => node.span = anchor.span,
        _ => {}
    }
}

fn same_scalar(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y) | Value::Datetime(y)) => x == y,
        (Value::Integer(x), Value::Integer(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::Boolean(x), Value::Boolean(y)) => x == y,
        (Value::OutOfRange(x), Value::OutOfRange(y)) => x == y,
        _ => false,
    }
}

/// `dotted` (canonical spelling, relative to `cmd_args` unless it starts with
/// `extra_env_vars.`) spelled as the keys of `test` spell it.
fn spelled(test: &Node, dotted: &str) -> String {
    let (mut node, rest) = match dotted.strip_prefix("extra_env_vars.") {
        // Environment names are exact: no spelling to look up.
        Some(_) => return dotted.to_string(),
        None => (child(test, "cmd_args"), dotted),
    };
    let mut out: Vec<String> = Vec::new();
    for part in rest.split('.') {
        let found = node.and_then(|n| match &n.value {
            Value::Table(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| same_key(&k.name, &canonical_key(part))),
            _ => None,
        });
        match found {
            Some((k, v)) => {
                out.push(k.name.clone());
                node = Some(v);
            }
            None => {
                out.push(part.to_string());
                node = None;
            }
        }
    }
    out.join(".")
}

// ---- serde: a host's data in, folded tables back out ----------------------------------------

/// A dumped value; `None` when it was null (left out of its table or list).
struct Nullable(Option<Node>);

fn leaf(value: Value) -> Nullable {
    Nullable(Some(Node {
        value,
        span: Span::default(),
    }))
}

impl<'de> Deserialize<'de> for Nullable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

impl<'de> Deserialize<'de> for Dump {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Nullable::deserialize(d)?.0 {
            Some(node) if matches!(node.value, Value::Table(_)) => Ok(Dump(node)),
            Some(node) => Err(de::Error::custom(format!(
                "expected a table at the top, found {}",
                node.value.describe()
            ))),
            None => Err(de::Error::custom("expected a table at the top, found None")),
        }
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Nullable;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number, boolean, list or mapping with string keys")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Nullable, E> {
        Ok(leaf(Value::Boolean(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Nullable, E> {
        Ok(leaf(Value::Integer(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Nullable, E> {
        Ok(leaf(i64::try_from(v).map_or_else(
            |_| Value::OutOfRange(v.to_string()),
            Value::Integer,
        )))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Nullable, E> {
        Ok(leaf(i64::try_from(v).map_or_else(
            |_| Value::OutOfRange(v.to_string()),
            Value::Integer,
        )))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Nullable, E> {
        Ok(leaf(i64::try_from(v).map_or_else(
            |_| Value::OutOfRange(v.to_string()),
            Value::Integer,
        )))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Nullable, E> {
        Ok(leaf(Value::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Nullable, E> {
        Ok(leaf(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Nullable, E> {
        Ok(leaf(Value::String(v)))
    }
    fn visit_none<E>(self) -> Result<Nullable, E> {
        Ok(Nullable(None))
    }
    fn visit_unit<E>(self) -> Result<Nullable, E> {
        Ok(Nullable(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Nullable, D::Error> {
        Nullable::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Nullable, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Nullable(item)) = seq.next_element()? {
            items.extend(item);
        }
        Ok(leaf(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Nullable, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some((name, Nullable(value))) = map.next_entry::<String, Nullable>()? {
            if let Some(value) = value {
                let key = Key {
                    name,
                    span: Span::default(),
                };
                entries.push((key, value));
            }
        }
        Ok(leaf(Value::Table(entries)))
    }
}

/// A node as plain data (tables as maps in order), for the host to keep.
pub struct Data<'a>(pub &'a Node);

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0.value {
            Value::String(v) | Value::Datetime(v) | Value::OutOfRange(v) => s.serialize_str(v),
            Value::Integer(v) => s.serialize_i64(*v),
            Value::Float(v) => s.serialize_f64(*v),
            Value::Boolean(v) => s.serialize_bool(*v),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Data(item))?;
                }
                seq.end()
            }
            Value::Table(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(&k.name, &Data(v))?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(json: &str) -> Dump {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn nulls_are_absent_fields() {
        let d = dump(r#"{"a": null, "b": [1, null, 2], "c": {"d": null}}"#);
        let Value::Table(entries) = &d.0.value else {
            panic!("a table")
        };
        let names: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
        assert_eq!(names, ["b", "c"]);
        assert!(matches!(&entries[0].1.value, Value::Array(a) if a.len() == 2));
    }

    #[test]
    fn a_later_spelling_wins_and_tables_merge_except_data_keys() {
        let mut d = dump(
            r#"{"w": {"num_nodes": 1, "tp": 8, "extra_args": {"--a-b": 1, "--a_b": 2}},
                "w_2": 0, "w-2": 5, "w-": {"x": 1}, "w_": {"y": 2}}"#,
        );
        fold_spellings(&mut d.0);
        let json = serde_json::to_string(&Data(&d.0)).unwrap();
        assert_eq!(
            json,
            r#"{"w":{"num_nodes":1,"tp":8,"extra_args":{"--a-b":1,"--a_b":2}},"w-2":5,"w_":{"x":1,"y":2}}"#
        );
    }
}
