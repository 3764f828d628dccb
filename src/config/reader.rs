//! Typed reading of spanned TOML tables: each read records the field as known, so that
//! [`TableReader::finish`] can report unknown keys with a "did you mean" suggestion.

use super::diagnostic::{Diagnostics, join};
use super::node::{Key, Node, Value, canonical_key, same_key};
use super::source::Span;
use indexmap::IndexMap;

/// Reads the fields of one table.
pub struct TableReader<'a> {
    entries: &'a [(Key, Node)],
    span: Span,
    path: String,
    known: Vec<&'static str>,
}

impl<'a> TableReader<'a> {
    /// A reader over `node`, or an error (and `None`) if it is not a table.
    pub fn new(node: &'a Node, path: &str, diags: &mut Diagnostics) -> Option<Self> {
        match &node.value {
            Value::Table(entries) => Some(Self {
                entries,
                span: node.span,
                path: path.to_string(),
                known: Vec::new(),
            }),
            other => {
                diags.error(
                    node.span,
                    path,
                    format!("expected a table, found {}", other.describe()),
                );
                None
            }
        }
    }

    pub fn span(&self) -> Span {
        self.span
    }

    pub fn field_path(&self, name: &str) -> String {
        join(&self.path, name)
    }

    /// The node stored under `name` in any spelling. Marks the name as known.
    pub fn get(&mut self, name: &'static str) -> Option<&'a Node> {
        self.known.push(name);
        self.entries
            .iter()
            .find(|(k, _)| same_key(&k.name, name))
            .map(|(_, v)| v)
    }

    /// The node stored under the first present of several names that mean the same field
    /// (e.g. `vllm_worker` and `decode_worker`); giving more than one is an error.
    pub fn get_any(
        &mut self,
        diags: &mut Diagnostics,
        names: &[&'static str],
    ) -> Option<(&'static str, &'a Node)> {
        let mut found: Option<(&'static str, &'a Node)> = None;
        for &name in names {
            if let Some(node) = self.get(name) {
                if let Some((first, _)) = found {
                    diags.error(
                        node.span,
                        &self.field_path(name),
                        format!("`{name}` and `{first}` name the same section; give only one"),
                    );
                } else {
                    found = Some((name, node));
                }
            }
        }
        found
    }

    /// A required field: a missing one is reported at the table.
    pub fn required<T>(
        &mut self,
        diags: &mut Diagnostics,
        name: &'static str,
        parse: impl Fn(&Node, &mut Diagnostics, &str) -> Option<T>,
    ) -> Option<T> {
        match self.get(name) {
            Some(node) => parse(node, diags, &self.field_path(name)),
            None => {
                diags.error(self.span, &self.field_path(name), "missing required field");
                None
            }
        }
    }

    /// An optional field: `None` when absent or invalid (invalid values are reported).
    pub fn optional<T>(
        &mut self,
        diags: &mut Diagnostics,
        name: &'static str,
        parse: impl Fn(&Node, &mut Diagnostics, &str) -> Option<T>,
    ) -> Option<T> {
        let node = self.get(name)?;
        parse(node, diags, &self.field_path(name))
    }

    /// A field with a default: the default also stands in for an invalid value, whose error
    /// has already been reported, so that validation can continue.
    pub fn with_default<T>(
        &mut self,
        diags: &mut Diagnostics,
        name: &'static str,
        default: T,
        parse: impl Fn(&Node, &mut Diagnostics, &str) -> Option<T>,
    ) -> T {
        self.optional(diags, name, parse).unwrap_or(default)
    }

    /// Report keys that no read asked for, and fields given in two spellings.
    pub fn finish(self, diags: &mut Diagnostics) {
        // A set, not a scan of the earlier keys: a table may have many thousands of keys.
        // Two keys name one field only when one is dashed: without a dash, no set at all.
        let dashed = self.entries.iter().any(|(k, _)| k.name.contains('-'));
        let mut seen = std::collections::HashSet::new();
        for (key, _) in self.entries {
            let twice = dashed && !seen.insert(canonical_key(&key.name));
            if twice {
                diags.error(
                    key.span,
                    &self.field_path(&key.name),
                    "field given twice (dashed and underscored spellings name the same field)",
                );
                continue;
            }
            if self.known.iter().any(|k| same_key(&key.name, k))
                || (diags.host_fields_at)(&self.path)
            {
                continue;
            }
            let canonical = canonical_key(&key.name);
            let path = self.field_path(&key.name);
            let hint = suggest(&canonical, &self.known)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            let mut names: Vec<&str> = self.known.clone();
            names.sort_unstable();
            names.dedup();
            diags.error(
                key.span,
                &path,
                format!(
                    "unknown field{hint} (expected one of: {})",
                    names.join(", ")
                ),
            );
        }
    }
}

/// `[[x]]` arrays of tables, each read by `item` (`finish` is called for it).
pub fn list_of_tables<T>(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
    item: impl Fn(&mut TableReader, &mut Diagnostics) -> Option<T>,
) -> Option<Vec<T>> {
    let Value::Array(items) = &node.value else {
        diags.error(
            node.span,
            path,
            format!("expected a list of tables, found {}", node.value.describe()),
        );
        return None;
    };
    let parsed: Vec<Option<T>> = items
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut r = TableReader::new(n, &format!("{path}[{i}]"), diags)?;
            let v = item(&mut r, diags);
            r.finish(diags);
            v
        })
        .collect();
    parsed.into_iter().collect()
}

/// The closest known name, if close enough to be a plausible typo.
pub fn suggest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), *k))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// A table with free keys (environment variables, engine flags), in file order.
pub fn read_map<T>(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
    value: impl Fn(&Node, &mut Diagnostics, &str) -> Option<T>,
) -> Option<IndexMap<String, T>> {
    let Value::Table(entries) = &node.value else {
        diags.error(
            node.span,
            path,
            format!("expected a table, found {}", node.value.describe()),
        );
        return None;
    };
    let mut out = IndexMap::with_capacity(entries.len());
    let mut ok = true;
    for (k, v) in entries {
        match value(v, diags, &format!("{path}.{}", k.name)) {
            Some(x) => {
                out.insert(k.name.clone(), x);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let known = ["sleep_seconds", "served_model_name", "docker_image_url"];
        assert_eq!(suggest("sleep_secondz", &known), Some("sleep_seconds"));
        assert_eq!(suggest("served_model", &known), Some("served_model_name"));
        assert_eq!(suggest("zzz", &known), None);
    }
}
