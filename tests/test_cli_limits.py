"""Hostile configurations and command-line values through the CLI: refused with a clear,
positioned message before anything is written (issue 9, configuration)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import scenario_flags, seed_inputs

from cloudai_dynamo_rs.cli import main


@pytest.fixture
def inputs(tmp_path: Path, seed_text: str, conf_dir: Path) -> dict[str, Path]:
    """The seed test, unswept, under a one-entry scenario of 2 nodes."""
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        'name = "s"\n[[Tests]]\nid = "a"\ntest_name = "llama3.1_405b_fp8"\nnum_nodes = 2\n'
    )
    return {**seed_inputs(tmp_path, seed_text, conf_dir), "scenario": scenario}


def argv(i: dict[str, Path], verb: str = "dry-run", *extra: str) -> list[str]:
    return [verb, *scenario_flags(i["system"], i["tests"], i["scenario"], i["out"]), *extra]


def add_to_genai_perf(i: dict[str, Path], line: str) -> None:
    text = i["test"].read_text()
    i["test"].write_text(text.replace("streaming = true", f"streaming = true\n{line}"))


def test_a_huge_sweep_is_refused_at_once_and_writes_nothing(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    values = ", ".join(str(v) for v in range(1, 1001))
    add_to_genai_perf(inputs, f"concurrency = [{values}]\nrequest_rate = [{values}]")
    start = time.monotonic()
    assert main(argv(inputs)) == 1
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert (
        "scenario.toml:2:1: Tests[0]: the scenario expands to 1000000 runs, more than the limit "
        'of 10000 (raise it with --max-runs): Tests[0] "a": 1000 values of '
        "genai_perf.concurrency \u00d7 1000 values of genai_perf.request_rate \u00d7 1 iteration = "
        "1000000 runs" in err
    )
    assert not inputs["out"].exists()
    # Refused before expansion: nowhere near the minutes a million runs took.
    assert elapsed < 20, elapsed


def test_max_runs_raises_or_lowers_the_cap(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    add_to_genai_perf(inputs, "concurrency = [1, 2, 4]")
    assert main(argv(inputs, "dry-run", "--max-runs", "2")) == 1
    assert "expands to 3 runs, more than the limit of 2" in capsys.readouterr().err
    assert not inputs["out"].exists()
    assert main(argv(inputs, "dry-run", "--max-runs", "3")) == 0
    assert "3 test run(s) written" in capsys.readouterr().out
    # verify-configs applies the same cap.
    files = [str(inputs["system"]), str(inputs["test"]), str(inputs["scenario"])]
    assert main(["verify-configs", *files, "--max-runs", "2"]) == 1
    assert "expands to 3 runs, more than the limit of 2" in capsys.readouterr().err
    assert main(["verify-configs", *files]) == 0


def test_iterations_at_u32_max_are_refused(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    text = inputs["scenario"].read_text()
    inputs["scenario"].write_text(text + "iterations = 4294967295\n")
    assert main(argv(inputs)) == 1
    assert "expands to 4294967295 runs, more than the limit of 10000" in capsys.readouterr().err
    assert not inputs["out"].exists()


def test_a_test_file_error_is_printed_once(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    add_to_genai_perf(inputs, "bogus_flag = 1")
    assert main(argv(inputs)) == 1
    err = capsys.readouterr().err
    assert err.count("cmd_args.genai_perf.bogus_flag: unknown field") == 1, err
    assert err.startswith("error: 1 configuration error\n"), err


def test_an_overlong_test_id_is_a_positioned_error(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    long_id = "i" * 300
    inputs["scenario"].write_text(
        f'name = "s"\n[[Tests]]\nid = "{long_id}"\ntest_name = "llama3.1_405b_fp8"\n'
    )
    assert main(argv(inputs)) == 1
    err = capsys.readouterr().err
    assert "scenario.toml:2:1: Tests[0].id: expected a test id usable as a directory name" in err
    assert "300 bytes long, more than the 255 a directory name may have" in err
    assert "File name too long" not in err
    assert not inputs["out"].exists()


def test_a_dependency_cycle_fails_verify_configs(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    entry = (
        '[[Tests]]\nid = "{id}"\ntest_name = "llama3.1_405b_fp8"\n'
        '  [[Tests.dependencies]]\n  type = "start_post_comp"\n  id = "{dep}"\n'
    )
    inputs["scenario"].write_text(
        'name = "s"\n' + entry.format(id="a", dep="b") + entry.format(id="b", dep="a")
    )
    files = [str(inputs["system"]), str(inputs["test"]), str(inputs["scenario"])]
    assert main(["verify-configs", "--skip-host-checks", *files]) == 1
    err = capsys.readouterr().err
    assert 'scenario.toml:2:1: Tests[0].dependencies: dependency cycle: "a" → "b" → "a"' in err


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--max-parallel", "0", "argument --max-parallel: expected an integer ≥ 1, found '0'"),
        ("--max-parallel", "-3", "argument --max-parallel: expected an integer ≥ 1, found '-3'"),
        ("--max-parallel", "2.5", "argument --max-parallel: expected an integer ≥ 1, found '2.5'"),
        ("--poll-interval", "0", "argument --poll-interval: expected a number of seconds > 0"),
        ("--poll-interval", "nan", "argument --poll-interval: expected a number of seconds > 0"),
        ("--poll-interval", "inf", "argument --poll-interval: expected a number of seconds > 0"),
        ("--max-runs", "0", "argument --max-runs: expected an integer ≥ 1, found '0'"),
        ("--max-runs", "1" + "0" * 20, "argument --max-runs: expected an integer ≥ 1"),
    ],
)
def test_bad_command_line_values_stop_before_any_work(
    inputs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    flag: str,
    value: str,
    message: str,
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv(inputs, "run", flag, value))
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not inputs["out"].exists()


def test_bad_paths_on_the_command_line(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cases = [
        ("--system-config", str(tmp_path / "nope.toml"), "expected an existing file"),
        ("--tests-dir", str(inputs["test"]), "expected an existing directory"),
        ("--test-scenario", str(tmp_path), "expected an existing file"),
        ("--output-dir", str(inputs["test"]), "expected a directory (created if missing)"),
    ]
    for flag, value, message in cases:
        args = argv(inputs)
        args[args.index(flag) + 1] = value
        with pytest.raises(SystemExit) as stop:
            main(args)
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert f"argument {flag}: {message}, found {value!r}" in err, err
    assert not inputs["out"].exists()
