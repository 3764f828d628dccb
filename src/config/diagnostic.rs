//! Validation errors with their position, collected rather than returned one by one, so that a
//! user sees every problem of every file in one go.

use std::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::source::{Sources, Span};

/// One problem in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Path of the file as it was given.
    pub file: String,
    /// 1-based line; 0 when the problem is not tied to a position (e.g. unreadable file).
    pub line: usize,
    /// 1-based column in characters.
    pub column: usize,
    /// Dotted field path (`cmd_args.dynamo.prefill_worker.num_nodes`), empty for the document.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if self.path.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.path, self.message)
        }
    }
}

/// The fields, plus `text`: the `Display` form (`file:line:col: path: message`), so that
/// Python prints diagnostics exactly as the core formats them.
impl Serialize for Diagnostic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Diagnostic", 6)?;
        s.serialize_field("file", &self.file)?;
        s.serialize_field("line", &self.line)?;
        s.serialize_field("column", &self.column)?;
        s.serialize_field("path", &self.path)?;
        s.serialize_field("message", &self.message)?;
        s.serialize_field("text", &self.to_string())?;
        s.end()
    }
}

/// Every problem found in a set of files.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        write!(
            f,
            "{n} configuration error{}",
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.diagnostics {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

/// The diagnostics of one validation: the problems found so far, and the sources that turn
/// their spans into file, line and column.
pub struct Diagnostics<'s> {
    pub sources: &'s Sources,
    /// Every problem found so far, in the order found.
    pub found: Vec<Diagnostic>,
    /// Tables (by dotted path) whose unknown keys are not errors: a host framework\'s dump holds
    /// its own fields next to ours, which it has validated itself (see `host`).
    pub host_fields_at: fn(&str) -> bool,
}

impl<'s> Diagnostics<'s> {
    pub fn new(sources: &'s Sources) -> Self {
        Self {
            sources,
            found: Vec::new(),
            host_fields_at: |_| false,
        }
    }

    pub fn error(&mut self, span: Span, path: &str, message: impl Into<String>) {
        let file = self.sources.file(span.file);
        let (line, column) = file.position(span.start);
        self.found.push(Diagnostic {
            file: file.path.display().to_string(),
            line,
            column,
            path: path.to_string(),
            message: message.into(),
        });
    }

    pub fn has_errors(&self) -> bool {
        !self.found.is_empty()
    }

    /// Turn the collected diagnostics into a result: `Ok(value)` only when nothing was reported.
    pub fn finish<T>(mut self, value: Option<T>) -> Result<T, ConfigError> {
        // Reads happen in schema order; users read errors in file order.
        self.found
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        // A test file is read on its own and again under each scenario entry that uses it:
        // a problem of the file itself is found each time but reported once.
        let mut seen = std::collections::HashSet::new();
        self.found.retain(|d| seen.insert(d.clone()));
        match value {
            Some(v) if self.found.is_empty() => Ok(v),
            _ => Err(ConfigError {
                diagnostics: self.found,
            }),
        }
    }
}

/// Join a dotted path. (Built for every field read: pushes, not `format!`, which cost a
/// tenth of a test file's validation.)
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        return name.to_string();
    }
    let mut path = String::with_capacity(prefix.len() + 1 + name.len());
    path.push_str(prefix);
    path.push('.');
    path.push_str(name);
    path
}
