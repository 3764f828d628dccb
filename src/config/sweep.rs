//! Design-space exploration: a list where a scalar is expected declares a sweep axis, and a
//! test expands into the cartesian product of its axes.
//!
//! Order (documented, deterministic): axes are taken in schema order — prefill worker
//! (num_nodes, tensor_parallel_size, pipeline_parallel_size), decode worker (same), load
//! generator (concurrency, request_rate), `extra_env_vars` in file order, then the scenario's
//! `num_nodes` — and cases enumerate like nested loops with the **last axis varying fastest**
//! (the order of Python's `itertools.product`, which CloudAI's grid search uses).

use std::fmt;

use serde::Serialize;

use super::diagnostic::Diagnostics;
use super::node::{Node, Value};
use super::text::is_field_name;

/// Whether `key` is a name the core gives a sweep axis (a run's parameter): the scenario's
/// `num_nodes`, or the dotted path of a sweepable field as `sweep_slots` of either schema
/// names it (`dynamo.prefill_worker.num_nodes`, `genai_perf.args.output-tokens-mean`,
/// `extra_env_vars.NAME`), each part a field name as the file spells it. The dot keeps every
/// one apart from a report column (`status`, `test_id`).
pub fn is_axis_key(key: &str) -> bool {
    key == "num_nodes" || (key.contains('.') && key.split('.').all(is_field_name))
}

/// A field that may be swept: one value, or the list of values to explore.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Sweep<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Clone> Sweep<T> {
    /// The value of a field that has been pinned by expansion (or never swept); for a list,
    /// its first value.
    pub fn value(&self) -> &T {
        match self {
            Sweep::One(v) => v,
            Sweep::Many(vs) => &vs[0],
        }
    }

    pub fn values(&self) -> Vec<T> {
        match self {
            Sweep::One(v) => vec![v.clone()],
            Sweep::Many(vs) => vs.clone(),
        }
    }

    pub fn is_sweep(&self) -> bool {
        matches!(self, Sweep::Many(_))
    }
}

/// A swept value in a form common to all field types (for records and reports).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum SweepValue {
    Int(i64),
    Float(f64),
    Str(String),
}

impl fmt::Display for SweepValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepValue::Int(i) => write!(f, "{i}"),
            SweepValue::Float(x) => write!(f, "{x}"),
            SweepValue::Str(s) => f.write_str(s),
        }
    }
}

impl From<&u32> for SweepValue {
    fn from(v: &u32) -> Self {
        SweepValue::Int(i64::from(*v))
    }
}
impl From<&f64> for SweepValue {
    fn from(v: &f64) -> Self {
        SweepValue::Float(*v)
    }
}
impl From<&String> for SweepValue {
    fn from(v: &String) -> Self {
        SweepValue::Str(v.clone())
    }
}

/// Type-erased access to one sweepable field, used by expansion.
pub trait Slot {
    fn value_count(&self) -> usize;
    /// Written as a list (an axis, even with one value).
    fn is_list(&self) -> bool;
    fn value_at(&self, i: usize) -> SweepValue;
    /// Replace the list by its `i`-th value.
    fn pin(&mut self, i: usize);
}

impl<T: Clone> Slot for Sweep<T>
where
    for<'a> SweepValue: From<&'a T>,
{
    fn value_count(&self) -> usize {
        match self {
            Sweep::One(_) => 1,
            Sweep::Many(v) => v.len(),
        }
    }

    fn is_list(&self) -> bool {
        self.is_sweep()
    }

    fn value_at(&self, i: usize) -> SweepValue {
        match self {
            Sweep::One(v) => v.into(),
            Sweep::Many(vs) => (&vs[i]).into(),
        }
    }

    fn pin(&mut self, i: usize) {
        if let Sweep::Many(vs) = self {
            *self = Sweep::One(vs[i].clone());
        }
    }
}

impl<T: Clone> Slot for Option<Sweep<T>>
where
    for<'a> SweepValue: From<&'a T>,
{
    fn value_count(&self) -> usize {
        self.as_ref().map_or(1, Slot::value_count)
    }

    fn is_list(&self) -> bool {
        self.as_ref().is_some_and(Slot::is_list)
    }

    fn value_at(&self, i: usize) -> SweepValue {
        self.as_ref()
            .map_or(SweepValue::Str(String::new()), |s| s.value_at(i))
    }

    fn pin(&mut self, i: usize) {
        if let Some(s) = self {
            s.pin(i);
        }
    }
}

/// Parse a sweepable field: a scalar accepted by `element`, or a non-empty list of them.
pub fn sweep<T>(
    element: impl Fn(&Node, &mut Diagnostics, &str) -> Option<T>,
) -> impl Fn(&Node, &mut Diagnostics, &str) -> Option<Sweep<T>> {
    move |node, diags, path| match &node.value {
        Value::Array(items) if items.is_empty() => {
            diags.error(
                node.span,
                path,
                "expected a value or a non-empty list of values to sweep, found an empty list",
            );
            None
        }
        Value::Array(items) => {
            let parsed: Vec<Option<T>> = items
                .iter()
                .enumerate()
                .map(|(i, item)| element(item, diags, &format!("{path}[{i}]")))
                .collect();
            parsed
                .into_iter()
                .collect::<Option<Vec<T>>>()
                .map(Sweep::Many)
        }
        _ => {
            let before = diags.found.len();
            let value = element(node, diags, path);
            // Tell the user the field also takes a list: that is how a sweep is declared.
            for d in &mut diags.found[before..] {
                d.message.push_str(" (or a list of such values to sweep)");
            }
            value.map(Sweep::One)
        }
    }
}

/// Indices of every case of a cartesian product over axes of the given lengths, last axis
/// fastest. An empty `lens` yields one empty case.
pub fn product(lens: &[usize]) -> impl Iterator<Item = Vec<usize>> + '_ {
    let total: usize = lens.iter().product();
    (0..total).map(move |mut n| {
        let mut idx = vec![0; lens.len()];
        for (slot, len) in idx.iter_mut().zip(lens).rev() {
            *slot = n % len;
            n /= len;
        }
        idx
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_keys() {
        for k in [
            "num_nodes",
            "genai_perf.concurrency",
            "dynamo.prefill_worker.num_nodes",
            "extra_env_vars.MY_VAR",
            // The current schema's arguments keep their file spelling.
            "genai_perf.args.output-tokens-mean",
            "dynamo.decode_worker.args.tensor-parallel-size",
        ] {
            assert!(is_axis_key(k), "{k}");
        }
        for k in [
            "status", "test_id", "", "a.", ".a", "a..b", "a.b c", "cause", "a.-b", "a.b/c",
        ] {
            assert!(!is_axis_key(k), "{k}");
        }
    }

    #[test]
    fn product_is_last_axis_fastest() {
        let cases: Vec<Vec<usize>> = product(&[2, 3]).collect();
        assert_eq!(
            cases,
            vec![
                vec![0, 0],
                vec![0, 1],
                vec![0, 2],
                vec![1, 0],
                vec![1, 1],
                vec![1, 2]
            ]
        );
        assert_eq!(product(&[]).count(), 1);
        assert_eq!(product(&[4, 0]).count(), 0);
    }

    #[test]
    fn pinning_a_sweep_keeps_one_value() {
        let mut s = Sweep::Many(vec![1u32, 2, 4]);
        assert_eq!(s.value_count(), 3);
        s.pin(2);
        assert_eq!(s, Sweep::One(4));
    }
}
