"""A newcomer's first ten minutes, scripted: `cloudaix` as a subprocess, as a user types it.

A fresh clone of the repository, the README's seed command (as a dry-run), a mistyped flag,
a tests directory that does not exist, `--help`, and `run` where Slurm's sbatch cannot be used.
Expected texts are written here by hand from what a user should read, not taken from the code.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import scenario_flags

from cloudai_dynamo_rs import engine

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "conf" / "local"


def scenario_args(conf: Path, system: str, scenario: str) -> list[str]:
    return scenario_flags(
        conf / "system" / system, conf / "test", conf / "test_scenario" / scenario
    )


SEED_ARGS = scenario_args(LOCAL, "baremetal.toml", "mocker_genai_perf.toml")
# The flags of each mode, as README's "Commands" table lists them (plus the engine flag).
FLAGS = {
    "verify-configs": ["--tests-dir", "--strict", "--skip-host-checks"],
    "dry-run": [
        "--system-config",
        "--tests-dir",
        "--test-scenario",
        "--output-dir",
        "--skip-host-checks",
    ],
    "run": [
        "--system-config",
        "--tests-dir",
        "--test-scenario",
        "--output-dir",
        "--skip-host-checks",
        "--max-parallel",
        "--poll-interval",
    ],
    "generate-report": ["--system-config", "--tests-dir", "--test-scenario", "--result-dir"],
}


def cloudaix(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, engine: bool = True
) -> subprocess.CompletedProcess[str]:
    """``cloudaix ARGS`` (the console script's entry point), on the embedded engine."""
    environ = dict(os.environ if env is None else env)
    environ.pop("CLOUDAIX_ENGINE", None)
    cmd = [sys.executable, "-m", "cloudai_dynamo_rs.engine"]
    if engine:
        cmd += ["--engine", "embedded"]
    return subprocess.run(
        [*cmd, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "error" in line]


# -- help ----------------------------------------------------------------------------------


def test_help_lists_the_modes_and_the_engine_with_its_variable() -> None:
    out = cloudaix("--help", engine=False)
    assert out.returncode == 0
    for word in ["--engine", "cloudai", "embedded", "CLOUDAIX_ENGINE", "--version", *FLAGS]:
        assert word in out.stdout, word


@pytest.mark.parametrize("mode", sorted(FLAGS))
def test_help_of_each_mode_lists_every_flag(mode: str) -> None:
    out = cloudaix(mode, "--help", engine=False)
    assert out.returncode == 0
    for flag in [*FLAGS[mode], "--engine"]:
        assert flag in out.stdout, flag


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--version"], ["run", "--help"]])
def test_help_and_version_print_no_engine_line(args: list[str]) -> None:
    out = cloudaix(*args, engine=False)
    assert out.returncode == 0
    assert out.stderr == ""
    assert out.stdout.strip()


def test_cloudais_help_is_preceded_by_the_engine_flag(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With CloudAI installed, --help is CloudAI's, which cannot know our flag: one line first.
    monkeypatch.delenv("CLOUDAIX_ENGINE", raising=False)
    monkeypatch.setattr(engine, "cloudai_importable", lambda: True)
    monkeypatch.setattr(engine, "run_cloudai", lambda argv: print("CLOUDAI HELP") or 0)
    assert engine.main(["--help"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "cloudaix --engine cloudai|embedded (or CLOUDAIX_ENGINE): engine cloudai; its help:",
        "CLOUDAI HELP",
    ]
    assert err == ""


def test_a_real_command_still_says_which_engine() -> None:
    out = cloudaix("verify-configs", "--skip-host-checks", str(LOCAL / "system"))
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines()[0] == "cloudaix: engine=embedded"


def cloudai_job(
    monkeypatch: pytest.MonkeyPatch, tests: Path, scenario: Path, system: Path, out: Path
) -> tuple[int, list[list[str]]]:
    """``cloudaix --engine cloudai dry-run …`` with CloudAI stubbed: exit code, CloudAI's calls."""
    calls: list[list[str]] = []
    monkeypatch.setattr(engine, "cloudai_importable", lambda: True)
    monkeypatch.setattr(engine, "run_cloudai", lambda argv: calls.append(list(argv)) or 0)
    argv = ["--engine", "cloudai", "dry-run", "--system-config", str(system)]
    argv += ["--tests-dir", str(tests), "--test-scenario", str(scenario), "--output-dir", str(out)]
    return engine.main(argv), calls


def test_cloudai_on_a_standalone_system_is_refused_with_the_schedulers_position(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # CloudAI has no standalone command generation for AIDynamo (a KeyError traceback after
    # creating the results directory, at 5b5c0f72): said before CloudAI starts, nothing written.
    system = LOCAL / "system" / "standalone.toml"
    scenario = LOCAL / "test_scenario" / "mocker_genai_perf.toml"
    code, calls = cloudai_job(monkeypatch, LOCAL / "test", scenario, system, tmp_path / "out")
    assert (code, calls) == (1, [])
    lines = system.read_text().splitlines()
    line = next(i for i, x in enumerate(lines) if x.startswith("scheduler = "))
    column = lines[line].index('"standalone"') + 1
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "cloudaix: engine=cloudai"
    assert err.splitlines()[1].startswith(
        f'error: {system}:{line + 1}:{column}: scheduler: expected "slurm" with the CloudAI '
        'engine, found "standalone": CloudAI generates AIDynamo jobs for Slurm systems only'
    )
    assert f"test '1p1d' of {scenario} cannot run there; use --engine embedded" in err
    assert not (tmp_path / "out").exists()


def test_cloudai_gets_other_workloads_on_a_standalone_system_and_aidynamo_on_slurm(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sleep = tmp_path / "tests"
    sleep.mkdir()
    (sleep / "sleep.toml").write_text(
        'name = "sleep_10"\ntest_template_name = "Sleep"\n[cmd_args]\nseconds = 10\n'
    )
    scenario = tmp_path / "sleep_scenario.toml"
    scenario.write_text('name = "s"\n[[Tests]]\nid = "1"\ntest_name = "sleep_10"\n')
    standalone = LOCAL / "system" / "standalone.toml"
    code, calls = cloudai_job(monkeypatch, sleep, scenario, standalone, tmp_path / "out")
    assert code == 0 and len(calls) == 1 and calls[0][0] == "dry-run"
    slurm = LOCAL / "system" / "baremetal.toml"
    aidynamo = LOCAL / "test_scenario" / "mocker_genai_perf.toml"
    code, calls = cloudai_job(monkeypatch, LOCAL / "test", aidynamo, slurm, tmp_path / "out")
    assert code == 0 and len(calls) == 1


# -- mistakes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "typo", "meant"),
    [
        ("dry-run", "--system-cofig", "--system-config"),
        ("run", "--max-paralel", "--max-parallel"),
        ("dry-run", "--test-scenaro", "--test-scenario"),
    ],
)
def test_a_mistyped_flag_is_named_and_the_right_one_suggested(
    mode: str, typo: str, meant: str, tmp_path: Path
) -> None:
    args = [a if a != meant else typo for a in SEED_ARGS]
    if typo == "--max-paralel":
        args += [typo, "2"]
    out = cloudaix(mode, *args, "--output-dir", str(tmp_path / "out"))
    assert out.returncode == 2
    assert f"unknown option {typo}; did you mean {meant}?" in out.stderr
    assert "required" not in out.stderr  # not reported as a missing flag
    assert not (tmp_path / "out").exists()


def test_a_flag_with_its_value_after_equals_is_checked_too(tmp_path: Path) -> None:
    out = cloudaix("dry-run", *SEED_ARGS, f"--output-dri={tmp_path}")
    assert out.returncode == 2
    assert "unknown option --output-dri; did you mean --output-dir?" in out.stderr


def test_abbreviated_flags_still_work(tmp_path: Path) -> None:
    # argparse accepts unambiguous prefixes; CloudAI users may rely on them.
    args = [a.replace("--system-config", "--system") for a in SEED_ARGS]
    out = cloudaix("dry-run", *args, "--output-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("mode", ["dry-run", "run"])
def test_a_missing_tests_directory_is_one_clear_error(mode: str, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-tests"
    args = [str(missing) if a == str(LOCAL / "test") else a for a in SEED_ARGS]
    out = cloudaix(mode, *args, "--output-dir", str(tmp_path / "out"))
    assert out.returncode == 2
    assert error_lines(out.stderr) == [
        f"cloudaix {mode}: error: argument --tests-dir: expected an existing directory, "
        f"found '{missing}', which does not exist"
    ]
    assert not (tmp_path / "out").exists()


# -- the seed files from a fresh clone -----------------------------------------------------


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of this repository: what a newcomer has (no results, no build)."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to clone the repository")
    dest = tmp_path_factory.mktemp("newcomer") / "cloudai-dynamo-rs"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True, timeout=120)
    return dest


def readme_command(readme: str, start: str) -> list[str]:
    """The first command in README.md that starts with ``start`` (continuation lines joined)."""
    text = readme.replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(start):
            return shlex.split(line)
    raise AssertionError(f"README.md has no command starting with {start!r}")


def test_the_readme_seed_command_as_a_dry_run_in_a_fresh_clone(clone: Path) -> None:
    # README: "On a real cluster the seed's own files are the example: python cloudaix.py run …"
    cmd = readme_command((clone / "README.md").read_text(), "python cloudaix.py run")
    args = cmd[3:]  # after `python cloudaix.py run`
    # The seed's HF_HOME (/your/path/to/hf_home) does not exist here: the error says how to go on.
    out = cloudaix("dry-run", *args, cwd=clone)
    assert out.returncode == 1
    assert "extra_env_vars.HF_HOME" in out.stderr
    assert "--skip-host-checks" in out.stderr
    assert not (clone / "results").exists()
    out = cloudaix("dry-run", *args, "--skip-host-checks", cwd=clone)
    assert out.returncode == 0, out.stderr
    # The system's output_path ./results is taken from the current directory, as in CloudAI.
    (results,) = (clone / "results").iterdir()
    assert re.fullmatch(r"ai_dynamo_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d", results.name)
    assert (results / "Tests.1" / "0" / "cloudai_sbatch_script.sh").is_file()


def test_run_with_skip_host_checks_gets_past_hf_home(tmp_path: Path) -> None:
    # `run` takes the flag as well: with it, the first problem is no longer HF_HOME (here:
    # no sbatch at all on PATH, reported before anything is written).
    seed = ROOT / "conf" / "staging" / "ai_dynamo"
    args = scenario_args(seed, "oci.toml", "ai_dynamo.toml")
    args += ["--output-dir", str(tmp_path / "out")]
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin")}
    out = cloudaix("run", *args, "--skip-host-checks", env=env)
    assert out.returncode == 1
    assert "HF_HOME" not in out.stderr
    assert "sbatch: command not found" in out.stderr
    assert not (tmp_path / "out").exists()


# -- run without a usable sbatch -----------------------------------------------------------


def fake_sbatch(bin_dir: Path, stderr: str) -> None:
    """An sbatch that fails the way Slurm's does when it finds no slurm.conf."""
    bin_dir.mkdir()
    script = bin_dir / "sbatch"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(stderr)} >&2\nexit 1\n")
    script.chmod(0o755)


def test_run_with_unconfigured_sbatch_says_why_and_what_to_do(tmp_path: Path) -> None:
    fatal = "sbatch: fatal: Could not establish a configuration source"
    fake_sbatch(
        tmp_path / "bin",
        "sbatch: error: _establish_config_source: failed to fetch config\n" + fatal,
    )
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    out = cloudaix("run", *SEED_ARGS, "--output-dir", str(tmp_path / "out"), env=env)
    assert out.returncode == 1
    (line,) = error_lines(out.stderr)
    assert line.startswith("error: sbatch cannot be used here (")
    assert fatal in line
    assert "PATH" in line  # what to do: the cluster's clients on PATH
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "out").exists()  # before anything is written


def test_run_without_sbatch_says_so_before_writing(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin")}
    out = cloudaix("run", *SEED_ARGS, "--output-dir", str(tmp_path / "out"), env=env)
    assert out.returncode == 1
    assert "error: sbatch: command not found; `run` submits with Slurm's sbatch." in out.stderr
    assert not (tmp_path / "out").exists()
