"""The self-contained ``report.html``: inline CSS, figures as ``data:`` PNGs, no scripts and
no network assets, so it opens offline and can be mailed or attached to a ticket as is."""

from __future__ import annotations

import base64
import datetime as dt
from html import escape
from pathlib import Path

from .metrics import ERRORS, PER_GPU, PER_USER
from .plots import Plot
from .tables import RunRow, runs_of

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.bad td{background:#fdecea} tr.warn td{background:#fff6e0}
.note{color:#555;max-width:60em} figure{margin:0 0 1.5em} figcaption{font-weight:600}
"""

#: (column heading, value key in the metrics, number format)
_RESULT_COLUMNS = [
    ("output tok/s", "output_tokens_per_s", "{:.1f}"),
    ("tok/s/GPU", PER_GPU, "{:.2f}"),
    ("tok/s/user", PER_USER, "{:.2f}"),
    ("TTFT avg ms", "ttft_avg_ms", "{:.2f}"),
    ("TTFT p50", "ttft_p50_ms", "{:.2f}"),
    ("TTFT p99", "ttft_p99_ms", "{:.2f}"),
    ("ITL avg ms", "itl_avg_ms", "{:.2f}"),
    ("ITL p50", "itl_p50_ms", "{:.2f}"),
    ("ITL p99", "itl_p99_ms", "{:.2f}"),
    ("latency avg ms", "request_latency_avg_ms", "{:.1f}"),
    ("latency p99", "request_latency_p99_ms", "{:.1f}"),
    ("requests", "request_count", "{:.0f}"),
    ("failed requests", ERRORS, "{:.0f}"),
    ("accuracy", "accuracy", "{:.4f}"),
]

#: Statuses shown as warnings rather than failures: not run at all, or completed with some
#: failed requests.
_WARN = ("not_run", "flagged")

#: Already HTML (entities), shown on every page.
DIVISOR_NOTE_HTML = (
    "Per-GPU throughput divides output token throughput by the GPUs of the nodes that run an "
    "engine (the &ldquo;gpus&rdquo; column; &ldquo;GPUs Counted&rdquo; in report.csv): "
    "engine nodes &times; gpus_per_node. The prefill and decode nodes always count; the "
    "frontend node counts when it hosts an engine, as with the seed&rsquo;s default "
    "<code>dynamo serve graphs.agg_router:Frontend</code>, whose graph (Frontend &rarr; "
    "Processor &rarr; Router &rarr; VllmWorker) runs a decode engine there: (1 + prefill + "
    "decode) &times; gpus_per_node, as in CloudAI. A frontend <code>cmd</code> such as "
    "<code>python -m dynamo.frontend</code> runs none (unless <code>runs_engine = true</code>): "
    "(prefill + decode) &times; gpus_per_node. With CloudAI main&rsquo;s schema the frontend "
    "shares the first decode node, and prefill and decode nodes that share nodes count once. "
    "Runs with several aiperf phases have one line per phase. Per-user throughput is the "
    "per-request "
    "&ldquo;Output Token Throughput Per User&rdquo; metric when the export has it, otherwise "
    "output token throughput &divide; concurrency."
)


def _value(row: RunRow, key: str) -> float | None:
    return row.metrics.accuracy if key == "accuracy" else row.metrics.values.get(key)


def _params(row: RunRow) -> str:
    return ", ".join(f"{k}={v}" for k, v in row.run.params.items())


def _status_table(rows: list[RunRow]) -> str:
    head = (
        "<tr><th>run</th><th>parameters</th><th>status</th><th>cause</th><th>job</th>"
        "<th>elapsed s</th></tr>"
    )
    body = []
    for r in (g[0] for g in runs_of(rows)):  # one line per run, not per phase
        css = (
            ""
            if r.status == "completed"
            else (' class="warn"' if r.status in _WARN else ' class="bad"')
        )
        elapsed = "" if r.run.elapsed is None else f"{r.run.elapsed:.0f}"
        body.append(
            f"<tr{css}><td>{escape(r.run.label)}</td><td>{escape(_params(r))}</td>"
            f"<td>{escape(r.status)}</td><td>{escape(r.cause)}</td>"
            f"<td>{escape(r.run.job_id or '')}</td><td class=n>{elapsed}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _results_table(rows: list[RunRow]) -> str:
    head = (
        "<tr><th>run</th><th>phase</th><th>parameters</th><th>GPUs</th><th>concurrency</th>"
        + "".join(f"<th>{escape(h)}</th>" for h, _, _ in _RESULT_COLUMNS)
        + "</tr>"
    )
    body = []
    for r in rows:
        if not r.metrics.values:
            continue
        cells = "".join(
            f"<td class=n>{'' if (v := _value(r, k)) is None else fmt.format(v)}</td>"
            for _, k, fmt in _RESULT_COLUMNS
        )
        conc = "" if r.metrics.concurrency is None else f"{r.metrics.concurrency:g}"
        body.append(
            f"<tr><td>{escape(r.run.label)}</td><td>{escape(r.metrics.phase)}</td>"
            f"<td>{escape(_params(r))}</td>"
            f"<td class=n>{r.metrics.gpus or ''}</td><td class=n>{conc}</td>{cells}</tr>"
        )
    if not body:
        return "<p>No run has readable results.</p>"
    return f"<table>{head}{''.join(body)}</table>"


def _figure(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    return (
        f'<figure id="{plot.name}"><figcaption>{escape(plot.title)}</figcaption>'
        f'<img alt="{escape(plot.title)}" src="data:image/png;base64,{data}"></figure>'
    )


def render_html(
    title: str,
    results_dir: Path,
    rows: list[RunRow],
    plots: list[Plot] | None,
    gpus_per_node: int | None,
) -> str:
    """The page; ``plots`` None means matplotlib is missing (the tables are still shown)."""
    counts: dict[str, int] = {}
    runs = [g[0] for g in runs_of(rows)]
    for r in runs:
        counts[r.status] = counts.get(r.status, 0) + 1
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    failed = [r for r in runs if r.status not in ("completed", *_WARN)]
    flagged = [r for r in runs if r.status == "flagged"]
    gpn = (
        f"gpus_per_node = {gpus_per_node}."
        if gpus_per_node
        else "gpus_per_node is not set in the system file: no per-GPU figures."
    )
    if plots is None:
        figures = (
            "<p class=note>Plots need matplotlib: "
            "<code>pip install 'cloudai-dynamo-rs[report]'</code>, then run "
            "<code>cloudaix generate-report</code> again.</p>"
        )
    else:
        figures = "".join(_figure(p) for p in plots)
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p>Results in <code>{escape(str(results_dir))}</code>, generated {escape(stamp)}.
{len(runs)} run(s): {escape(tally) or "none"}.</p>
<p class=note>{DIVISOR_NOTE_HTML} {escape(gpn)}</p>
<h2>Status</h2>
{f"<p><strong>{len(failed)} run(s) did not complete</strong>; causes below.</p>" if failed else ""}
{f"<p><strong>{len(flagged)} run(s) flagged</strong>: some requests failed.</p>" if flagged else ""}
{_status_table(rows)}
<h2>Results</h2>
{_results_table(rows)}
<h2>Plots</h2>
{figures}
</body></html>
"""
