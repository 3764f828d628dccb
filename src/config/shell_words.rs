//! POSIX-shell word splitting for option strings such as `extra_srun_args`, so that each word
//! can be quoted on its own when written into a script.
//!
//! The `shell-words` crate rather than our own: CloudAI pasted these strings into a bash
//! command line (13816b1a, `slurm_command_gen_strategy.py`), and the crate splits as bash
//! does: only space, tab and newline separate words (a Unicode blank such as U+00A0 is part
//! of a word, as in bash), and a backslash-newline outside quotes joins lines.

/// Split like `sh` does for a plain command line: blanks separate words; single quotes,
/// double quotes (with `\"`, `\\`, `\$`, `` \` `` escapes) and backslashes quote. No expansion.
pub fn split_words(s: &str) -> Result<Vec<String>, shell_words::ParseError> {
    shell_words::split(s)
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn splits_and_unquotes() {
        assert_eq!(
            split_words(r#"--reservation r1  --comment 'a b' --x="c d" e\ f"#).unwrap(),
            vec!["--reservation", "r1", "--comment", "a b", "--x=c d", "e f"]
        );
        assert_eq!(split_words("").unwrap(), Vec::<String>::new());
        assert_eq!(split_words("''").unwrap(), vec![""]);
        assert!(split_words("'open").is_err());
    }

    /// bash: `printf '<%s>' a$'\u00a0'b` is one word; `a\<newline>b` is `ab`.
    #[test]
    fn blanks_and_line_continuation_as_bash() {
        assert_eq!(split_words("a\u{a0}b c").unwrap(), vec!["a\u{a0}b", "c"]);
        assert_eq!(split_words("--x a\\\nb").unwrap(), vec!["--x", "ab"]);
    }
}
