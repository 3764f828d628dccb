//! `read_results`' typed objects: `Results`, `ResultTable` and `ResultMetric`.
//!
//! The parsed export stays in Rust ([`CompactResults`]); Python values are made when an
//! attribute is read, so the object costs what the core keeps, not a dict per cell. For the
//! callers of the dict `read_results` used to return, each class answers `obj["key"]` with
//! that dict's keys (a metric also `get`), and `to_dict()` returns the dict itself.

use std::sync::Arc;

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pythonize::pythonize;

use super::errors::guard;
use crate::Error;
use crate::results::{Columns, CompactResults, Metric, Query};

/// A parsed results file (`read_results`).
#[pyclass(frozen, module = "cloudai_dynamo_rs._core", name = "Results")]
pub struct PyResults {
    inner: Arc<CompactResults>,
}

impl PyResults {
    pub fn new(inner: CompactResults) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    fn table(&self, index: usize) -> PyResultTable {
        PyResultTable {
            inner: self.inner.clone(),
            index,
        }
    }
}

#[pymethods]
impl PyResults {
    /// The file it came from.
    #[getter]
    fn source(&self) -> String {
        self.inner.source().to_string_lossy().into_owned()
    }

    #[getter]
    fn tool<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize(py, &self.inner.tool())?)
    }

    #[getter]
    fn format<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize(py, &self.inner.format())?)
    }

    #[getter]
    fn version(&self) -> Option<&str> {
        self.inner.version()
    }

    #[getter]
    fn tables(&self) -> Vec<PyResultTable> {
        (0..self.inner.tables().len())
            .map(|i| self.table(i))
            .collect()
    }

    /// Every metric of every table, in file order.
    fn metrics(&self) -> Vec<PyResultMetric> {
        (0..self.inner.tables().len())
            .flat_map(|t| self.inner.metrics(t))
            .map(PyResultMetric::from)
            .collect()
    }

    /// One value, as `get_metric` reads it from the file.
    #[pyo3(signature = (metric, stat = None))]
    fn lookup(&self, metric: &str, stat: Option<&str>) -> PyResult<f64> {
        guard(|| {
            let query = Query::new(metric, stat);
            let value = self
                .inner
                .query(&query)
                .map_err(|e| Error::lookup(self.inner.source(), e))?;
            Ok(value)
        })
    }

    /// The dict `read_results` used to return.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize(py, &*self.inner)?)
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        match key {
            "source" => self.source().into_bound_py_any(py),
            "tool" => self.tool(py),
            "format" => self.format(py),
            "version" => self.version().into_bound_py_any(py),
            "tables" => self.tables().into_bound_py_any(py),
            _ => Err(PyKeyError::new_err(key.to_owned())),
        }
    }

    fn __repr__(&self) -> String {
        let rows: usize = self.inner.tables().iter().map(|t| t.rows).sum();
        format!(
            "<Results {:?}: {} tables, {} metrics>",
            self.source(),
            self.inner.tables().len(),
            rows
        )
    }
}

/// One table of a [`PyResults`].
#[pyclass(frozen, module = "cloudai_dynamo_rs._core", name = "ResultTable")]
pub struct PyResultTable {
    inner: Arc<CompactResults>,
    index: usize,
}

#[pymethods]
impl PyResultTable {
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize(py, &self.inner.tables()[self.index].kind)?)
    }

    #[getter]
    fn line(&self) -> usize {
        self.inner.tables()[self.index].line
    }

    #[getter]
    fn columns(&self) -> Vec<String> {
        self.inner.tables()[self.index].columns.clone()
    }

    #[getter]
    fn metrics(&self) -> Vec<PyResultMetric> {
        self.inner
            .metrics(self.index)
            .map(PyResultMetric::from)
            .collect()
    }

    fn __len__(&self) -> usize {
        self.inner.tables()[self.index].rows
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize(py, &self.inner.table_serialized(self.index))?)
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        match key {
            "kind" => self.kind(py),
            "line" => self.line().into_bound_py_any(py),
            "columns" => self.columns().into_bound_py_any(py),
            "metrics" => self.metrics().into_bound_py_any(py),
            _ => Err(PyKeyError::new_err(key.to_owned())),
        }
    }

    fn __repr__(&self) -> String {
        let head = &self.inner.tables()[self.index];
        format!(
            "<ResultTable {:?} at line {}: {} metrics>",
            head.kind, head.line, head.rows
        )
    }
}

/// One metric row, made from the core's row when it is read.
#[pyclass(frozen, module = "cloudai_dynamo_rs._core", name = "ResultMetric")]
pub struct PyResultMetric {
    metric: Metric,
}

impl From<Metric> for PyResultMetric {
    fn from(metric: Metric) -> Self {
        Self { metric }
    }
}

const METRIC_KEYS: [&str; 5] = ["label", "name", "unit", "attributes", "stats"];

#[pymethods]
impl PyResultMetric {
    #[getter]
    fn label(&self) -> &str {
        &self.metric.label
    }

    #[getter]
    fn name(&self) -> &str {
        &self.metric.name
    }

    #[getter]
    fn unit(&self) -> Option<&str> {
        self.metric.unit.as_deref()
    }

    /// Identity columns such as `GPU`, in file order.
    #[getter]
    fn attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        columns_dict(py, &self.metric.attributes)
    }

    /// Every statistic in file order; `None` for a missing value.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        columns_dict(py, &self.metric.stats)
    }

    /// Value of statistic `name` (ASCII case ignored); `None` if absent or missing.
    fn stat(&self, name: &str) -> Option<f64> {
        self.metric.stat(name)
    }

    /// Value of the default statistic: `avg`, else `Value`.
    #[getter]
    fn value(&self) -> Option<f64> {
        self.metric.value()
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize(py, &self.metric)?)
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        match key {
            "label" => self.label().into_bound_py_any(py),
            "name" => self.name().into_bound_py_any(py),
            "unit" => self.unit().into_bound_py_any(py),
            "attributes" => Ok(self.attributes(py)?.into_any()),
            "stats" => Ok(self.stats(py)?.into_any()),
            _ => Err(PyKeyError::new_err(key.to_owned())),
        }
    }

    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if METRIC_KEYS.contains(&key) {
            self.__getitem__(py, key)
        } else {
            default.into_bound_py_any(py)
        }
    }

    fn __repr__(&self) -> String {
        format!("<ResultMetric {:?}>", self.metric.label)
    }
}

/// `{name: value}` in column order.
fn columns_dict<'py, V: IntoPyObject<'py> + Clone>(
    py: Python<'py>,
    columns: &Columns<V>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in columns.iter() {
        dict.set_item(k, v.clone())?;
    }
    Ok(dict)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyResults>()?;
    m.add_class::<PyResultTable>()?;
    m.add_class::<PyResultMetric>()?;
    Ok(())
}
