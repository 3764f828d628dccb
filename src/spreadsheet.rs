//! Text cells of the CSV files the report writes (`summary.csv`, `trajectory.csv`), made safe
//! for spreadsheets. Excel and LibreOffice read a cell that starts with `=`, `+`, `-` or `@`
//! (or a tab or carriage return before one) as a formula, so a test name such as
//! `=HYPERLINK(…)` would run when the file is opened. As OWASP's "CSV Injection" advice says,
//! such a cell is written with a leading `'`, which spreadsheets take as "text" and do not
//! show. Numbers are not text cells and are written as they are (a negative value stays one).

/// `text` as a CSV text cell a spreadsheet shows as written and never evaluates.
pub fn text_cell(text: &str) -> String {
    if starts_formula(text) && !is_plain_number(text) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn starts_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// A decimal number as text (`-1`, `+2.5e3`): a spreadsheet reads it as that number, not as a
/// formula, so it stays unchanged.
fn is_plain_number(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && text.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::text_cell;

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        assert_eq!(text_cell("=1+2"), "'=1+2");
        assert_eq!(text_cell("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(text_cell("-2+3"), "'-2+3");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("\t=1"), "'\t=1");
        assert_eq!(text_cell("-inf"), "'-inf");
        assert_eq!(text_cell("-1.5e3"), "-1.5e3");
        assert_eq!(text_cell("+7"), "+7");
        assert_eq!(text_cell("llama=1"), "llama=1");
        assert_eq!(text_cell(""), "");
    }
}
