//! A spanned TOML tree that outlives the parser's borrowed input and can be merged across files.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::source::{FileId, Span};

/// One TOML value with the place it came from.
#[derive(Clone, Debug)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

/// A table key with its own span (errors about unknown keys point at the key).
#[derive(Clone, Debug)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Value {
    String(String),
    Integer(i64),
    /// An integer TOML accepts but i64 cannot hold, kept as written for error messages.
    OutOfRange(String),
    Float(f64),
    Boolean(bool),
    Datetime(String),
    Array(Vec<Node>),
    /// Entries in document order.
    Table(Vec<(Key, Node)>),
}

impl Value {
    /// How the value is described in "found …" error messages.
    pub fn describe(&self) -> String {
        match self {
            Value::String(s) => format!("string {}", quote_short(s)),
            Value::Integer(i) => format!("integer {i}"),
            Value::OutOfRange(raw) => format!("integer {raw} (out of the 64-bit range)"),
            Value::Float(f) => format!("float {f}"),
            Value::Boolean(b) => format!("boolean {b}"),
            Value::Datetime(d) => format!("datetime {d}"),
            Value::Array(a) => format!("a list of {} item(s)", a.len()),
            Value::Table(_) => "a table".to_string(),
        }
    }
}

fn quote_short(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() > MAX {
        let head: String = s.chars().take(MAX).collect();
        format!("{:?}…", head)
    } else {
        format!("{s:?}")
    }
}

/// Canonical spelling of a key: CloudAI accepts `tensor-parallel-size` and
/// `tensor_parallel_size` as the same field, so all lookups go through this.
pub fn canonical_key(name: &str) -> String {
    name.replace('-', "_")
}

/// `canonical_key(key) == canonical`, without allocating (lookups run once per field).
pub fn same_key(key: &str, canonical: &str) -> bool {
    key.len() == canonical.len()
        && key
            .bytes()
            .zip(canonical.bytes())
            .all(|(a, b)| a == b || (a == b'-' && b == b'_'))
}

/// A TOML syntax error, with its span.
pub struct SyntaxError {
    pub message: String,
    pub span: Span,
}

/// Parse a whole document into a table node.
pub fn parse_document(text: &str, file: FileId) -> Result<Node, SyntaxError> {
    match DeTable::parse(text) {
        Ok(table) => {
            let span = to_span(file, table.span());
            Ok(Node {
                value: convert_table(table.into_inner(), file),
                span,
            })
        }
        Err(err) => {
            let range = err.span().unwrap_or(0..0);
            Err(SyntaxError {
                message: err.message().trim().to_string(),
                span: Span {
                    file,
                    start: range.start,
                    end: range.end,
                },
            })
        }
    }
}

fn to_span(file: FileId, range: std::ops::Range<usize>) -> Span {
    Span {
        file,
        start: range.start,
        end: range.end,
    }
}

/// Entries in document order. The parser's map is sorted by name (toml's `preserve_order`
/// hashes every key twice, a tenth of parsing a test file); each key was stored where it first
/// appears, so ordering by the key's position gives back the order of the file.
fn convert_table(table: DeTable<'_>, file: FileId) -> Value {
    let mut entries: Vec<(Key, Node)> = table
        .into_iter()
        .map(|(k, v)| {
            let key = Key {
                span: to_span(file, k.span()),
                name: k.into_inner().into_owned(),
            };
            (key, convert(v, file))
        })
        .collect();
    entries.sort_unstable_by_key(|(k, _)| k.span.start);
    Value::Table(entries)
}

fn convert(v: Spanned<DeValue<'_>>, file: FileId) -> Node {
    let span = to_span(file, v.span());
    let value = match v.into_inner() {
        DeValue::String(s) => Value::String(s.into_owned()),
        DeValue::Integer(i) => parse_integer(i.as_str(), i.radix())
            .map_or_else(|| Value::OutOfRange(i.as_str().to_string()), Value::Integer),
        DeValue::Float(f) => Value::Float(parse_float(f.as_str())),
        DeValue::Boolean(b) => Value::Boolean(b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(a) => Value::Array(a.into_iter().map(|e| convert(e, file)).collect()),
        DeValue::Table(t) => convert_table(t, file),
    };
    Node { value, span }
}

fn parse_integer(raw: &str, radix: u32) -> Option<i64> {
    if radix == 10 && !raw.contains('_') {
        return raw.parse().ok(); // the usual spelling, without the copies below
    }
    let cleaned: String = raw.chars().filter(|c| *c != '_').collect();
    let (negative, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.strip_prefix('+').unwrap_or(&cleaned)),
    };
    let digits = if radix == 10 {
        digits
    } else {
        digits.get(2..)?
    };
    // Parsed with its sign, so that i64::MIN is in range.
    let signed = if negative {
        format!("-{digits}")
    } else {
        digits.to_string()
    };
    i64::from_str_radix(&signed, radix).ok()
}

fn parse_float(raw: &str) -> f64 {
    let cleaned: std::borrow::Cow<str> = if raw.contains('_') {
        raw.chars().filter(|c| *c != '_').collect::<String>().into()
    } else {
        raw.into()
    };
    match cleaned.as_ref() {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" | "+nan" | "-nan" => f64::NAN,
        other => other.parse().unwrap_or(f64::NAN),
    }
}

/// Deep-merge `overlay` into `base`: tables merge key by key (keys compared in canonical
/// spelling, so a dashed override replaces an underscored field), anything else is replaced.
pub fn merge(base: &mut Node, overlay: &Node) {
    let (Value::Table(base_entries), Value::Table(overlay_entries)) =
        (&mut base.value, &overlay.value)
    else {
        *base = overlay.clone();
        return;
    };
    for (key, value) in overlay_entries {
        let canonical = canonical_key(&key.name);
        match base_entries
            .iter_mut()
            .find(|(k, _)| same_key(&k.name, &canonical))
        {
            Some((existing_key, existing)) => {
                *existing_key = key.clone();
                merge(existing, value);
            }
            None => base_entries.push((key.clone(), value.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        parse_document(text, 0).ok().expect("valid toml")
    }

    fn get<'a>(node: &'a Node, key: &str) -> &'a Node {
        let Value::Table(entries) = &node.value else {
            panic!("not a table")
        };
        &entries.iter().find(|(k, _)| k.name == key).expect("key").1
    }

    #[test]
    fn integers_in_every_radix() {
        assert_eq!(parse_integer("0x1F", 16), Some(31));
        assert_eq!(parse_integer("-1_000", 10), Some(-1000));
        assert_eq!(parse_integer("0o17", 8), Some(15));
        assert_eq!(parse_integer("0b101", 2), Some(5));
        assert_eq!(
            parse_integer("-9_223_372_036_854_775_808", 10),
            Some(i64::MIN)
        );
        assert_eq!(parse_integer("99999999999999999999", 10), None);
    }

    #[test]
    fn merge_matches_dashed_and_underscored_keys() {
        let mut base = doc("[w]\ntensor_parallel_size = 8\nblock_size = 64\n");
        let overlay = doc("[w]\ntensor-parallel-size = 4\n");
        merge(&mut base, &overlay);
        let w = get(&base, "w");
        let Value::Table(entries) = &w.value else {
            panic!()
        };
        assert_eq!(entries.len(), 2);
        assert!(matches!(
            get(w, "tensor-parallel-size").value,
            Value::Integer(4)
        ));
    }

    fn names(node: &Node) -> Vec<&str> {
        let Value::Table(entries) = &node.value else {
            panic!("not a table")
        };
        entries.iter().map(|(k, _)| k.name.as_str()).collect()
    }

    #[test]
    fn tables_keep_the_order_of_the_file() {
        let root = doc("z = 1\na.y = 2\na.b = 3\n[u]\n[t]\ny = 1\nb = 2\n[[c]]\n");
        assert_eq!(names(&root), ["z", "a", "u", "t", "c"]);
        assert_eq!(names(get(&root, "a")), ["y", "b"]);
        assert_eq!(names(get(&root, "t")), ["y", "b"]);
    }

    #[test]
    fn syntax_error_has_a_span() {
        let Err(e) = parse_document("a = \n", 3) else {
            panic!("must fail")
        };
        assert_eq!(e.span.file, 3);
        assert!(!e.message.is_empty());
    }
}
