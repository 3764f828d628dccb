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
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from cloudai_dynamo_rs import find_result_files, read_metrics_many

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


if __name__ == "__main__":
    main()
