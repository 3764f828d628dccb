"""The standing performance targets, measured side by side with CloudAI in one run.

    python benches/vs_cloudai.py --cloudai-python /tmp/venv-cai13/bin/python [--repeat 7]

(or ``CLOUDAI_PYTHON=…``). The CloudAI interpreter must have CloudAI 13816b1a installed and
*not* this project's plugin, so its built-in AIDynamo does the work:

    python3 -m venv /tmp/venv-cai13
    /tmp/venv-cai13/bin/pip install /work/shared/vendor/cloudai-13816b1a.tar.gz

1. Whole-process ``dry-run`` of the seed scenario (conf/staging/ai_dynamo, HF_HOME pointed at
   an existing directory, so both do their host checks, and the six genai-perf fields CloudAI
   requires added): ``cloudaix --engine embedded dry-run`` against CloudAI's own ``cloudai
   dry-run``, interleaved, median of ``--repeat`` each, wall and CPU time. Target: CloudAI /
   ours >= 60 on wall time.
   Python start-up alone and start-up + ``import cloudai_dynamo_rs._core`` are reported too.
2. ``cloudaix dry-run`` of a 1000-case sweep against ``cp -r`` of the tree it wrote, in
   pairs of alternating order with ``sync`` between runs; medians and the spread of the
   pair-by-pair ratio, wall and CPU. Target: ours / cp <= 1.5.
3. Peak memory of one result read: ``ru_maxrss`` of the child process (GNU time) against
   the file's size, less that of a child that only imports (the whole cost of the call) and
   less that of a child that reads a tiny valid export through the same function (the read's
   own memory; the difference of the two is the once-per-process cost of a first call).
   Target: the read's own memory <= 2 x the file size.

Without a working CloudAI interpreter the script says so and exits 2: no quoted stand-ins.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "conf" / "staging" / "ai_dynamo"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dry_run import write_inputs  # noqa: E402  (the seed test with HF_HOME set, or its sweep)

#: CloudAI 13816b1a requires six genai-perf fields the seed omits (README, "Differences from
#: CloudAI"); both engines get them so both can run the same file.
CLOUDAI_REQUIRED = """streaming = true
  extra_inputs = '{"temperature": 0.7}'
  output_tokens_mean = 128
  random_seed = 100
  request_count = 10
  synthetic_input_tokens_mean = 550
  warmup_request_count = 10"""

#: Children may write bytecode caches, as any install has them: with PYTHONDONTWRITEBYTECODE set
#: (this machine sets it) the editable install of this project recompiled its modules on every
#: run (~19 ms), while pip had compiled CloudAI's at install time.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TIME = shutil.which("time", path="/usr/bin:/bin")
SEED_TARGET = 60.0
COPY_TARGET = 1.5
MEMORY_TARGET = 2.0


def run_child(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (bytes) and CPU seconds (user + system) of one child; its output
    is shown only on failure."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, env=CHILD_ENV, text=True
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{out[-3000:]}")
    return elapsed, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def cloudaix(*args: str) -> list[str]:
    """The console script ``cloudaix`` this interpreter's install made, as CloudAI's side runs
    its ``cloudai`` (``python -m`` would add runpy's imports to our start only)."""
    script = Path(sys.executable).parent / "cloudaix"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "cloudai_dynamo_rs.engine"]
    return [*head, "--engine", "embedded", *args]


def dry_run_args(inputs: tuple[Path, Path, Path], out: Path) -> list[str]:
    system, tests, scenario = inputs
    return [
        "dry-run",
        "--system-config",
        str(system),
        "--tests-dir",
        str(tests),
        "--test-scenario",
        str(scenario),
        "--output-dir",
        str(out),
    ]


def check_cloudai(python: str | None) -> str:
    if not TIME:
        sys.exit("vs_cloudai: GNU time (/usr/bin/time) is needed for the memory figures")
    if not python:
        sys.exit(
            "vs_cloudai: no CloudAI interpreter: pass --cloudai-python or set CLOUDAI_PYTHON "
            "(a python with CloudAI 13816b1a installed); nothing measured"
        )
    probe = subprocess.run(
        [
            python,
            "-c",
            "import cloudai.cli; import importlib.metadata as m; print(m.version('cloudai'))",
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        sys.stderr.write(probe.stderr[-2000:])
        print(f"vs_cloudai: {python} cannot import CloudAI; nothing measured", file=sys.stderr)
        sys.exit(2)
    plugin = subprocess.run(
        [python, "-c", "import cloudai_dynamo_rs"], capture_output=True, text=True
    )
    if plugin.returncode == 0:
        print(
            f"vs_cloudai: {python} has this project installed: its plugin would replace "
            "CloudAI's AIDynamo; use a clean CloudAI venv",
            file=sys.stderr,
        )
        sys.exit(2)
    return probe.stdout.strip()


def cloudai_cmd(python: str, args: list[str]) -> list[str]:
    script = Path(python).parent / "cloudai"  # the console script `cloudai` its install made
    return [str(script), *args] if script.exists() else [python, "-m", "cloudai", *args]


def seed(work: Path, cai_python: str, repeat: int) -> None:
    inputs = write_inputs(work, sweep=False)
    test = inputs[1] / "test.toml"
    test.write_text(test.read_text().replace("streaming = true", CLOUDAI_REQUIRED))
    ours, theirs = [], []
    for i in range(-1, repeat):  # interleaved: both see the same machine load; -1 warms up
        out = work / f"seed-ours-{i}"
        ours.append(run_child(cloudaix(*dry_run_args(inputs, out))))
        shutil.rmtree(out)
        out = work / f"seed-cloudai-{i}"
        # cwd: CloudAI writes its debug.log to the working directory
        theirs.append(run_child(cloudai_cmd(cai_python, dry_run_args(inputs, out)), cwd=work))
        if not any(out.rglob("cloudai_sbatch_script.sh")):
            sys.exit(f"CloudAI's dry-run wrote no sbatch script under {out}")
        shutil.rmtree(out)
        if i < 0:
            ours.clear()
            theirs.clear()
    bare, core = [], []
    for _ in range(repeat):
        bare.append(run_child([sys.executable, "-c", "pass"])[0])
        core.append(run_child([sys.executable, "-c", "import cloudai_dynamo_rs._core"])[0])
    o = statistics.median(r[0] for r in ours)
    t = statistics.median(r[0] for r in theirs)
    oc = statistics.median(r[2] for r in ours)
    tc = statistics.median(r[2] for r in theirs)
    verdict = "ok" if t / o >= SEED_TARGET else "BELOW TARGET"
    print(f"1. dry-run, seed scenario, whole process (median of {repeat}, interleaved)")
    print("                                  wall       CPU (user+sys)")
    print(f"   cloudaix --engine embedded  {o * 1000:8.1f} ms {oc * 1000:8.1f} ms")
    print(f"   cloudai (13816b1a)          {t * 1000:8.1f} ms {tc * 1000:8.1f} ms")
    print(
        f"   ratio                       {t / o:8.1f}x  {tc / oc:8.1f}x"
        f"   (target >= {SEED_TARGET:.0f}x on wall) {verdict}"
    )
    pairs = zip(ours, theirs, strict=True)
    print(f"   ratio pair by pair, wall    {spread([b[0] / a[0] for a, b in pairs])}")
    b, c = statistics.median(bare), statistics.median(core)
    print(f"   python start-up alone       {b * 1000:8.1f} ms")
    print(f"   + import _core              {c * 1000:8.1f} ms  (import {(c - b) * 1000:.1f} ms)")


def spread(values: list[float]) -> str:
    """Median, and the range of the middle half (quartiles) and of all, of ``values``."""
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return (
        f"median {statistics.median(values):.2f}x, quartiles {q1:.2f}-{q3:.2f}x, "
        f"all {min(values):.2f}-{max(values):.2f}x"
    )


def sweep(work: Path, repeat: int) -> None:
    """Ours against ``cp -r`` of the tree a warm-up run wrote, in pairs whose order alternates
    (ours first, then the copy first: neither always runs on the other's dirty pages); the
    trees of a pair are removed and ``sync`` flushes the disk before the next pair, so no run
    pays for an earlier one's writeback."""
    inputs = write_inputs(work, sweep=True)
    source = work / "sweep-source"
    run_child(cloudaix(*dry_run_args(inputs, source)))
    cases = sum(1 for _ in source.rglob("cloudai_sbatch_script.sh"))
    ours: list[tuple[float, int, float]] = []
    copies: list[tuple[float, int, float]] = []
    for i in range(repeat):
        out, copy = work / f"sweep-{i}", work / f"copy-{i}"
        ours_cmd = cloudaix(*dry_run_args(inputs, out))
        copy_cmd = ["cp", "-r", str(source), str(copy)]
        steps = [(ours, ours_cmd), (copies, copy_cmd)]
        for times, cmd in steps if i % 2 == 0 else steps[::-1]:
            os.sync()
            times.append(run_child(cmd))
        shutil.rmtree(out)
        shutil.rmtree(copy)
    os.sync()
    o = statistics.median(r[0] for r in ours)
    c = statistics.median(r[0] for r in copies)
    oc = statistics.median(r[2] for r in ours)
    cc = statistics.median(r[2] for r in copies)
    ratios = [a[0] / b[0] for a, b in zip(ours, copies, strict=True)]
    verdict = "ok" if statistics.median(ratios) <= COPY_TARGET else "ABOVE TARGET"
    print(f"2. dry-run, {cases}-case sweep ({repeat} pairs with cp -r, alternating order, sync)")
    print("                                  wall       CPU (user+sys)")
    print(f"   cloudaix --engine embedded  {o * 1000:8.1f} ms {oc * 1000:8.1f} ms")
    print(f"   cp -r of its output tree    {c * 1000:8.1f} ms {cc * 1000:8.1f} ms")
    print(f"   ratio of medians            {o / c:8.2f}x  {oc / cc:8.2f}x")
    print(f"   ratio pair by pair, wall    {spread(ratios)}")
    print(f"   (target <= {COPY_TARGET}x on the median pair) {verdict}")


READ = """
import sys
import cloudai_dynamo_rs as c
kind, path = sys.argv[1], sys.argv[2]
if kind == "get_metric":
    c.get_metric(path, "default")
elif kind == "read_results":
    c.read_results(path)
elif kind == "to_dict":  # every value made a Python object, as read_results once returned
    c.read_results(path).to_dict()
"""

#: The tiny valid exports a baseline child reads (the seed's genai-perf CSV, 775 bytes, and
#: the smallest JSON export): it touches the code and allocator arenas any call of the same
#: function touches, so a read's growth above it is the read's own memory.
TINY = {
    "csv": ROOT / "tests/data/results/cloudai-doc-genai-perf/profile_genai_perf.csv",
    "json": ROOT
    / "tests/data/results/genai-perf-0.0.16/dynamo-mocker-1p1d-nostream-c4"
    / "tiny-openai-chat-concurrency4/profile_export_genai_perf.json",
}


def child_maxrss(args: list[str], work: Path) -> int:
    """ru_maxrss (bytes) of a Python child doing ``READ``, measured by GNU time; the least of
    three runs (the figure moves by a page or two from run to run).

    Not by our own wait4: Linux folds the RSS of the process that forks (vfork shares it) into
    the child's ru_maxrss at exec, so a child of this 20-80 MB interpreter would report at least
    that. GNU time is a small C program: its child starts from almost nothing."""
    report = work / "maxrss"
    peaks = []
    for _ in range(3):
        run_child([TIME, "-f", "%M", "-o", str(report), sys.executable, "-c", READ, *args])
        peaks.append(int(report.read_text().split()[-1]) * 1024)
    return min(peaks)


def memory(work: Path) -> None:
    """Peak memory of one read, three ways, each the ``ru_maxrss`` of a fresh child:

    * above a child that only imports: the whole cost of the call, including what any first
      call into the core costs once per process (code pages of the extension touched,
      allocator arenas set up), whatever the file;
    * that first-call cost alone: a child that reads a tiny valid export through the same
      function, above the import-only child;
    * the read's own memory: above that tiny-read child. The target (<= 2x the file) is on
      this one; ``cargo bench --bench memory`` counts the same without the process, in heap
      bytes."""
    from results_vs_pandas import write_big, write_dense

    from cloudai_dynamo_rs import _core

    big, dense = work / "big_genai_perf.csv", work / "dense_genai_perf.csv"
    write_big(big, 50)
    write_dense(dense, _core.MAX_PARSE_BYTES)
    base = child_maxrss(["import-only", str(big)], work)
    print("3. peak memory of one result read: ru_maxrss of a fresh child (GNU time), least of 3")
    print(f"   child that only imports:  {base / 1e6:.2f} MB")
    # read_results parses whole files only up to MAX_PARSE_BYTES: its worst case is the densest
    # such file (the most rows and cells), its usual case the largest corpus export (CSV and
    # JSON); get_metric streams, so it gets the 50 MB one. to_dict makes every value a Python
    # object (what read_results returned before it kept the file in the core): not a target.
    corpus = ROOT / "tests/data/results"
    real_csv = max(corpus.glob("**/*.csv"), key=lambda p: p.stat().st_size)
    real_json = max(corpus.glob("**/*.json"), key=lambda p: p.stat().st_size)
    reads = [
        ("get_metric", big),
        ("read_results", dense),
        ("read_results", real_csv),
        ("read_results", real_json),
        ("to_dict", dense),
    ]
    first_call: dict[tuple[str, str], int] = {}
    for kind, path in reads:
        fmt = path.suffix.lstrip(".")
        if (kind, fmt) not in first_call:
            tiny = child_maxrss([kind, str(TINY[fmt])], work)
            first_call[kind, fmt] = tiny
            print(
                f"   first call, {kind} of {TINY[fmt].name} ({TINY[fmt].stat().st_size} bytes):"
                f" {(tiny - base) / 1e6:.2f} MB above the import-only child (once per process,"
                " not per read)"
            )
    for kind, path in reads:
        size = path.stat().st_size
        peak = child_maxrss([kind, str(path)], work)
        tiny = first_call[kind, path.suffix.lstrip(".")]
        whole, own = peak - base, peak - tiny
        verdict = "ok" if own <= MEMORY_TARGET * size else "OVER"
        if kind == "to_dict":
            verdict = "(not a target)"
        print(
            f"   {kind:13} {path.name:26} {size / 1e6:6.3f} MB file: ru_maxrss"
            f" {peak / 1e6:6.2f} MB; above the import-only child {whole / 1e6:6.3f} MB"
            f" ({whole / size:5.2f}x); the read's own, above the tiny read {own / 1e6:6.3f} MB"
            f" ({own / size:5.2f}x; target <= {MEMORY_TARGET:.0f}x) {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cloudai-python", default=os.environ.get("CLOUDAI_PYTHON"))
    parser.add_argument("--repeat", type=int, default=7, help="runs of each (seed), pairs (sweep)")
    parser.add_argument(
        "--parts", default="seed,sweep,memory", help="which measurements, comma-separated"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    version = check_cloudai(args.cloudai_python)
    load = os.getloadavg()
    print(
        f"CloudAI {version} at {args.cloudai_python}; {os.cpu_count()} cores; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        if "seed" in parts:
            seed(work, args.cloudai_python, args.repeat)
        if "sweep" in parts:
            sweep(work, args.repeat)
        if "memory" in parts:
            memory(work)
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
