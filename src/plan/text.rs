//! The plan for people: one summary line (printed first by dry-run and run) and the full
//! text of `cloudaix plan`. ASCII only, so that any terminal or log shows it as is.

use std::fmt::Write as _;

use super::{Estimate, NodeHours, Plan, Range, TestPlan};

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn range(r: Range) -> String {
    if r.min == r.max {
        r.min.to_string()
    } else {
        format!("{}-{}", r.min, r.max)
    }
}

/// `2 nodes (16 GPUs) per job`, `2-9 nodes (16-72 GPUs) per job`.
fn size(nodes: Option<Range>, gpus: Option<Range>) -> String {
    let Some(n) = nodes else {
        return "no nodes".into();
    };
    let word = if n.max == 1 { "node" } else { "nodes" };
    let gpus = gpus.map_or(String::new(), |g| format!(" ({} GPUs)", range(g)));
    format!("{} {word}{gpus} per job", range(n))
}

fn bound(h: &NodeHours, jobs: usize) -> String {
    match h.upper_bound {
        Some(b) => format!("<= {b:.2} node-hours"),
        None if h.jobs_without_time_limit == jobs => format!(
            "node-hours unbounded ({} without time limit)",
            plural(jobs, "job", "jobs")
        ),
        None => format!(
            "node-hours unbounded ({} without time limit; <= {:.2} for the other {})",
            plural(h.jobs_without_time_limit, "job", "jobs"),
            h.bounded,
            jobs - h.jobs_without_time_limit
        ),
    }
}

fn estimate(e: &Estimate) -> String {
    let part = if e.jobs == e.jobs_total {
        String::new()
    } else {
        format!(" for {} of {} jobs", e.jobs, e.jobs_total)
    };
    format!(
        "est. {:.2} node-hours{part} from earlier runs",
        e.node_hours
    )
}

impl Plan {
    /// The one line that opens dry-run and run.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "plan: {}, {}, {}",
            plural(self.jobs, "job", "jobs"),
            size(self.nodes_per_job, self.gpus_per_job),
            bound(&self.node_hours, self.jobs)
        );
        if self.node_hours.upper_bound.is_some() && self.jobs > 0 {
            s.push_str(" (time limit x nodes)");
        }
        if let Some(e) = &self.estimate {
            let _ = write!(s, ", {}", estimate(e));
        }
        if !self.pruned.is_empty() {
            let _ = write!(
                s,
                ", {} pruned",
                plural(self.pruned.len(), "sweep point", "sweep points")
            );
        }
        s
    }

    /// The full text of `cloudaix plan`.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{}\nscenario {:?} on system {:?}",
            self.summary(),
            self.scenario,
            self.system
        );
        if let Some(g) = self.gpus_per_node {
            let _ = write!(out, " ({g} GPUs per node)");
        }
        out.push('\n');
        if self.history.completed_runs > 0 {
            let _ = writeln!(
                out,
                "earlier results: {} in {}",
                plural(
                    self.history.completed_runs,
                    "completed run",
                    "completed runs"
                ),
                plural(
                    self.history.results_dirs,
                    "results directory",
                    "results directories"
                )
            );
        }
        out.push_str("tests, in start order (iterations of a test run one after the other):\n");
        for (stage, ids) in self.order.stages.iter().enumerate() {
            for id in ids {
                if let Some(t) = self.tests.iter().find(|t| &t.id == id) {
                    let _ = writeln!(out, "  stage {}: {}", stage + 1, test_line(t));
                }
            }
        }
        if !self.pruned.is_empty() {
            out.push_str("pruned sweep points:\n");
            for p in &self.pruned {
                let params: Vec<String> =
                    p.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(
                    out,
                    "  {} step {} [{}]: {}",
                    p.id,
                    p.step,
                    params.join(", "),
                    p.reason
                );
            }
        }
        out
    }
}

fn test_line(t: &TestPlan) -> String {
    let mut s = format!("{} ({}): ", t.id, t.test_name);
    if t.cases > 1 || t.pruned_cases > 0 {
        let _ = write!(
            s,
            "{} x {} = ",
            plural(t.cases, "case", "cases"),
            plural(t.iterations as usize, "iteration", "iterations")
        );
    }
    let _ = write!(
        s,
        "{}, {}, time limit {}, {}",
        plural(t.jobs, "job", "jobs"),
        size(t.nodes_per_job, t.gpus_per_job),
        t.time_limit.as_deref().unwrap_or("none"),
        bound(&t.node_hours, t.jobs)
    );
    if let Some(e) = &t.estimate {
        let _ = write!(s, ", {}", estimate(e));
    }
    for d in &t.dependencies {
        let what = match d.kind.as_str() {
            "start_post_comp" => format!("starts after {} ends", d.id),
            "start_post_init" => format!("starts once {} has started", d.id),
            _ => format!("cancelled when {} ends", d.id),
        };
        let _ = write!(s, "; {what}");
    }
    s
}
