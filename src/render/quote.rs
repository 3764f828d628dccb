//! Shell quoting. Every user string that reaches a generated script goes through [`sh`], so
//! that no value can run a command: `$(…)`, backticks, `;`, quotes and newlines stay data.

/// Quote one word for POSIX shells: unchanged if it only has safe characters, otherwise in
/// single quotes (inside which nothing is special) with each `'` written as `'\''`.
pub fn sh(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Quote each word and join with spaces.
pub fn sh_words<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| sh(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A value for an `#SBATCH` line. sbatch reads those lines itself (no shell), splitting on
/// blanks and honouring double quotes, so a value with blanks is double-quoted; values with a
/// line break or a double quote are refused by [`check_directive`] before rendering.
pub fn directive(s: &str) -> String {
    if s.chars().any(char::is_whitespace) {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// Whether a value can be written into an `#SBATCH` line at all.
pub fn check_directive(what: &str, s: &str) -> Result<(), String> {
    if s.contains(['\n', '\r', '"']) {
        Err(format!(
            "{what} {s:?} cannot be written into an #SBATCH line (line break or double quote)"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh("abc-1.2/x:y"), "abc-1.2/x:y");
        assert_eq!(sh(""), "''");
        assert_eq!(sh("a b"), "'a b'");
        assert_eq!(sh("it's"), r"'it'\''s'");
        assert_eq!(sh("$(touch x)"), "'$(touch x)'");
    }
}
