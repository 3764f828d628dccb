"""Metric reads from genai-perf/aiperf CSVs: our parser against pandas, in the same run.

    maturin develop --release && python benches/results_vs_pandas.py [--files 1000] [--repeat 5]

Part 1 copies the corpus CSV exports (tests/data/results) into a temporary directory until
there are ``--files`` of them, then reads CloudAI's six metrics of every file:

* ours: one ``read_metrics_many`` call (parse every file once, look the six up), on one
  thread and on every core;
* CloudAI-like pandas: ``pd.read_csv`` then a row lookup, *per metric*, as CloudAI's
  ``get_metric`` does (about 1 ms per lookup);
* pandas, one ``read_csv`` per file for all six (a kinder baseline than CloudAI's);
* plain ``Path.read_bytes`` of the same files: the floor any parser stands on.

Part 2 writes one large synthetic genai-perf-style CSV (``--big-mb``) and compares MB/s of
our parse, ``pd.read_csv`` and ``read_bytes``. Files are read once before timing so every
contender sees a warm page cache. Each figure is the best of ``--repeat`` runs.

Part 3 measures the peak memory of each kind of read, each in a fresh process (the growth of
its peak RSS over the RSS after import, and over the RSS after a first read of a tiny export
through the same function: the first includes the ~0.3 MB of code pages any first call maps,
once per process), against the bound of twice the file size plus 50 MB: the lookups on the
large CSV, and ``read_results`` on the densest file it accepts
(``MAX_PARSE_BYTES`` of one-character cells: the most rows and cells a file can hold).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from cloudai_dynamo_rs import _core, find_result_files, read_metrics_many

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "results"

#: CloudAI's metric keys and the labels its pandas reader looks for.
KEYS = {
    "default": "Output Token Throughput (tokens/sec)",
    "request-throughput": "Request Throughput (per sec)",
    "time-to-first-token": "Time To First Token (ms)",
    "time-to-second-token": "Time To Second Token (ms)",
    "request-latency": "Request Latency (ms)",
    "inter-token-latency": "Inter Token Latency (ms)",
}


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def copy_corpus(work: Path, n: int) -> list[Path]:
    sources = [Path(e["path"]) for e in find_result_files(CORPUS) if e["format"] == "csv"]
    paths = []
    for i in range(n):
        src = sources[i % len(sources)]
        dst = work / f"{i:04d}" / src.name
        dst.parent.mkdir(parents=True)
        shutil.copy(src, dst)
        paths.append(dst)
    return paths


def cloudai_get_metric(path: Path, label: str) -> float:
    """CloudAI's reader at HEAD: pandas, first table header, `Value` else `avg`, -1 if absent."""
    df = pd.read_csv(path, on_bad_lines="skip")
    rows = df[df["Metric"] == label]
    if rows.empty:
        return -1.0
    column = "Value" if "Value" in df.columns else "avg"
    try:
        return float(str(rows[column].iloc[0]).replace(",", ""))
    except ValueError:
        return -1.0


def pandas_per_metric(paths: list[Path]) -> None:
    for p in paths:
        for label in KEYS.values():
            cloudai_get_metric(p, label)


def pandas_per_file(paths: list[Path]) -> None:
    for p in paths:
        df = pd.read_csv(p, on_bad_lines="skip")
        metric = df["Metric"]
        for label in KEYS.values():
            _ = df[metric == label]


def read_all(paths: list[Path]) -> None:
    for p in paths:
        p.read_bytes()


def write_big(path: Path, megabytes: int) -> int:
    """A genai-perf-style table of ~`megabytes` MB; some cells quoted with thousands commas."""
    rng = random.Random(0)
    stats = ["avg", "min", "max", "p99", "p95", "p90", "p75", "p50", "p25"]
    with open(path, "w", newline="") as f:
        f.write("Metric," + ",".join(stats) + "\r\n")
        i = 0
        while f.tell() < megabytes * 1_000_000:
            cells = []
            for _ in stats:
                v = rng.uniform(0, 5000)
                cells.append(f'"{v:,.2f}"' if v >= 1000 else f"{v:.2f}")
            f.write(f"Synthetic Metric {i} (ms)," + ",".join(cells) + "\r\n")
            i += 1
        f.write("\r\nMetric,Value\r\nOutput Token Throughput (tokens/sec),1234.5\r\n")
    return path.stat().st_size


#: Runs one read in a fresh interpreter and prints the growth of its peak RSS, in bytes.
PEAK_RSS = """
import sys
import cloudai_dynamo_rs as c

def status(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(field + ":"))

def read(kind, path):
    try:
        if kind == "get_metric":
            c.get_metric(path, "default")
        elif kind == "read_metrics_many":
            c.read_metrics_many([path], ["default"])
        else:
            c.read_results(path)
    except c.ResultsError as err:
        print("refused:", err, file=sys.stderr)

kind, path, warm = sys.argv[1], sys.argv[2], sys.argv[3:]
if warm:  # a first call, on a tiny export: its code pages are the process's, not the read's
    read(kind, warm[0])
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets VmHWM (the peak) to the current RSS
read(kind, path)
print(status("VmHWM") - before)
"""

#: The seed's genai-perf export (775 bytes): the warm-up read of part 3.
TINY = CORPUS / "cloudai-doc-genai-perf" / "profile_genai_perf.csv"


def peak_rss(kind: str, path: Path, warm: bool) -> int:
    """Peak RSS of the read above its process's RSS before it (Linux /proc); with ``warm``,
    after a first read of a tiny export through the same function."""
    command = [sys.executable, "-c", PEAK_RSS, kind, str(path), *([str(TINY)] if warm else [])]
    return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def write_dense(path: Path, size: int) -> int:
    """The most rows and cells in ``size`` bytes: 12 one-character statistics per row."""
    stats = ["avg", "min", "max", "p99", "p95", "p90", "p75", "p50", "p25", "p10", "p5", "p1"]
    tail = "\r\nMetric,Value\r\nOutput Token Throughput (tokens/sec),1.00\r\n"
    lines = ["Metric," + ",".join(stats) + "\r\n"]
    used, i = len(lines[0]) + len(tail), 0
    while True:
        line = f"{i:x}," + ",".join("0" * len(stats)) + "\r\n"
        if used + len(line) > size:
            break
        lines.append(line)
        used, i = used + len(line), i + 1
    path.write_text("".join(lines) + tail, newline="")
    return path.stat().st_size


def memory(work: Path, big: Path) -> None:
    dense = work / "dense_genai_perf.csv"
    write_dense(dense, _core.MAX_PARSE_BYTES)
    print("\npeak memory of one read (growth of peak RSS; bound = 2 x file + 50 MB)")
    print("  first: the process's first call (its code pages included); then: after a first")
    print("  read of a tiny export through the same function (the read's own memory)")
    for kind, path in [
        ("get_metric", big),
        ("read_metrics_many", big),
        ("read_results", dense),
        ("read_results", big),
    ]:
        size = path.stat().st_size
        first, then = peak_rss(kind, path, False), peak_rss(kind, path, True)
        bound = 2 * size + 50_000_000
        verdict = "ok" if first <= bound else "OVER"
        print(
            f"  {kind:18} {path.name:24}{size / 1e6:9.3f} MB file: first {first / 1e6:8.3f} MB,"
            f" then {then / 1e6:8.3f} MB ({then / size:.2f}x)  (bound {bound / 1e6:6.1f} MB)"
            f" {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--big-mb", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="results-bench-") as tmp:
        work = Path(tmp)
        paths = copy_corpus(work / "files", args.files)
        size = sum(p.stat().st_size for p in paths)
        keys = list(KEYS)
        n = len(paths) * len(keys)
        read_all(paths)  # warm the page cache for everyone

        ours_1 = best_of(args.repeat, lambda: read_metrics_many(paths, keys, threads=1))
        ours = best_of(args.repeat, lambda: read_metrics_many(paths, keys))
        raw = best_of(args.repeat, lambda: read_all(paths))
        per_file = best_of(max(1, args.repeat // 2), lambda: pandas_per_file(paths))
        per_metric = best_of(max(1, args.repeat // 2), lambda: pandas_per_metric(paths))

        print(f"{len(paths)} CSV files ({size / 1e6:.1f} MB), {len(keys)} metrics each")
        print(f"  {'':34}{'time':>9}{'metrics/s':>13}{'us/metric':>11}")
        for name, t in [
            ("ours, 1 thread", ours_1),
            (f"ours, {os.cpu_count()} threads", ours),
            ("pandas, read_csv per metric", per_metric),
            ("pandas, read_csv per file", per_file),
            ("read_bytes only", raw),
        ]:
            print(f"  {name:34}{t * 1e3:7.1f}ms{n / t:13,.0f}{t / n * 1e6:11.2f}")
        print(
            f"  CloudAI-like pandas / ours:  {per_metric / ours_1:6.1f}x (1 thread), "
            f"{per_metric / ours:.1f}x (all cores); target 50x"
        )
        print(f"  pandas per file / ours:      {per_file / ours_1:6.1f}x (1 thread)")
        print(
            f"  ours / read_bytes:           {ours_1 / raw:6.2f}x (1 thread), "
            f"{ours / raw:.2f}x (all cores); target <= 2x"
        )

        big = work / "big_genai_perf.csv"
        big_size = write_big(big, args.big_mb)
        big.read_bytes()
        # One file is parsed by one thread: this is single-core parse speed.
        ours_big = best_of(args.repeat, lambda: read_metrics_many([big], ["default"]))
        pandas_big = best_of(max(1, args.repeat // 2), lambda: pd.read_csv(big))
        raw_big = best_of(args.repeat, big.read_bytes)
        mb = big_size / 1e6
        print(f"\none large CSV ({mb:.1f} MB)")
        for name, t in [
            ("ours", ours_big),
            ("pandas.read_csv", pandas_big),
            ("read_bytes", raw_big),
        ]:
            print(f"  {name:34}{t * 1e3:7.1f}ms{mb / t:10,.0f} MB/s")
        print(f"  pandas.read_csv / ours:      {pandas_big / ours_big:6.1f}x")
        print(f"  ours / read_bytes:           {ours_big / raw_big:6.2f}x")
        memory(work, big)


if __name__ == "__main__":
    main()
