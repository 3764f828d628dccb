//! A test definition of either generation, recognised per file from its shape.

use indexmap::IndexMap;
use serde::Serialize;

use super::diagnostic::Diagnostics;
use super::gen2::{self, Generation, generation};
use super::node::Node;
use super::sweep::{Slot, Sweep};
use super::test_def::{TestDefinition, TestHeader, read_test};

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum AnyTest {
    /// CloudAI 13816b1a's July-2025 schema.
    Seed(TestDefinition),
    /// CloudAI main's schema (5b5c0f72).
    Current(gen2::TestDefinition),
}

/// Read a test document in the generation its shape says.
pub fn read_any_test(node: &Node, diags: &mut Diagnostics) -> Option<AnyTest> {
    match generation(node) {
        Generation::Seed => read_test(node, diags).map(AnyTest::Seed),
        Generation::Current => gen2::read_test(node, diags).map(AnyTest::Current),
    }
}

impl AnyTest {
    pub fn generation(&self) -> Generation {
        match self {
            AnyTest::Seed(_) => Generation::Seed,
            AnyTest::Current(_) => Generation::Current,
        }
    }

    /// The fields both generations share.
    pub fn header(&self) -> &TestHeader {
        match self {
            AnyTest::Seed(t) => &t.header,
            AnyTest::Current(t) => &t.header,
        }
    }

    pub fn name(&self) -> &str {
        &self.header().name
    }

    pub fn extra_env_vars(&self) -> &IndexMap<String, Sweep<String>> {
        &self.header().extra_env_vars
    }

    pub fn extra_container_mounts(&self) -> &[String] {
        &self.header().extra_container_mounts
    }

    pub fn docker_image_url(&self) -> &str {
        match self {
            AnyTest::Seed(t) => &t.cmd_args.docker_image_url,
            AnyTest::Current(t) => &t.cmd_args.docker_image_url,
        }
    }

    /// Use `url` as the image: a host framework (CloudAI) may have installed the file's image
    /// (a cached `.sqsh`), and the scripts must run what it installed.
    pub fn set_docker_image_url(&mut self, url: String) {
        match self {
            AnyTest::Seed(t) => t.cmd_args.docker_image_url = url,
            AnyTest::Current(t) => t.cmd_args.docker_image_url = url,
        }
    }

    pub fn hf_home(&self) -> Option<&str> {
        match self {
            AnyTest::Seed(t) => t.hf_home(),
            AnyTest::Current(t) => t.hf_home(),
        }
    }

    /// The Hugging Face cache the run uses: the test's `HF_HOME`, else (current schema) the
    /// system's `hf_home_path`.
    pub fn effective_hf_home(&self, system: &super::SystemConfig) -> Option<String> {
        match self {
            AnyTest::Seed(t) => t.hf_home().map(str::to_string),
            AnyTest::Current(t) => {
                Some(t.hf_home().map_or_else(|| system.hf_home(), str::to_string))
            }
        }
    }

    pub fn sweep_slots(&mut self) -> Vec<(String, &mut dyn Slot)> {
        match self {
            AnyTest::Seed(t) => t.sweep_slots(),
            AnyTest::Current(t) => t.sweep_slots(),
        }
    }

    /// The sweep axes this definition declares (sweepable fields written as lists), as the
    /// dotted key paths of [`Self::sweep_slots`] in axis order, the seed's decode role named
    /// as its file names it (`vllm_worker` or `decode_worker`). Every other list is a plain
    /// value: a host framework that sweeps every list (CloudAI's DSE) must be told which ones
    /// are axes.
    pub fn sweep_axis_keys(&mut self) -> Vec<String> {
        let decode_key = self.as_seed().map(|t| t.cmd_args.dynamo.decode_key);
        self.sweep_slots()
            .into_iter()
            .filter(|(_, slot)| slot.is_list())
            .map(|(name, _)| match decode_key {
                Some(key) => name.replacen("dynamo.decode_worker.", &format!("dynamo.{key}."), 1),
                None => name,
            })
            .collect()
    }

    pub fn as_seed(&self) -> Option<&TestDefinition> {
        match self {
            AnyTest::Seed(t) => Some(t),
            AnyTest::Current(_) => None,
        }
    }

    pub fn as_current(&self) -> Option<&gen2::TestDefinition> {
        match self {
            AnyTest::Current(t) => Some(t),
            AnyTest::Seed(_) => None,
        }
    }
}
