//! The system TOML: CloudAI's `SlurmSystem` fields plus `container_runtime` for bare-metal
//! clusters without pyxis, or CloudAI's `StandaloneSystem` (`scheduler = "standalone"`: this
//! machine, no job scheduler), whose fields are only those of CloudAI's base `System`.

use indexmap::IndexMap;
use serde::Serialize;

use super::diagnostic::Diagnostics;
use super::node::{Node, Value};
use super::parse::{
    boolean, count, env_value, non_empty_string, one_of, positive, string, string_list,
};
use super::reader::{TableReader, list_of_tables};
use super::shell_words::split_words;
use super::test_def::read_env;

#[derive(Clone, Debug, Serialize)]
pub struct SystemConfig {
    pub name: String,
    /// `slurm` or `standalone`.
    pub scheduler: String,
    pub install_path: String,
    pub output_path: String,
    pub default_partition: String,
    pub partitions: Vec<Partition>,
    pub account: Option<String>,
    pub distribution: Option<String>,
    pub mpi: String,
    pub gpus_per_node: Option<u32>,
    pub ntasks_per_node: Option<u32>,
    pub cache_docker_images_locally: bool,
    pub global_env_vars: IndexMap<String, String>,
    /// Seconds between two polls of the job state.
    pub monitor_interval: u32,
    /// `extra_srun_args` split into words (each is quoted on its own in scripts).
    pub extra_srun_args: Vec<String>,
    pub extra_sbatch_args: Vec<String>,
    pub container_mount_home: bool,
    /// `pyxis` (srun `--container-*` flags) or `none` (bare metal: host paths used directly).
    pub container_runtime: ContainerRuntime,
    pub data_repository: Option<DataRepository>,
    /// CloudAI's `hf_home_path` (base `System` field), accepted and kept for the record.
    pub hf_home_path: Option<String>,
}

impl SystemConfig {
    /// A standalone system (this machine) with CloudAI's defaults.
    pub fn standalone(name: String, install_path: String, output_path: String) -> SystemConfig {
        SystemConfig {
            name,
            scheduler: STANDALONE.to_string(),
            install_path,
            output_path,
            default_partition: String::new(),
            partitions: Vec::new(),
            account: None,
            distribution: None,
            mpi: "none".to_string(),
            gpus_per_node: None,
            ntasks_per_node: None,
            cache_docker_images_locally: false,
            global_env_vars: IndexMap::new(),
            monitor_interval: 1,
            extra_srun_args: Vec::new(),
            extra_sbatch_args: Vec::new(),
            container_mount_home: false,
            container_runtime: ContainerRuntime::None,
            data_repository: None,
            hf_home_path: None,
        }
    }

    pub fn is_standalone(&self) -> bool {
        self.scheduler == STANDALONE
    }
}

/// CloudAI's name for "run the commands on this machine".
pub const STANDALONE: &str = "standalone";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerRuntime {
    Pyxis,
    None,
}

/// `container_runtime`: `"pyxis"` (CloudAI's only runtime) or `"none"` (bare metal). Read in
/// the system file, and in a test's `cmd_args`, where it overrides the system's (CloudAI's
/// SlurmSystem refuses the key, so that is how a CloudAI user runs bare metal).
pub(super) fn container_runtime(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
) -> Option<ContainerRuntime> {
    one_of(&["pyxis", "none"])(node, diags, path).map(|v| {
        if v == "none" {
            ContainerRuntime::None
        } else {
            ContainerRuntime::Pyxis
        }
    })
}

#[derive(Clone, Debug, Serialize)]
pub struct Partition {
    pub name: String,
    pub groups: Vec<Group>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub name: String,
    pub nodes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DataRepository {
    pub endpoint: String,
    pub verify_certs: bool,
}

pub fn read_system(node: &Node, diags: &mut Diagnostics) -> Option<SystemConfig> {
    let mut r = TableReader::new(node, "", diags)?;
    let name = r.required(diags, "name", non_empty_string);
    let scheduler = r.required(diags, "scheduler", one_of(&["slurm", STANDALONE]));
    if scheduler.as_deref() == Some(STANDALONE) {
        return read_standalone(r, diags, name);
    }
    let install_path = r.required(diags, "install_path", non_empty_string);
    let output_path = r.required(diags, "output_path", non_empty_string);
    let default_partition = r.required(diags, "default_partition", non_empty_string);
    let partitions = r.with_default(diags, "partitions", Vec::new(), read_partitions);
    if let (Some(dp), false) = (&default_partition, partitions.is_empty()) {
        if !partitions.iter().any(|p| &p.name == dp) {
            let span = r.get("default_partition").map_or(r.span(), |n| n.span);
            let names: Vec<&str> = partitions.iter().map(|p| p.name.as_str()).collect();
            diags.error(
                span,
                "default_partition",
                format!(
                    "expected the name of a partition listed in `partitions` ({}), found {dp:?}",
                    super::parse::quoted_list(&names)
                ),
            );
        }
    }
    let account = r.optional(diags, "account", non_empty_string);
    let distribution = r.optional(diags, "distribution", non_empty_string);
    let mpi = r.with_default(diags, "mpi", "pmix".to_string(), non_empty_string);
    let gpus_per_node = r.optional(diags, "gpus_per_node", count).filter(|g| *g > 0);
    let ntasks_per_node = r.optional(diags, "ntasks_per_node", positive);
    let cache_docker_images_locally =
        r.with_default(diags, "cache_docker_images_locally", false, boolean);
    let global_env_vars = r.with_default(diags, "global_env_vars", IndexMap::new(), env_vars);
    let monitor_interval = r.with_default(diags, "monitor_interval", 60, positive);
    let extra_srun_args = r.with_default(diags, "extra_srun_args", Vec::new(), srun_words);
    let extra_sbatch_args = r.with_default(diags, "extra_sbatch_args", Vec::new(), sbatch_lines);
    let container_mount_home = r.with_default(diags, "container_mount_home", false, boolean);
    let container_runtime = r.with_default(
        diags,
        "container_runtime",
        ContainerRuntime::Pyxis,
        container_runtime,
    );
    let data_repository = r.optional(diags, "data_repository", read_data_repository);
    let hf_home_path = r.optional(diags, "hf_home_path", non_empty_string);
    // Accepted for compatibility with CloudAI system files; reports are configured by this tool.
    let _ = r.get("reports");
    r.finish(diags);
    Some(SystemConfig {
        name: name?,
        scheduler: scheduler?,
        install_path: install_path?,
        output_path: output_path?,
        default_partition: default_partition?,
        partitions,
        account,
        distribution,
        mpi,
        gpus_per_node,
        ntasks_per_node,
        cache_docker_images_locally,
        global_env_vars,
        monitor_interval,
        extra_srun_args,
        extra_sbatch_args,
        container_mount_home,
        container_runtime,
        data_repository,
        hf_home_path,
    })
}

impl SystemConfig {
    /// The Hugging Face cache of current-schema runs: `hf_home_path`, else CloudAI main's
    /// default `<install_path>/huggingface`.
    pub fn hf_home(&self) -> String {
        self.hf_home_path
            .clone()
            .unwrap_or_else(|| format!("{}/huggingface", self.install_path.trim_end_matches('/')))
    }
}

/// CloudAI's `StandaloneSystem`: the base `System` fields only (`extra="forbid"` there, so
/// Slurm fields are unknown here too). Monitor interval 1 s, CloudAI's default.
fn read_standalone(
    mut r: TableReader<'_>,
    diags: &mut Diagnostics,
    name: Option<String>,
) -> Option<SystemConfig> {
    let install_path = r.required(diags, "install_path", non_empty_string);
    let output_path = r.required(diags, "output_path", non_empty_string);
    let hf_home_path = r.optional(diags, "hf_home_path", non_empty_string);
    let global_env_vars = r.with_default(diags, "global_env_vars", IndexMap::new(), env_vars);
    let monitor_interval = r.with_default(diags, "monitor_interval", 1, positive);
    r.finish(diags);
    let mut system = SystemConfig::standalone(name?, install_path?, output_path?);
    system.hf_home_path = hf_home_path;
    system.global_env_vars = global_env_vars;
    system.monitor_interval = monitor_interval;
    Some(system)
}

fn env_vars(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<IndexMap<String, String>> {
    read_env(node, diags, path, env_value)
}

fn read_partitions(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Vec<Partition>> {
    list_of_tables(node, diags, path, |r, diags| {
        let name = r.required(diags, "name", non_empty_string)?;
        let groups = r.with_default(diags, "groups", Vec::new(), |n, diags, p| {
            list_of_tables(n, diags, p, |g, diags| {
                let name = g.required(diags, "name", non_empty_string)?;
                let nodes =
                    g.with_default(diags, "nodes", Vec::new(), super::text::host_lists(false));
                Some(Group { name, nodes })
            })
        });
        Some(Partition { name, groups })
    })
}

fn read_data_repository(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
) -> Option<DataRepository> {
    let mut r = TableReader::new(node, path, diags)?;
    let endpoint = r.required(diags, "endpoint", non_empty_string);
    let verify_certs = r.with_default(diags, "verify_certs", true, boolean);
    r.finish(diags);
    Some(DataRepository {
        endpoint: endpoint?,
        verify_certs,
    })
}

fn srun_words(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Vec<String>> {
    let raw = match &node.value {
        Value::Array(_) => return string_list(node, diags, path),
        _ => string(node, diags, path)?,
    };
    match split_words(&raw) {
        Ok(words) => Some(words),
        Err(e) => {
            diags.error(node.span, path, format!("expected shell words, {e}"));
            None
        }
    }
}

/// Each entry becomes one `#SBATCH` line, written as given: it must be one line that sbatch
/// can read (its quotes paired).
fn sbatch_lines(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Vec<String>> {
    let lines = string_list(node, diags, path)?;
    let items = match &node.value {
        Value::Array(items) => items.as_slice(),
        _ => &[],
    };
    let mut ok = true;
    for (i, l) in lines.iter().enumerate() {
        let why = if l.trim().is_empty() {
            Some("expected a non-empty sbatch option".to_string())
        } else {
            crate::render::quote::sbatch_line_error(l).map(|e| e.to_string())
        };
        if let Some(why) = why {
            let span = items.get(i).map_or(node.span, |n| n.span);
            diags.error(span, &format!("{path}[{i}]"), format!("{why}, found {l:?}"));
            ok = false;
        }
    }
    ok.then_some(lines)
}
