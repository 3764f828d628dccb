//! Reading and validating the three files a CloudAI user writes: the Slurm system, the
//! `AIDynamo` test definitions and the test scenario.
//!
//! Every loader collects *all* problems of *all* files before failing, each with file, line,
//! column, dotted field path, what was expected and what was found ([`Diagnostic`]).

mod any_test;
mod diagnostic;
pub mod gen2;
mod host;
mod node;
mod parse;
mod reader;
mod scenario;
mod shell_words;
mod source;
mod sweep;
mod system;
mod test_def;
mod text;
mod workspace;

pub use any_test::AnyTest;
pub use diagnostic::{ConfigError, Diagnostic};
pub use host::{
    Data, Dump, HostTest, Origin, UNHONOURED_TEST_FIELDS, read_host_system, read_host_test,
};
pub use parse::slurm_time_seconds;
pub use scenario::{Dependency, Scenario, ScenarioTest};
pub use shell_words::split_words;
pub use sweep::{Slot, Sweep, SweepValue, is_axis_key};
pub use system::{ContainerRuntime, DataRepository, Group, Partition, STANDALONE, SystemConfig};
pub use test_def::{
    ArgValue, CmdArgs, DecodeOnly, DynamoArgs, Frontend, GitRepo, LoadArgs, LoadGenerator,
    Processor, Router, ServiceArgs, TEMPLATE_NAME, TestDefinition, TestHeader, Worker,
};
pub use text::{MAX_NAME_BYTES, MAX_SCENARIO_NAME_BYTES, is_env_name};
pub use workspace::{
    Checks, DEFAULT_MAX_RUNS, FileKind, PrunedPoint, TestRun, Workspace, load_workspace,
    load_workspace_texts, verify_files,
};

use std::path::Path;

use diagnostic::Diagnostics;
use node::Node;
use source::{FileId, Sources};

/// Parse one file's text, reporting a syntax error as a diagnostic.
fn parse_file(diags: &mut Diagnostics, file: FileId) -> Option<Node> {
    match node::parse_document(&diags.sources.file(file).text, file) {
        Ok(n) => {
            text::check_controls(&n, diags, "");
            Some(n)
        }
        Err(e) => {
            diags.error(e.span, "", format!("invalid TOML: {}", e.message));
            None
        }
    }
}

/// Largest configuration file read (the seed's files are about 1 KB; a sweep of a thousand
/// values about 10 KB): a larger one, or `/dev/zero`, is an error instead of all the memory.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// Why a configuration file could not be read; the file is named by the [`Diagnostic`] it
/// becomes.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
    #[error("expected a regular file, found {0}")]
    NotAFile(&'static str),
    #[error(
        "expected a configuration file of at most {} MiB, found a larger file",
        MAX_CONFIG_BYTES / (1024 * 1024)
    )]
    TooLarge,
}

/// Read a regular file of at most [`MAX_CONFIG_BYTES`]: a FIFO or a device would hang or never
/// end, a directory is a mistake.
fn read_bounded(path: &Path) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    // Checked before opening: opening a FIFO blocks until someone writes to it.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile(if meta.is_dir() {
            "a directory"
        } else {
            "a special file (FIFO, socket or device)"
        }));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

/// Read a file into `sources`; an unreadable, oversized or non-UTF-8 file becomes a diagnostic.
fn read_source(sources: &mut Sources, errors: &mut Vec<Diagnostic>, path: &Path) -> Option<FileId> {
    match read_bounded(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(sources.add(path, text)),
            Err(e) => {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let text = String::from_utf8_lossy(valid).into_owned();
                let probe = source::SourceFile::new(path, text);
                let (line, column) = probe.position(valid.len());
                errors.push(Diagnostic {
                    file: path.display().to_string(),
                    line,
                    column,
                    path: String::new(),
                    message: "expected UTF-8 text, found an invalid byte sequence".into(),
                });
                None
            }
        },
        Err(e) => {
            errors.push(Diagnostic {
                file: path.display().to_string(),
                line: 0,
                column: 0,
                path: String::new(),
                message: e.to_string(),
            });
            None
        }
    }
}

fn load_one<T>(
    text: &str,
    name: &str,
    read: impl FnOnce(&Node, &mut Diagnostics) -> Option<T>,
) -> Result<T, ConfigError> {
    let mut sources = Sources::default();
    let file = sources.add(name, text.to_string());
    let mut diags = Diagnostics::new(&sources);
    let value = parse_file(&mut diags, file).and_then(|n| read(&n, &mut diags));
    diags.finish(value)
}

fn load_path<T>(
    path: &Path,
    read: impl FnOnce(&str, &str) -> Result<T, ConfigError>,
) -> Result<T, ConfigError> {
    let mut sources = Sources::default();
    let mut errors = Vec::new();
    let Some(id) = read_source(&mut sources, &mut errors, path) else {
        return Err(ConfigError {
            diagnostics: errors,
        });
    };
    read(&sources.file(id).text, &path.display().to_string())
}

/// Validate a system TOML given as text; `name` is used as the file name in errors.
pub fn load_system_str(text: &str, name: &str) -> Result<SystemConfig, ConfigError> {
    load_one(text, name, system::read_system)
}

/// Validate an `AIDynamo` test TOML given as text (schema only: see [`Checks`] for HF_HOME).
pub fn load_test_str(text: &str, name: &str) -> Result<TestDefinition, ConfigError> {
    load_one(text, name, test_def::read_test)
}

/// Validate an `AIDynamo` test TOML of either generation given as text.
pub fn load_any_test_str(text: &str, name: &str) -> Result<AnyTest, ConfigError> {
    load_one(text, name, any_test::read_any_test)
}

/// Validate a test scenario TOML given as text.
pub fn load_scenario_str(text: &str, name: &str) -> Result<Scenario, ConfigError> {
    load_one(text, name, scenario::read_scenario)
}

pub fn load_system(path: &Path) -> Result<SystemConfig, ConfigError> {
    load_path(path, load_system_str)
}

pub fn load_test(path: &Path) -> Result<TestDefinition, ConfigError> {
    load_path(path, load_test_str)
}

pub fn load_any_test(path: &Path) -> Result<AnyTest, ConfigError> {
    load_path(path, load_any_test_str)
}

pub fn load_scenario(path: &Path) -> Result<Scenario, ConfigError> {
    load_path(path, load_scenario_str)
}
