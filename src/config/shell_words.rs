//! POSIX-shell word splitting for option strings such as `extra_srun_args`, so that each word
//! can be quoted on its own when written into a script.

/// Split like `sh` does for a plain command line: whitespace separates words; single quotes,
/// double quotes (with `\"`, `\\`, `\$`, `` \` `` escapes) and backslashes quote.
/// No expansion of any kind happens.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err("found an unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => cur.push(e),
                            Some(other) => {
                                cur.push('\\');
                                cur.push(other);
                            }
                            None => return Err("found an unterminated double quote".into()),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err("found an unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(ch) => cur.push(ch),
                    None => return Err("found a trailing backslash".into()),
                }
            }
            ch => {
                in_word = true;
                cur.push(ch);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
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
}
