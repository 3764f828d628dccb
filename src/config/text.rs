//! Rules for the text of configuration files that ends up in scripts, Slurm directives and
//! path names: which characters a string may hold, what an environment variable may be called,
//! and how long a name used as a directory may be.
//!
//! Control characters are refused everywhere (keys and values) except tab, and line breaks
//! only where a value is multi-line by contract (`cmd`-like fields, `description`, environment
//! values): a NUL or an escape sequence in a partition name or a path is never intended, and
//! a line break in an `#SBATCH` value, a YAML key or a file name changes its meaning.

use super::diagnostic::Diagnostics;
use super::node::{Node, Value};

/// Longest name used as one path component (test id, scenario name): the common file-system
/// limit (`NAME_MAX`, 255 bytes on Linux).
pub const MAX_NAME_BYTES: usize = 255;

/// Longest scenario name: it becomes `<name>_<timestamp>` plus a staging prefix/suffix while
/// the results tree is written, all within one path component.
pub const MAX_SCENARIO_NAME_BYTES: usize = 200;

/// Whether `c` is refused in every string.
fn forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// `U+0000 (NUL)`-style name of a character, for messages.
pub fn describe_char(c: char) -> String {
    let name = match c {
        '\0' => " (NUL)",
        '\n' => " (line feed)",
        '\r' => " (carriage return)",
        '\t' => " (tab)",
        '\u{1b}' => " (escape)",
        '\u{7f}' => " (delete)",
        _ => "",
    };
    format!("U+{:04X}{name}", u32::from(c))
}

/// The first character of `s` matching `bad`, as "U+… at character N".
pub fn first_bad(s: &str, bad: impl Fn(char) -> bool) -> Option<String> {
    s.chars()
        .enumerate()
        .find(|(_, c)| bad(*c))
        .map(|(i, c)| format!("{} at character {}", describe_char(c), i + 1))
}

/// Report every key and string value of a document holding a forbidden control character
/// (keys may not hold a line break either: they name fields, variables and YAML keys).
pub fn check_controls(node: &Node, diags: &mut Diagnostics, path: &str) {
    check_node(node, diags, &Where::Root(path));
}

/// Where a node is, spelled out only for a message: every key and string of every file is
/// checked, and building each one's path cost more than the check.
enum Where<'a> {
    Root(&'a str),
    Key(&'a Where<'a>, &'a str),
    Item(&'a Where<'a>, usize),
}

impl Where<'_> {
    fn path(&self) -> String {
        match self {
            Where::Root(path) => (*path).to_string(),
            Where::Key(parent, name) => super::diagnostic::join(&parent.path(), name),
            Where::Item(parent, i) => format!("{}[{i}]", parent.path()),
        }
    }
}

/// Whether `s` may hold a control character (`char::is_control`: U+0000–U+001F and
/// U+007F–U+009F, the latter encoded as 0xC2 0x80–0x9F): a byte scan that clears almost every
/// string before the per-character search that names the culprit.
fn may_have_control(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2)
}

fn check_node(node: &Node, diags: &mut Diagnostics, at: &Where<'_>) {
    match &node.value {
        Value::String(s) => {
            if !may_have_control(s) {
                return;
            }
            if let Some(bad) = first_bad(s, forbidden) {
                diags.error(
                    node.span,
                    &at.path(),
                    format!("expected text without control characters, found {bad} of the string"),
                );
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_node(item, diags, &Where::Item(at, i));
            }
        }
        Value::Table(entries) => {
            for (key, value) in entries {
                let sub = Where::Key(at, &key.name);
                if let Some(bad) = may_have_control(&key.name)
                    .then(|| first_bad(&key.name, char::is_control))
                    .flatten()
                {
                    diags.error(
                        key.span,
                        &sub.path(),
                        format!(
                            "expected a key without control characters, found {bad} of the key"
                        ),
                    );
                }
                check_node(value, diags, &sub);
            }
        }
        _ => {}
    }
}

/// A field or argument name as a file may spell it (`num_nodes`, `output-tokens-mean`): ASCII
/// letters, digits, `-` and `_`, not starting with `-` (which would read as a flag).
pub fn is_field_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A shell identifier, the only names `export NAME=…` accepts without running anything.
pub fn is_env_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Variables bash sets or recomputes itself: an `export` of them in the job script fails
/// (read-only) or is lost (`$_`, `$RANDOM`, …), so the job would not see the configured value.
pub const BASH_OWNED: &[&str] = &[
    "_",
    "BASHOPTS",
    "BASHPID",
    "BASH_ARGC",
    "BASH_ARGV",
    "BASH_COMMAND",
    "BASH_LINENO",
    "BASH_SOURCE",
    "BASH_SUBSHELL",
    "BASH_VERSINFO",
    "DIRSTACK",
    "EPOCHREALTIME",
    "EPOCHSECONDS",
    "EUID",
    "FUNCNAME",
    "GROUPS",
    "HISTCMD",
    "LINENO",
    "PIPESTATUS",
    "PPID",
    "RANDOM",
    "SECONDS",
    "SHELLOPTS",
    "SRANDOM",
    "UID",
];

/// A host name or Slurm host list (`node[01-04,7]`): what `--nodelist` and `scontrol` accept.
/// A blank or a comma outside brackets would change the node count, other characters are not
/// host names at all. `spec` also allows the `PARTITION:GROUP:N` form of scenario `nodes`.
pub fn host_list_problem(s: &str, spec: bool) -> Option<String> {
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '.' | '-' | '_' | '[' | ']' | ',')
            || (spec && c == ':')
    };
    if s.is_empty() {
        return Some("is empty".into());
    }
    if let Some(at) = first_bad(s, |c| !allowed(c)) {
        return Some(format!("has {at}"));
    }
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                return Some(
                    "has a ',' outside brackets (give one host or host list per entry)".into(),
                );
            }
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Some("has unbalanced or nested brackets".into());
        }
    }
    (depth != 0).then(|| "has unbalanced or nested brackets".into())
}

/// A list of host names or host lists (system `partitions.groups.nodes`, scenario `nodes`).
pub fn host_lists(spec: bool) -> impl Fn(&Node, &mut Diagnostics, &str) -> Option<Vec<String>> {
    move |node, diags, path| {
        let list = super::parse::string_list(node, diags, path)?;
        let Value::Array(items) = &node.value else {
            return Some(list);
        };
        let mut ok = true;
        for (i, (s, item)) in list.iter().zip(items).enumerate() {
            if let Some(problem) = host_list_problem(s, spec) {
                let what = if spec {
                    "a host name, a host list such as node[1-4], or PARTITION:GROUP:COUNT"
                } else {
                    "a host name or a host list such as node[1-4]"
                };
                diags.error(
                    item.span,
                    &format!("{path}[{i}]"),
                    format!("expected {what}, found {s:?}, which {problem}"),
                );
                ok = false;
            }
        }
        ok.then_some(list)
    }
}

/// Why `name` cannot be one directory name, if it cannot.
pub fn path_component_problem(name: &str, max_bytes: usize) -> Option<String> {
    if name.contains(['/', '\\']) {
        Some("contains '/' or '\\'".into())
    } else if name == "." || name == ".." {
        Some("is '.' or '..'".into())
    } else if name.len() > max_bytes {
        Some(format!(
            "is {} bytes long, more than the {max_bytes} a directory name may have",
            name.len()
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_are_shell_identifiers() {
        for ok in ["A", "_", "HF_HOME", "x1", "_9"] {
            assert!(is_env_name(ok), "{ok}");
        }
        for bad in ["", "1X", "A-B", "X=1;touch /tmp/p;Y", "A B", "É", "A.B"] {
            assert!(!is_env_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_byte_scan_clears_no_control_character() {
        for c in (0..=0x10_ffff).filter_map(char::from_u32) {
            if c.is_control() {
                assert!(
                    may_have_control(&format!("a{c}b")),
                    "U+{:04X}",
                    u32::from(c)
                );
            }
        }
        assert!(!may_have_control("plain text, é and ü"));
    }

    #[test]
    fn control_characters_are_named_with_their_place() {
        assert_eq!(
            first_bad("de\0bug", forbidden).as_deref(),
            Some("U+0000 (NUL) at character 3")
        );
        assert_eq!(first_bad("a\tb\nc", forbidden), None);
        assert_eq!(
            first_bad("é\u{85}", forbidden).as_deref(),
            Some("U+0085 at character 2")
        );
    }

    #[test]
    fn host_lists() {
        for ok in ["node1", "gpu-h100-[001-016]", "n[1-3,7]", "a.b_c"] {
            assert_eq!(host_list_problem(ok, false), None, "{ok}");
        }
        assert_eq!(host_list_problem("p:g:2", true), None);
        for bad in ["", "a b", "a,b", "n[1-2", "n]1[", "n[[1]]", "p:g:2", "x\"y"] {
            assert!(host_list_problem(bad, false).is_some(), "{bad}");
        }
    }

    #[test]
    fn path_components() {
        assert!(path_component_problem("run-1", 255).is_none());
        assert!(path_component_problem("..", 255).is_some());
        assert!(path_component_problem(&"é".repeat(128), 255).is_some());
        assert!(path_component_problem(&"a".repeat(255), 255).is_none());
    }
}
