//! Leaf parsers: each checks one TOML value against what a field expects and reports
//! "expected …, found …" at the value's position.

use std::fmt::Display;

use super::diagnostic::Diagnostics;
use super::node::{Node, Value};

fn mismatch(node: &Node, diags: &mut Diagnostics, path: &str, expected: &str) {
    let found = node.value.describe();
    let hint = if matches!(node.value, Value::Array(_)) {
        " (this field cannot be swept)"
    } else {
        ""
    };
    diags.error(
        node.span,
        path,
        format!("expected {expected}, found {found}{hint}"),
    );
}

/// A string that may span lines: only for fields that are multi-line by contract (commands run
/// through `bash -c`, descriptions). Control characters other than tab and line breaks are
/// refused for every string when the file is parsed (see [`super::text`]).
pub fn multiline_string(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<String> {
    match &node.value {
        Value::String(s) => Some(s.clone()),
        _ => {
            mismatch(node, diags, path, "a string");
            None
        }
    }
}

/// A one-line string: names, paths, URLs, flags. A line break there would end an `#SBATCH`
/// line, a YAML value or a file name early.
pub fn string(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<String> {
    let s = multiline_string(node, diags, path)?;
    if let Some(at) = super::text::first_bad(&s, |c| matches!(c, '\n' | '\r')) {
        diags.error(
            node.span,
            path,
            format!("expected a single-line string, found {at}"),
        );
        return None;
    }
    Some(s)
}

/// A non-empty command, run through `bash -c` (shell by contract, so it may span lines).
pub fn command(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<String> {
    let s = multiline_string(node, diags, path)?;
    non_empty(s, node, diags, path)
}

pub fn non_empty_string(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<String> {
    let s = string(node, diags, path)?;
    non_empty(s, node, diags, path)
}

fn non_empty(s: String, node: &Node, diags: &mut Diagnostics, path: &str) -> Option<String> {
    if s.trim().is_empty() {
        diags.error(
            node.span,
            path,
            "expected a non-empty string, found an empty string",
        );
        return None;
    }
    Some(s)
}

pub fn boolean(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<bool> {
    match node.value {
        Value::Boolean(b) => Some(b),
        _ => {
            mismatch(node, diags, path, "a boolean (true or false)");
            None
        }
    }
}

/// An integer in `min..=max`, converted to the field's type.
pub fn int_in<T>(min: i64, max: i64) -> impl Fn(&Node, &mut Diagnostics, &str) -> Option<T>
where
    T: TryFrom<i64>,
{
    move |node, diags, path| match node.value {
        Value::Integer(i) if (min..=max).contains(&i) => T::try_from(i).ok(),
        Value::Integer(i) => {
            diags.error(
                node.span,
                path,
                format!("expected {}, found {i}", describe_int_range(min, max)),
            );
            None
        }
        _ => {
            mismatch(node, diags, path, &describe_int_range(min, max));
            None
        }
    }
}

fn describe_int_range(min: i64, max: i64) -> String {
    match (min, max) {
        (0, i64::MAX) | (0, 4_294_967_295) => "a non-negative integer".to_string(),
        (1, i64::MAX) | (1, 4_294_967_295) => "a positive integer".to_string(),
        (lo, hi) if hi >= 4_294_967_295 => format!("an integer ≥ {lo}"),
        (lo, hi) => format!("an integer between {lo} and {hi}"),
    }
}

/// A non-negative integer that fits in u32.
pub fn count(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<u32> {
    int_in(0, u32::MAX.into())(node, diags, path)
}

/// A positive integer that fits in u32.
pub fn positive(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<u32> {
    int_in(1, u32::MAX.into())(node, diags, path)
}

pub fn port(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<u16> {
    int_in(1, 65_535)(node, diags, path)
}

/// A finite float in the half-open range `(low, high]`; integers are accepted as floats.
pub fn float_in(low: f64, high: f64) -> impl Fn(&Node, &mut Diagnostics, &str) -> Option<f64> {
    move |node, diags, path| {
        let expected = if high.is_infinite() {
            format!("a number > {low}")
        } else {
            format!("a number > {low} and ≤ {high}")
        };
        let x = match node.value {
            Value::Float(f) => f,
            #[allow(clippy::cast_precision_loss)]
            Value::Integer(i) => i as f64,
            _ => {
                mismatch(node, diags, path, &expected);
                return None;
            }
        };
        if x.is_finite() && x > low && x <= high {
            Some(x)
        } else {
            diags.error(node.span, path, format!("expected {expected}, found {x}"));
            None
        }
    }
}

pub fn string_list(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Vec<String>> {
    let Value::Array(items) = &node.value else {
        mismatch(node, diags, path, "a list of strings");
        return None;
    };
    let parsed: Vec<Option<String>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| string(item, diags, &format!("{path}[{i}]")))
        .collect();
    parsed.into_iter().collect()
}

/// A list of container mounts (`extra_container_mounts`). pyxis reads `--container-mounts` as
/// one comma-separated list, so a comma inside a mount would split it into other mounts: it is
/// refused here, at the mount's position, rather than when the script is written.
pub fn container_mounts(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Vec<String>> {
    let mounts = string_list(node, diags, path)?;
    let Value::Array(items) = &node.value else {
        return Some(mounts);
    };
    let mut ok = true;
    for (i, (mount, item)) in mounts.iter().zip(items).enumerate() {
        if mount.contains(',') {
            diags.error(
                item.span,
                &format!("{path}[{i}]"),
                format!(
                    "expected a container mount without a comma (pyxis separates mounts with commas), found {mount:?}"
                ),
            );
            ok = false;
        }
    }
    ok.then_some(mounts)
}

/// A string chosen from a fixed set.
pub fn one_of(
    choices: &'static [&'static str],
) -> impl Fn(&Node, &mut Diagnostics, &str) -> Option<String> {
    move |node, diags, path| {
        let expected = format!("one of {}", quoted_list(choices));
        let Value::String(s) = &node.value else {
            mismatch(node, diags, path, &expected);
            return None;
        };
        if choices.contains(&s.as_str()) {
            Some(s.clone())
        } else {
            diags.error(node.span, path, format!("expected {expected}, found {s:?}"));
            None
        }
    }
}

pub fn quoted_list<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An environment variable value: a string, or a number/boolean written unquoted (environment
/// values are text anyway; booleans become lower-case `true`/`false`).
pub fn env_scalar(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<String> {
    match &node.value {
        Value::String(s) => Some(s.clone()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Boolean(b) => Some(b.to_string()),
        _ => {
            mismatch(node, diags, path, "a string");
            None
        }
    }
}

/// An environment value: a scalar whose text is shell (a double-quoted word, see
/// [`crate::render::quote::env_word`]), so an unterminated `$(`, `${` or backquote is an error
/// here rather than a broken script.
pub fn env_value(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<String> {
    let v = env_scalar(node, diags, path)?;
    match crate::render::quote::env_word(&v) {
        Ok(_) => Some(v),
        Err(why) => {
            diags.error(
                node.span,
                path,
                format!("expected a shell word (values expand like a double-quoted string): {why}, found {v:?}"),
            );
            None
        }
    }
}

/// Slurm's `--time` formats: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`, or
/// `UNLIMITED`/`INFINITE`.
pub fn slurm_time(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<String> {
    let raw = match &node.value {
        Value::String(s) => s.trim().to_string(),
        Value::Integer(i) if *i > 0 => i.to_string(),
        _ => {
            mismatch(
                node,
                diags,
                path,
                "a Slurm time limit string such as \"00:30:00\"",
            );
            return None;
        }
    };
    if is_slurm_time(&raw) {
        Some(raw)
    } else {
        diags.error(
            node.span,
            path,
            format!(
                "expected a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS), found {raw:?}"
            ),
        );
        None
    }
}

fn is_slurm_time(s: &str) -> bool {
    slurm_time_seconds(s).is_some()
}

/// Seconds of a Slurm time limit: `None` if it is not one, `Some(None)` for `UNLIMITED`.
/// Slurm's forms: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
pub fn slurm_time_seconds(s: &str) -> Option<Option<u64>> {
    let s = s.trim();
    if matches!(s.to_ascii_uppercase().as_str(), "UNLIMITED" | "INFINITE") {
        return Some(None);
    }
    let number = |p: &str| -> Option<u64> {
        (!p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (Some(number(d)?), r),
        None => (None, s),
    };
    let parts = rest.split(':').map(number).collect::<Option<Vec<u64>>>()?;
    let seconds = match (days, &parts[..]) {
        (None, &[m]) => m * 60,
        (None, &[m, s]) => m * 60 + s,
        (_, &[h, m, s]) => h * 3600 + m * 60 + s,
        (Some(_), &[h]) => h * 3600,
        (Some(_), &[h, m]) => h * 3600 + m * 60,
        _ => return None,
    };
    Some(Some(days.unwrap_or(0) * 86_400 + seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_time_formats() {
        for ok in [
            "30",
            "30:00",
            "01:00:00",
            "1-0",
            "1-02:03",
            "2-00:00:00",
            "UNLIMITED",
        ] {
            assert!(is_slurm_time(ok), "{ok}");
        }
        for bad in ["", "1h", "1:2:3:4", "-1", "a-01:00", "1--2"] {
            assert!(!is_slurm_time(bad), "{bad}");
        }
        for (text, secs) in [
            ("30", 1800),
            ("30:15", 1815),
            ("01:00:00", 3600),
            ("1-0", 86_400),
            ("1-02:03", 86_400 + 2 * 3600 + 3 * 60),
            ("2-00:00:05", 2 * 86_400 + 5),
        ] {
            assert_eq!(slurm_time_seconds(text), Some(Some(secs)), "{text}");
        }
        assert_eq!(slurm_time_seconds("UNLIMITED"), Some(None));
    }
}
