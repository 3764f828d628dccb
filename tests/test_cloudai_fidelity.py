"""What a CloudAI 13816b1a user writes keeps CloudAI's meaning: its field aliases, its
`#SBATCH` lines with quotes, and its genai-perf passthrough to perf_analyzer."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

import cloudai_dynamo_rs as cdr

ROOT = Path(__file__).resolve().parent.parent
SYSTEM = (ROOT / "conf" / "staging" / "ai_dynamo" / "system" / "oci.toml").read_text()


def with_sbatch_args(lines: str) -> str:
    """The example system with top-level `extra_sbatch_args = <lines>` (before its tables)."""
    return SYSTEM.replace("\n[[partitions]]", f"\nextra_sbatch_args = {lines}\n[[partitions]]", 1)


def render(test_toml: str, system_toml: str = SYSTEM) -> dict:
    return cdr.render_one(system_toml, test_toml, run_dir="/r", install_dir="/i", id="t")


def loadgen_words(run_sh: str) -> list[str]:
    """The load generator's arguments as bash will see them (the array in run.sh)."""
    body = re.search(r"LOADGEN_ARGS=\(\n(.*?)\n  \)", run_sh, re.S)
    assert body is not None
    return shlex.split(body.group(1))


# ---- aliases (item 3) ------------------------------------------------------------------------


def test_service_args_alias_is_accepted_and_dumped_as_the_seed_yaml_key(seed_text: str) -> None:
    """CloudAI 13816b1a: `service_args: dict = Field(..., alias="ServiceArgs")` (its acceptance
    test writes `ServiceArgs`); the YAML key Dynamo reads is `ServiceArgs`."""
    text = seed_text.replace(
        "num_nodes = 1\n",
        'num_nodes = 1\n  ServiceArgs = { workers = 2, resources = { gpu = "4" } }\n',
    ).replace(
        "num_nodes = 0\n",
        'num_nodes = 0\n  service_args = { workers = 3, resources = { gpu = "2" } }\n',
    )
    test = cdr.load_test_str(text, "t.toml")
    dynamo = test["cmd_args"]["dynamo"]
    assert dynamo["prefill_worker"]["service_args"] == {"workers": 2, "resources": {"gpu": "4"}}
    assert dynamo["decode_worker"]["service_args"] == {"workers": 3, "resources": {"gpu": "2"}}
    yaml = render(text)["dynamo_config.yaml"]
    prefill = yaml[yaml.index("PrefillWorker:") :]
    assert '  ServiceArgs:\n    resources:\n      gpu: "4"\n    workers: 2\n' in prefill
    assert "service_args" not in yaml


def test_both_spellings_of_service_args_is_an_error(seed_text: str) -> None:
    text = seed_text.replace(
        "num_nodes = 1\n",
        "num_nodes = 1\n  ServiceArgs = { workers = 2 }\n  service_args = { workers = 1 }\n",
    )
    with pytest.raises(cdr.ConfigError) as err:
        cdr.load_test_str(text, "t.toml")
    (e,) = err.value.errors
    assert (e["line"], e["path"]) == (14, "cmd_args.dynamo.prefill_worker.ServiceArgs")
    assert "name the same section" in e["message"]


# ---- #SBATCH lines with quotes (item 5) --------------------------------------------------------


def test_extra_sbatch_args_with_quotes_are_written_as_sbatch_reads_them(seed_text: str) -> None:
    system = with_sbatch_args('[\'--comment="a b"\', "--begin=now+1 # later"]')
    sbatch = render(seed_text, system)["cloudai_sbatch_script.sh"]
    # sbatch honours quotes and `#` comments in #SBATCH lines (Slurm src/sbatch/opt.c
    # _get_argument); the lines are CloudAI's, verbatim.
    assert '\n#SBATCH --comment="a b"\n' in sbatch
    assert "\n#SBATCH --begin=now+1 # later\n" in sbatch


@pytest.mark.parametrize("line", ['--comment="a b', "--comment='x", "--comment=a\nb"])
def test_extra_sbatch_args_sbatch_cannot_read_are_positioned_errors(
    seed_text: str, line: str
) -> None:
    system = with_sbatch_args("[\n  '--x',\n  " + _toml(line) + ",\n]")
    with pytest.raises(cdr.ConfigError) as err:
        cdr.load_system_str(system, "s.toml")
    (e,) = err.value.errors
    assert e["path"] == "extra_sbatch_args[1]"
    assert (e["file"], e["line"]) == ("s.toml", _line_of(system, line))
    assert ("unmatched" in e["message"]) != ("\n" in line)
    # The plugin path (render_one) gives the same ConfigError, never a RenderError.
    with pytest.raises(cdr.ConfigError):
        render(seed_text, system)


def _line_of(text: str, line: str) -> int:
    return text[: text.index(_toml(line))].count("\n") + 1


def _toml(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# ---- genai-perf -> perf_analyzer passthrough (item 8) ------------------------------------------


def test_genai_perf_passes_cloudais_perf_analyzer_flags_by_default(seed_text: str) -> None:
    """CloudAI 13816b1a's command ends `--artifact-dir … -- -v --async`."""
    words = loadgen_words(render(seed_text)["run.sh"])
    assert words[-3:] == ["--", "-v", "--async"]
    assert words.count("--") == 1


def test_perf_analyzer_args_can_be_changed_or_turned_off(seed_text: str) -> None:
    off = seed_text.replace("streaming = true", "streaming = true\n  perf_analyzer_args = []")
    assert "--" not in loadgen_words(render(off)["run.sh"])
    assert "-v" not in loadgen_words(render(off)["run.sh"])
    own = seed_text.replace(
        "streaming = true",
        'streaming = true\n  extra_args = ["--", "--max-threads", "4"]\n'
        '  perf_analyzer_args = ["--async"]',
    )
    words = loadgen_words(render(own)["run.sh"])
    # The user's `--` already opens perf_analyzer's part: no second one.
    assert words[-4:] == ["--", "--max-threads", "4", "--async"]
    assert words.count("--") == 1


def test_aiperf_has_no_perf_analyzer_args(seed_text: str) -> None:
    text = seed_text.replace("[cmd_args.genai_perf]", "[cmd_args.aiperf]")
    assert "--async" not in loadgen_words(render(text)["run.sh"])
    with pytest.raises(cdr.ConfigError, match=r"aiperf\.perf_analyzer_args: unknown field"):
        cdr.load_test_str(
            text.replace("streaming = true", "streaming = true\n  perf_analyzer_args = []"), "t"
        )
