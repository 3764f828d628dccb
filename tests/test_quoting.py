"""No user string can inject a command into the generated scripts, except where shell is the
contract.

Every string field gets a payload using each shell metacharacter (``$(…)``, backticks, ``;``,
quotes; line breaks only where a field may hold them, see tests/config.rs). The scripts must
pass ``bash -n``, and *executing* them (with stand-ins for srun, etcd, the frontend and
genai-perf on PATH) must pass each value through as one literal argument and never run a
payload. Names written unquoted (environment variable names) are refused before anything is
written.

Shell by contract: the ``cmd`` fields (commands) and environment values (system
``global_env_vars``, test ``extra_env_vars``), which expand like a double-quoted shell word, as
CloudAI's unquoted ``export KEY=value`` did, without word splitting or globbing.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest

import cloudai_dynamo_rs as cdr


def payload(tag: str, quotes: bool = True) -> str:
    """A value that runs `touch pwn_<tag>_<n>` if any part of it is ever evaluated.

    No line break: single-line fields refuse them (tests/config.rs), and those that accept
    them (commands, environment values) are shell by contract.
    """
    parts = [f"$(touch pwn_{tag}_1)", f"`touch pwn_{tag}_2`", f";touch pwn_{tag}_3;"]
    if quotes:
        parts.append(f"'\"; touch pwn_{tag}_4; \"'")
    return "x" + "".join(parts)


def toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stub(bin_dir: Path, name: str, body: str) -> None:
    p = bin_dir / name
    p.write_text("#!/bin/bash\n" + body + "\n")
    p.chmod(p.stat().st_mode | stat.S_IXUSR)


LISTEN = (
    'exec python3 -c "import socket,sys,time; s=socket.socket(); '
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
    "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(120)\" "
)


@pytest.fixture
def job(tmp_path: Path) -> dict:
    # HF_HOME is an environment value (shell), so its path carries no `$`; quotes and blanks.
    hf = tmp_path / "hf home 'q' ;x"
    hf.mkdir()
    ports = {"etcd": free_port(), "nats": free_port()}
    p = payload
    test = f"""
name = "quoting"
test_template_name = "AIDynamo"
[cmd_args]
docker_image_url = {toml_str(p("image"))}
served_model_name = {toml_str(p("model"))}
sleep_seconds = 20
  [cmd_args.dynamo.frontend]
  endpoint = {toml_str(p("endpoint"))}
  port_etcd = {ports["etcd"]}
  port_nats = {ports["nats"]}
  [cmd_args.dynamo.processor]
  router = {toml_str(p("router"))}
  [cmd_args.dynamo.prefill_worker]
  num_nodes = 1
  kv_transfer_config = {toml_str(p("kv"))}
  quantization = {toml_str(p("quant"))}
  [cmd_args.dynamo.prefill_worker.extra_args]
  flag = {toml_str(p("engine"))}
  [cmd_args.dynamo.vllm_worker]
  num_nodes = 0
  [cmd_args.genai_perf]
  endpoint = {toml_str(p("gp_endpoint"))}
  endpoint_type = {toml_str(p("gp_type"))}
  tokenizer = {toml_str(p("tokenizer"))}
  input_file = {toml_str(p("input"))}
  extra_inputs = [{toml_str(p("inputs"))}]
  extra_args = [{toml_str(p("args"))}]
  streaming = true
[extra_env_vars]
HF_HOME = {toml_str(str(hf))}
"""
    plain = payload("sys", quotes=False)
    system = f"""
name = "s"
scheduler = "slurm"
install_path = {toml_str(str(tmp_path / "install"))}
output_path = {toml_str(str(tmp_path / "results"))}
default_partition = {toml_str(plain + "part")}
account = {toml_str(plain + "acct")}
mpi = {toml_str(p("mpi"))}
extra_srun_args = {toml_str("--comment " + repr(p("srun", quotes=False)))}
extra_sbatch_args = [{toml_str("--comment=" + plain)}]
"""
    scenario = f"""
name = "q"
[[Tests]]
id = {toml_str("id" + plain)}
test_name = "quoting"
"""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.toml").write_text(test)
    (tmp_path / "system.toml").write_text(system)
    (tmp_path / "scenario.toml").write_text(scenario)
    prepared = cdr.prepare(
        tmp_path / "system.toml",
        [tmp_path / "tests" / "t.toml"],
        tmp_path / "scenario.toml",
        timestamp="t",
    )
    return {"tmp": tmp_path, "run": prepared["runs"][0], "ports": ports}


def pwned(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("pwn_*"))


def test_scripts_parse(job: dict) -> None:
    run_dir = Path(job["run"]["run_dir"])
    for script in ("cloudai_sbatch_script.sh", "run.sh"):
        subprocess.run(["bash", "-n", str(run_dir / script)], check=True)


def run_sbatch(run_dir: Path, work: Path) -> tuple[list[str], dict[str, str]]:
    """Execute the sbatch script with a stand-in srun that records its arguments
    (NUL-separated) and the environment it was given; returns both."""
    bin_dir = work / "bin"
    bin_dir.mkdir(parents=True)
    stub(bin_dir, "srun", 'printf "%s\\0" "$@" > srun.args; env -0 > srun.env')
    stub(bin_dir, "scontrol", "echo node1")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SLURM_JOB_NODELIST": "n1",
        "SLURM_JOB_ID": "1",
    }
    subprocess.run(
        ["bash", str(run_dir / "cloudai_sbatch_script.sh")], cwd=work, env=env, check=True
    )
    args = (work / "srun.args").read_text().split("\0")[:-1]
    job_env = dict(
        kv.split("=", 1) for kv in (work / "srun.env").read_text().split("\0") if "=" in kv
    )
    return args, job_env


def test_sbatch_script_passes_values_literally(job: dict) -> None:
    tmp, run_dir = job["tmp"], Path(job["run"]["run_dir"])
    args, job_env = run_sbatch(run_dir, tmp / "work")
    assert f"--mpi={payload('mpi')}" in args
    assert f"--container-image={payload('image')}" in args
    i = args.index("--comment")
    assert args[i + 1] == payload("srun", quotes=False)
    assert job_env["HF_HOME"] == str(tmp / "hf home 'q' ;x")
    assert pwned(tmp) == []


def test_launch_script_runs_without_executing_payloads(job: dict) -> None:
    tmp, run_dir = job["tmp"], Path(job["run"]["run_dir"])
    work, bin_dir = tmp / "work", tmp / "bin"
    work.mkdir()
    bin_dir.mkdir()
    # Job ids repeat when a cluster's state is reset, and a killed job leaves its scratch
    # behind: etcd must not restart from that job's data directory.
    stale = tmp / "cloudaix-1-0"
    (stale / "etcd" / "member").mkdir(parents=True)
    stub(
        bin_dir,
        "etcd",
        'echo "$CLOUDAIX_SCRATCH" > "$CLOUDAIX_RESULTS_DIR/scratch.txt"; '
        + LISTEN
        + '"$CLOUDAIX_ETCD_PORT"',
    )
    stub(bin_dir, "nats-server", LISTEN + '"$CLOUDAIX_NATS_PORT"')
    stub(bin_dir, "dynamo", "exec sleep 120")
    # The frontend lists the (payload) model; /health is absent, as on seed-era Dynamo.
    stub(
        bin_dir,
        "curl",
        'case "$*" in *v1/models*) printf \'{"data":[{"id":"%s"}]}\' "$CLOUDAIX_MODEL";; '
        "*) exit 22;; esac",
    )
    stub(bin_dir, "genai-perf", 'printf "%s\\0" "$@" > "$CLOUDAIX_RESULTS_DIR/genai.args"')
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SLURM_NODEID": "0",
        "SLURM_JOB_ID": "1",
        "SLURM_JOB_MASTER_NODE": "127.0.0.1",
        "TMPDIR": str(tmp),
    }
    proc = subprocess.run(
        ["bash", str(run_dir / "run.sh")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (run_dir / "done.marker").exists()
    scratch = Path((run_dir / "scratch.txt").read_text().strip())
    assert scratch.parent == tmp and scratch.name.startswith("cloudaix-1-0.")
    assert not scratch.exists()  # removed when the node's script ends
    assert (stale / "etcd" / "member").is_dir()  # not ours to remove, and not reused
    args = (run_dir / "genai.args").read_text().split("\0")[:-1]
    assert args[:2] == ["profile", "-m"]
    assert args[2] == payload("model")
    for flag, tag in [
        ("--endpoint-type", "gp_type"),
        ("--endpoint", "gp_endpoint"),
        ("--tokenizer", "tokenizer"),
        ("--input-file", "input"),
        ("--extra-inputs", "inputs"),
    ]:
        assert args[args.index(flag) + 1] == payload(tag), flag
    assert args[-4] == payload("args")
    # CloudAI's `-- -v --async` for perf_analyzer, after the user's own arguments.
    assert args[-3:] == ["--", "-v", "--async"]
    # A worker node sees the done marker and leaves cleanly.
    worker = subprocess.run(
        ["bash", str(run_dir / "run.sh")],
        cwd=work,
        env={**env, "SLURM_NODEID": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert pwned(tmp) == []
    config = (run_dir / "dynamo_config.yaml").read_text()
    assert json.dumps(payload("kv")) in config


ENV_SYSTEM = """
name = "s"
scheduler = "slurm"
install_path = "{tmp}/install"
output_path = "{tmp}/results"
default_partition = "p"
container_runtime = "none"
[global_env_vars]
LD_LIBRARY_PATH = "/opt/x/lib:$LD_LIBRARY_PATH"
FROM_SYSTEM = '$(echo sys)'
OVERRIDDEN = "system"
"""

ENV_TEST = """
name = "env"
test_template_name = "AIDynamo"
[cmd_args]
docker_image_url = "i"
served_model_name = "m"
  [cmd_args.dynamo.prefill_worker]
  num_nodes = 1
  [cmd_args.dynamo.vllm_worker]
  num_nodes = 0
  [cmd_args.genai_perf]
[extra_env_vars]
HF_HOME = "{tmp}"
RUN_NAME = "run-$SLURM_JOB_ID"
CACHE = "$HOME/cache"
SPACED = "a  b * c"
NODES = '$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)'
QUOTED = 'say "hi" `echo there`'
REF = "${{RUN_NAME}}/x"
OVERRIDDEN = "test"
"""


def test_env_values_expand_like_a_double_quoted_word(tmp_path: Path) -> None:
    """CloudAI wrote `export KEY=value` unquoted: values expand at job time. Here they expand
    as one double-quoted word: substitutions run, but nothing is split or globbed."""
    (tmp_path / "system.toml").write_text(ENV_SYSTEM.format(tmp=tmp_path))
    (tmp_path / "t.toml").write_text(ENV_TEST.format(tmp=tmp_path))
    (tmp_path / "sc.toml").write_text('name = "e"\n[[Tests]]\nid = "e"\ntest_name = "env"\n')
    prepared = cdr.prepare(
        tmp_path / "system.toml", [tmp_path / "t.toml"], tmp_path / "sc.toml", timestamp="t"
    )
    run_dir = Path(prepared["runs"][0]["run_dir"])
    work, bin_dir = tmp_path / "work", tmp_path / "bin"
    work.mkdir()
    bin_dir.mkdir()
    for name in ("a", "b", "c", "x"):  # a glob of `*` would find these
        (work / name).touch()
    stub(bin_dir, "srun", "env -0 > srun.env")
    stub(bin_dir, "scontrol", "echo gpu-node-7; echo gpu-node-8")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": "/home/u",
        "LD_LIBRARY_PATH": "/base/lib",
        "SLURM_JOB_NODELIST": "gpu-node-[7-8]",
        "SLURM_JOB_ID": "4242",
    }
    subprocess.run(
        ["bash", str(run_dir / "cloudai_sbatch_script.sh")], cwd=work, env=env, check=True
    )
    job_env = dict(
        kv.split("=", 1) for kv in (work / "srun.env").read_text().split("\0") if "=" in kv
    )
    assert job_env["LD_LIBRARY_PATH"] == "/opt/x/lib:/base/lib"
    assert job_env["FROM_SYSTEM"] == "sys"
    assert job_env["RUN_NAME"] == "run-4242"
    assert job_env["CACHE"] == "/home/u/cache"
    assert job_env["SPACED"] == "a  b * c"
    assert job_env["NODES"] == "gpu-node-7"
    assert job_env["QUOTED"] == 'say "hi" there'
    assert job_env["REF"] == "run-4242/x"
    assert job_env["OVERRIDDEN"] == "test"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("$(echo", "unterminated `$(`"),
        ("${HOME", "unterminated `${`"),
        ("`date", "unterminated backquote"),
        ('$(echo "a)', "unterminated double quote inside `$(`"),
    ],
)
def test_env_value_that_is_not_one_word_is_a_positioned_error(
    tmp_path: Path, value: str, why: str
) -> None:
    (tmp_path / "t.toml").write_text(
        ENV_TEST.format(tmp=tmp_path) + f"BROKEN = {toml_str(value)}\n"
    )
    with pytest.raises(cdr.ConfigError) as err:
        cdr.load_test(tmp_path / "t.toml")
    line = len(ENV_TEST.format(tmp=tmp_path).splitlines()) + 1
    assert f"t.toml:{line}:10: extra_env_vars.BROKEN: expected a shell word" in str(err.value)
    assert why in str(err.value)


HOSTILE_NAMES = ["X=1;touch pwn_name_1;Y", "$(touch pwn_name_2)", "`touch pwn_name_3`", "A B", "1X"]


@pytest.mark.parametrize("where", ["extra_env_vars", "global_env_vars"])
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_environment_names_are_refused_before_writing(
    job: dict, where: str, name: str
) -> None:
    """Names are written unquoted (`export NAME=…`): anything but an identifier is refused."""
    tmp = job["tmp"]
    path = tmp / ("tests/t.toml" if where == "extra_env_vars" else "system.toml")
    text = path.read_text()
    header = f"[{where}]\n"
    if header not in text:
        text += header
    path.write_text(text.replace(header, f'{header}{toml_str(name)} = "1"\n'))
    line = text[: text.index(header)].count("\n") + 2  # the line after the header
    before = sorted((tmp / "results").iterdir())
    with pytest.raises(cdr.ConfigError) as err:
        cdr.prepare(
            tmp / "system.toml",
            [tmp / "tests" / "t.toml"],
            tmp / "scenario.toml",
            timestamp="t2",
        )
    [e] = err.value.errors
    assert (e["file"], e["line"], e["column"], e["path"]) == (str(path), line, 1, f"{where}.{name}")
    assert e["message"] == (
        "expected an environment variable name (letters, digits and '_', not starting with a "
        f"digit), found {json.dumps(name)}"
    )
    assert sorted((tmp / "results").iterdir()) == before
    # The path CloudAI uses (one run rendered from TOML texts) refuses it too.
    with pytest.raises(cdr.ConfigError):
        cdr.render_one(
            (tmp / "system.toml").read_text(),
            (tmp / "tests" / "t.toml").read_text(),
            run_dir=tmp / "run",
            install_dir=tmp / "install",
            id="x",
        )
    assert pwned(tmp) == []


def test_identifier_names_reach_the_job_environment(job: dict) -> None:
    """The positive side: identifiers of every shape are exported under their own name."""
    tmp = job["tmp"]
    test = tmp / "tests" / "t.toml"
    names = ["_9", "lower_case", "MiXeD1", "HOSTNAME"]
    extra = "".join(f'{n} = "value of {n}"\n' for n in names)
    test.write_text(test.read_text().replace("[extra_env_vars]\n", f"[extra_env_vars]\n{extra}"))
    prepared = cdr.prepare(tmp / "system.toml", [test], tmp / "scenario.toml", timestamp="t3")
    _, job_env = run_sbatch(Path(prepared["runs"][0]["run_dir"]), tmp / "work3")
    for n in names:
        assert job_env[n] == f"value of {n}", n
    assert pwned(tmp) == []
