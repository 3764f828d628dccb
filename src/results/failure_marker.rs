//! The failure marker a job script leaves when a Dynamo process dies, read back as a cause.
//!
//! Both schema generations' scripts write it with the same `fail` helper
//! (`src/render/launch_common.sh`): a first line `role=… node=… host=… process=… exit=…`,
//! then the last lines of the dead process's logs. The DCGM exporter and `startup_cmd`
//! steps (`src/render/aux_steps.rs`) write `role=… process=… exit=…` and their own lines.

/// The longest log line quoted in a cause: a marker's tail may hold a long stack line.
const MAX_LOG_LINE: usize = 300;

/// Roles whose processes are Dynamo workers, named "… worker" in a cause.
const WORKER_ROLES: [&str; 2] = ["prefill", "decode"];

/// The `key=value` fields of a marker's first line, in order. A word without `=` continues
/// the previous value: the scripts write `process=$process` unquoted, and a process name
/// may hold spaces (`prefill setup`).
fn fields(line: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for word in line.split_whitespace() {
        match word.split_once('=') {
            Some((key, value))
                if !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_') =>
            {
                out.push((key, value.to_owned()));
            }
            _ => {
                if let Some((_, value)) = out.last_mut() {
                    value.push(' ');
                    value.push_str(word);
                }
            }
        }
    }
    out
}

fn describe_role(role: &str) -> String {
    let name = role.replace('_', " ");
    if WORKER_ROLES.contains(&role) {
        format!("{name} worker")
    } else {
        name
    }
}

/// Explain a failure marker's text: who died, where, with which code, and its last words.
/// A first line without `role=` is not in the agreed format: it is shown as written.
pub fn failure_cause(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let last: String = lines
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(|l| l.chars().take(MAX_LOG_LINE).collect())
        .unwrap_or_default();
    let tail = if last.is_empty() {
        String::new()
    } else {
        format!(": {last}")
    };
    let head = fields(first);
    // The last of a repeated key wins, as the scripts never repeat one.
    let get = |key: &str| {
        head.iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let Some(role) = head
        .iter()
        .rev()
        .find(|(k, _)| *k == "role")
        .map(|(_, v)| v)
    else {
        let first = first.trim();
        let first = if first.is_empty() { "empty" } else { first };
        return format!("failure marker: {first}{tail}");
    };
    let mut who = describe_role(role);
    let mut details = Vec::new();
    if let Some(host) = get("host") {
        // `node` is the Slurm node id, as in the log names (decode_stdout_node2.txt).
        who += &format!(" on node {}", get("node").unwrap_or("?"));
        details.push(format!("host {host}"));
    } else if let Some(node) = get("node") {
        who += &format!(" on {node}");
    }
    if let Some(process) = get("process") {
        details.push(format!("process {process}"));
    }
    if !details.is_empty() {
        who += &format!(" ({})", details.join(", "));
    }
    let what = match get("exit") {
        Some(code) => format!("exited with code {code}"),
        None => "failed".to_owned(),
    };
    format!("{who} {what}{tail}")
}
