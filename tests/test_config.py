"""The Python surface of configuration loading: dicts back, ConfigError with positions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import cloudai_dynamo_rs as cdr
from cloudai_dynamo_rs.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_seed_loads_with_defaults(seed_text: str) -> None:
    t = cdr.load_test_str(seed_text, "seed.toml")
    assert t["cmd_args"]["sleep_seconds"] == 660
    assert t["cmd_args"]["dynamo"]["prefill_worker"]["tensor_parallel_size"] == 8
    assert t["cmd_args"]["genai_perf"]["streaming"] is True
    assert t["cmd_args"]["genai_perf"]["request_count"] is None
    assert t["extra_env_vars"] == {"HF_HOME": "/your/path/to/hf_home"}


def test_config_error_is_a_value_error_with_structured_entries(seed_text: str) -> None:
    bad = seed_text.replace("num_nodes = 0", "num_nodes = -2").replace(
        "streaming = true", "streaming = true\nrequest_cnt = 5"
    )
    with pytest.raises(ValueError) as info:
        cdr.load_test_str(bad, "bad.toml")
    err = info.value
    assert isinstance(err, cdr.ConfigError)
    # `text` is how the CLI prints an entry: file:line:col: path: message.
    assert err.errors[0]["text"] == (
        "bad.toml:16:15: cmd_args.dynamo.vllm_worker.num_nodes: expected a non-negative "
        "integer, found -2 (or a list of such values to sweep)"
    )
    assert [{k: v for k, v in e.items() if k != "text"} for e in err.errors] == [
        {
            "file": "bad.toml",
            "line": 16,
            "column": 15,
            "path": "cmd_args.dynamo.vllm_worker.num_nodes",
            "message": "expected a non-negative integer, found -2 "
            "(or a list of such values to sweep)",
        },
        {
            "file": "bad.toml",
            "line": 22,
            "column": 1,
            "path": "cmd_args.genai_perf.request_cnt",
            "message": "unknown field; did you mean `request_count`? (expected one of: "
            "cmd, concurrency, endpoint, endpoint_type, extra_args, extra_inputs, input_file, "
            "isl, osl, "
            "output_tokens_mean, output_tokens_stddev, perf_analyzer_args, port, random_seed, "
            "request_count, "
            "request_rate, streaming, synthetic_input_tokens_mean, "
            "synthetic_input_tokens_stddev, tokenizer, warmup_request_count)",
        },
    ]
    assert "2 configuration errors" in str(err)


def test_load_from_path_and_io_errors(conf_dir: Path, tmp_path: Path) -> None:
    system = cdr.load_system(conf_dir / "system" / "oci.toml")
    assert system["container_runtime"] == "pyxis"
    assert system["partitions"][0]["groups"][0]["nodes"] == ["gpu-h100-[001-016]"]
    with pytest.raises(cdr.ConfigError) as info:
        cdr.load_scenario(tmp_path / "missing.toml")
    assert info.value.errors[0]["line"] == 0
    assert "cannot read file" in info.value.errors[0]["message"]
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(cdr.ConfigError) as info:
        cdr.load_scenario(latin)
    assert info.value.errors[0]["line"] == 1
    assert info.value.errors[0]["column"] == 12


def test_workspace_expands_runs(conf_dir: Path, tmp_path: Path, seed_text: str) -> None:
    hf = tmp_path / "hf"
    hf.mkdir()
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "t.toml").write_text(
        seed_text.replace("/your/path/to/hf_home", str(hf)).replace(
            "streaming = true", "streaming = true\nconcurrency = [1, 2]"
        )
    )
    ws = cdr.load_workspace(
        conf_dir / "system" / "oci.toml",
        [tests / "t.toml"],
        conf_dir / "test_scenario" / "ai_dynamo.toml",
    )
    assert [r["step"] for r in ws["runs"]] == [1, 2]
    assert ws["runs"][1]["params"] == {"genai_perf.concurrency": 2}
    assert ws["runs"][0]["topology"]["num_nodes"] == 2
    assert ws["warnings"] == []


def test_verify_configs_cli(conf_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify-configs", "--skip-host-checks", str(conf_dir)]) == 0
    assert "ok: 3 file(s) valid" in capsys.readouterr().out
    assert main(["verify-configs", str(conf_dir)]) == 1
    err = capsys.readouterr().err
    expected = (
        "llama3.1_405b_fp8.toml:24:11: extra_env_vars.HF_HOME: expected an existing directory"
    )
    assert expected in err


def test_cloudaix_py_is_the_same_cli(conf_dir: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "cloudaix.py"),
            "verify-configs",
            "--skip-host-checks",
            str(conf_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ok: 3 file(s) valid" in proc.stdout
    proc = subprocess.run(["cloudaix", "--version"], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == f"cloudaix {cdr.__version__}"
