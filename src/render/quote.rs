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

/// A value for an `#SBATCH` line. sbatch reads those lines itself (no shell): blanks separate
/// arguments, `"…"` and `'…'` group, `\\` escapes the next character (also inside quotes) and
/// an unquoted `#` starts a comment (Slurm `src/sbatch/opt.c`, `_get_argument`). A value with
/// any of those characters is double-quoted with `"` and `\\` escaped; line breaks are refused
/// by [`check_directive`].
pub fn directive(s: &str) -> String {
    if s.chars()
        .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '#'))
    {
        format!("\"{}\"", s.replace('\\', r"\\").replace('"', r#"\""#))
    } else {
        s.to_string()
    }
}

/// Why a value cannot be written into a generated script.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuoteError {
    #[error("{what} {value:?} cannot be written into an #SBATCH line (line break)")]
    DirectiveLineBreak { what: &'static str, value: String },
    #[error("unterminated backquote (`) command substitution")]
    UnterminatedBackquote,
    #[error("unterminated single quote inside `{open}`")]
    UnterminatedSingleQuote { open: &'static str },
    #[error("unterminated double quote inside `{open}`")]
    UnterminatedDoubleQuote { open: &'static str },
    #[error("unterminated `{open}`: no matching `{close}`")]
    Unterminated { open: &'static str, close: char },
}

/// Why sbatch cannot read a user's `#SBATCH` line ([`sbatch_line_error`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SbatchLineError {
    #[error("a line break cannot be part of an #SBATCH line")]
    LineBreak,
    #[error("unmatched `{0}`: sbatch refuses the script (quote the value in pairs)")]
    UnmatchedQuote(char),
}

/// Whether a generated value can be written into an `#SBATCH` line at all.
pub fn check_directive(what: &'static str, s: &str) -> Result<(), QuoteError> {
    if s.contains(['\n', '\r']) {
        Err(QuoteError::DirectiveLineBreak {
            what,
            value: s.to_string(),
        })
    } else {
        Ok(())
    }
}

/// Why sbatch could not read `line` (a user's `extra_sbatch_args` entry, written as given
/// after `#SBATCH `), or `None`: a line break ends the directive, and an unmatched quote makes
/// sbatch stop with "Unmatched `\"`" (same rules as [`directive`]).
pub fn sbatch_line_error(line: &str) -> Option<SbatchLineError> {
    if line.contains(['\n', '\r']) {
        return Some(SbatchLineError::LineBreak);
    }
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                chars.next();
            }
            ('#', None) => break,
            ('"' | '\'', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            _ => {}
        }
    }
    quote.map(SbatchLineError::UnmatchedQuote)
}

/// An environment value as a double-quoted shell word: parameter expansion (`$VAR`, `${…}`),
/// command substitution (`$(…)`, backquotes, with their own nested quotes) and arithmetic work,
/// as in CloudAI's unquoted `export KEY=value`, but the result is never split or globbed. A
/// `"` outside a substitution is taken literally, and a trailing `\\` too. Errors name an
/// unterminated construct (the value would not parse as one word).
pub fn env_word(value: &str) -> Result<String, QuoteError> {
    let c: Vec<char> = value.chars().collect();
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '\\' if i + 1 < c.len() => {
                out.push('\\');
                out.push(c[i + 1]);
                i += 2;
                continue;
            }
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str(r#"\""#),
            '$' | '`' => {
                let end = substitution_end(&c, i)?;
                out.extend(&c[i..end]);
                i = end;
                continue;
            }
            ch => out.push(ch),
        }
        i += 1;
    }
    out.push('"');
    Ok(out)
}

/// End (exclusive) of the substitution starting at `c[i]` (`$(`, `${`, `` ` `` or a plain `$`).
fn substitution_end(c: &[char], i: usize) -> Result<usize, QuoteError> {
    match (c[i], c.get(i + 1)) {
        ('`', _) => backquote_end(c, i + 1),
        ('$', Some('(')) => nested_end(c, i + 2, ')'),
        ('$', Some('{')) => nested_end(c, i + 2, '}'),
        _ => Ok(i + 1),
    }
}

fn backquote_end(c: &[char], mut i: usize) -> Result<usize, QuoteError> {
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '`' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(QuoteError::UnterminatedBackquote)
}

/// Shell text up to the `close` that ends a `$(…)` or `${…}`: quotes, escapes and nested
/// substitutions are skipped over, parentheses counted.
fn nested_end(c: &[char], mut i: usize, close: char) -> Result<usize, QuoteError> {
    let open = if close == ')' { "$(" } else { "${" };
    let mut depth = 0usize;
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '\'' => {
                i = c[i + 1..]
                    .iter()
                    .position(|&x| x == '\'')
                    .map(|p| i + 1 + p + 1)
                    .ok_or(QuoteError::UnterminatedSingleQuote { open })?;
            }
            '"' => i = dquote_end(c, i + 1, open)?,
            '$' | '`' => i = substitution_end(c, i)?,
            '(' => {
                depth += 1;
                i += 1;
            }
            ')' if close == ')' && depth > 0 => {
                depth -= 1;
                i += 1;
            }
            x if x == close => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(QuoteError::Unterminated { open, close })
}

fn dquote_end(c: &[char], mut i: usize, open: &'static str) -> Result<usize, QuoteError> {
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '"' => return Ok(i + 1),
            '$' | '`' => i = substitution_end(c, i)?,
            _ => i += 1,
        }
    }
    Err(QuoteError::UnterminatedDoubleQuote { open })
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

    #[test]
    fn env_words() {
        let ok = |v: &str| env_word(v).unwrap();
        assert_eq!(
            ok("/opt/x/lib:$LD_LIBRARY_PATH"),
            r#""/opt/x/lib:$LD_LIBRARY_PATH""#
        );
        assert_eq!(ok(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(ok(r"C:\x\"), r#""C:\x\\""#);
        let nested = r#"$(scontrol show hostnames "$SLURM_JOB_NODELIST" | tr -s '\n' ',')"#;
        assert_eq!(ok(nested), format!("\"{nested}\""));
        assert_eq!(ok("${A:-\"}\"}x"), "\"${A:-\"}\"}x\"");
        assert_eq!(ok("$((1 + (2)))"), "\"$((1 + (2)))\"");
        assert_eq!(
            env_word("$(echo").unwrap_err().to_string(),
            "unterminated `$(`: no matching `)`"
        );
        assert_eq!(
            env_word("${A"),
            Err(QuoteError::Unterminated {
                open: "${",
                close: '}'
            })
        );
        assert_eq!(env_word("`date"), Err(QuoteError::UnterminatedBackquote));
        assert_eq!(
            env_word("$(echo \"a)"),
            Err(QuoteError::UnterminatedDoubleQuote { open: "$(" })
        );
        assert_eq!(
            env_word("$(echo 'a)"),
            Err(QuoteError::UnterminatedSingleQuote { open: "$(" })
        );
    }

    #[test]
    fn sbatch_lines() {
        assert_eq!(sbatch_line_error(r#"--comment="a b""#), None);
        assert_eq!(sbatch_line_error(r#"--comment='it"s'"#), None);
        assert_eq!(sbatch_line_error(r#"--comment=a\"b"#), None);
        assert_eq!(
            sbatch_line_error(r#"--comment="a b"#),
            Some(SbatchLineError::UnmatchedQuote('"'))
        );
        assert_eq!(
            sbatch_line_error("--comment=a\nb"),
            Some(SbatchLineError::LineBreak)
        );
        assert_eq!(directive("a b"), r#""a b""#);
        assert_eq!(directive(r#"x"y\z"#), r#""x\"y\\z""#);
        assert_eq!(directive("plain"), "plain");
    }
}
