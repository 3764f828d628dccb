"""One error model: every exception is a ``cloudai_dynamo_rs.Error`` carrying its fields, and
I/O failures are OSError subclasses keeping ``errno`` and ``filename``."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import cloudai_dynamo_rs as cdr
from cloudai_dynamo_rs import engine
from cloudai_dynamo_rs.runner.scheduler import SchedulerError, SlurmScheduler, SubmitError


def test_classes_share_one_base_and_keep_their_builtin_bases() -> None:
    for cls in (
        cdr.ConfigError,
        cdr.RenderError,
        cdr.ResultsError,
        cdr.MetricNotFoundError,
        cdr.MetricKeyError,
    ):
        assert issubclass(cls, cdr.Error) and issubclass(cls, ValueError)
    assert issubclass(cdr.InternalError, cdr.Error) and issubclass(cdr.InternalError, RuntimeError)
    assert cdr._core.ConfigError is cdr.ConfigError
    assert cdr._core.MetricKeyError is cdr.MetricKeyError


def test_config_error_lists_positions() -> None:
    text = 'name = "t"\ntest_template_name = "AIDynamo"\n[cmd_args]\nbogus = 1\n'
    with pytest.raises(cdr.Error) as info:
        cdr.load_test_str(text, "t.toml")
    assert isinstance(info.value, cdr.ConfigError)
    bogus = [e for e in info.value.errors if e["path"] == "cmd_args.bogus"]
    # `bogus` is on line 4, column 1 of the text above.
    assert [(e["file"], e["line"], e["column"]) for e in bogus] == [("t.toml", 4, 1)]
    # Each entry's text is its fields in the core's `file:line:col: path: message` form.
    (entry,) = bogus
    assert entry["text"] == f"t.toml:4:1: cmd_args.bogus: {entry['message']}"
    assert entry["message"] and entry["text"] in str(info.value)


def test_results_error_carries_path_line_column(tmp_path: Path) -> None:
    f = tmp_path / "x_genai_perf.csv"
    f.write_text("Metric,avg\nRequest Latency (ms),fast\n")
    with pytest.raises(cdr.ResultsError) as info:
        cdr.get_metric(f, "request-latency")
    # `fast` starts on line 2 at column 22 (after "Request Latency (ms),").
    assert (info.value.path, info.value.line, info.value.column) == (str(f), 2, 22)
    assert isinstance(info.value, cdr.Error)


def test_metric_not_found_names_file_metric_and_stat(tmp_path: Path) -> None:
    f = tmp_path / "x_genai_perf.csv"
    f.write_text("Metric,avg\nRequest Latency (ms),1.5\n")
    with pytest.raises(cdr.MetricNotFoundError) as info:
        cdr.get_metric(f, "time-to-first-token")
    e = info.value
    assert (e.path, e.metric, e.stat, e.line, e.column) == (
        str(f),
        "time-to-first-token",
        None,
        None,
        None,
    )
    with pytest.raises(cdr.MetricNotFoundError) as info:
        cdr.get_metric(f, "request-latency", "p99")
    assert (info.value.path, info.value.stat) == (str(f), "p99")


def test_missing_results_file_is_file_not_found_with_errno(tmp_path: Path) -> None:
    missing = tmp_path / "none_genai_perf.csv"
    with pytest.raises(FileNotFoundError) as info:
        cdr.get_metric(missing, "default")
    assert (info.value.errno, info.value.filename) == (errno.ENOENT, str(missing))
    with pytest.raises(FileNotFoundError) as info:
        cdr.get_metric(tmp_path, "default")  # a directory without exports
    assert (info.value.errno, info.value.filename) == (errno.ENOENT, str(tmp_path))


def test_render_write_failure_keeps_errno_and_filename(
    tmp_path: Path, seed_text: str, conf_dir: Path
) -> None:
    hf = tmp_path / "hf"
    hf.mkdir()
    test = tmp_path / "t.toml"
    test.write_text(seed_text.replace("/your/path/to/hf_home", str(hf)))
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(NotADirectoryError) as info:
        cdr.prepare(
            conf_dir / "system" / "oci.toml",
            [test],
            conf_dir / "test_scenario" / "ai_dynamo.toml",
            timestamp="ts",
            output_root=blocker / "out",
        )
    assert info.value.errno == errno.ENOTDIR
    assert info.value.filename is not None and info.value.filename.startswith(str(blocker))


def test_unplannable_run_is_a_render_error_naming_the_run(
    tmp_path: Path, seed_text: str, conf_dir: Path
) -> None:
    hf = tmp_path / "hf"
    hf.mkdir()
    test = seed_text.replace("/your/path/to/hf_home", str(hf))
    with pytest.raises(cdr.RenderError) as info:
        cdr.render_one(
            (conf_dir / "system" / "oci.toml").read_text(),
            test,
            run_dir=tmp_path / "run",
            install_dir=tmp_path / "install",
            id="r1",
            num_nodes=1,
        )
    # The seed test has `num_nodes = 1` under prefill_worker and `num_nodes = 0` under
    # vllm_worker (the decode role): it needs 1 frontend + 1 + 0 nodes; one is given.
    assert info.value.run == "r1"
    assert str(info.value) == (
        "r1: expected at least 2 nodes (1 frontend + 1 prefill + 0 decode), found num_nodes = 1"
    )


def test_unstartable_standalone_job_is_a_render_error_naming_the_job() -> None:
    with pytest.raises(cdr.RenderError) as info:
        cdr._core.standalone_plan(0, 1, gpus=[], ports=[1, 2, 3], job_id="j7")
    # A job of one decode node needs the four frontend ports and one worker port.
    assert info.value.run == "j7"
    assert str(info.value) == (
        "j7: expected 5 ports (frontend, etcd, etcd_peer, nats, worker1), found 3"
    )


def test_errors_the_python_side_raises_share_the_base(tmp_path: Path) -> None:
    """The runner's and the engine selector's own exceptions are ``Error``s too, so one
    ``except cloudai_dynamo_rs.Error`` catches every failure the package reports."""
    missing = str(tmp_path / "no-such-command")
    slurm = SlurmScheduler(command_prefix=[missing])
    with pytest.raises(SchedulerError) as sched:
        slurm.check_usable()
    assert str(sched.value).startswith(f"{missing}: command not found")
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\n")
    with pytest.raises(SubmitError) as submit:
        slurm.submit(script, tmp_path)
    assert str(submit.value) == f"{missing}: command not found"
    with pytest.raises(engine.EngineError) as eng:
        engine.split_engine_flag(["--engine"])
    assert str(eng.value) == "--engine needs a value: cloudai or embedded"
    for err in (sched.value, submit.value, eng.value):
        assert isinstance(err, cdr.Error), type(err)
    assert isinstance(eng.value, ValueError)  # argparse-style callers catch ValueError
