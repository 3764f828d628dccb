"""Figures of the HTML report, drawn by matplotlib's Agg renderer into PNG bytes.

The object-oriented API (``Figure`` + ``savefig``) is used instead of ``pyplot`` so that the
report neither needs a display nor changes the global backend of a host process (CloudAI).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .metrics import PER_GPU, PER_USER
from .tables import RunRow

if TYPE_CHECKING:  # matplotlib is imported only when a report is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_DPI = 100
_SIZE = (7.0, 4.5)


@dataclass(frozen=True)
class Plot:
    """One figure: a file-safe name, a caption and the PNG bytes."""

    name: str
    title: str
    png: bytes


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _series_label(row: RunRow, drop: str | None = None) -> str:
    """Test id plus the sweep values that tell its series apart (minus the x axis' one)."""
    params = [
        f"{k.split('.', 1)[-1]}={v}"
        for k, v in row.run.params.items()
        if drop is None or not k.endswith(drop)
    ]
    return " ".join([row.run.test_id, *params])


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten on both axes (higher is better for both), by increasing x."""
    front: list[tuple[float, float]] = []
    best_y = float("-inf")
    for x, y in sorted(points, key=lambda p: (-p[0], -p[1])):
        if y > best_y:
            front.append((x, y))
            best_y = y
    return front[::-1]


def _new_figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    return fig, fig.add_subplot()


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # No "Software" text chunk: the same data gives the same bytes across matplotlib builds.
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _no_data(ax: Axes, what: str) -> None:
    ax.text(
        0.5,
        0.5,
        f"no completed run with {what}",
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="gray",
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _pareto(rows: list[RunRow]) -> bytes:
    fig, ax = _new_figure()
    groups: dict[str, list[tuple[float, float, RunRow]]] = {}
    for row in rows:
        x, y = row.metrics.values.get(PER_USER), row.metrics.values.get(PER_GPU)
        if x is not None and y is not None:
            groups.setdefault(row.run.test_id, []).append((x, y, row))
    if not groups:
        _no_data(ax, "throughput per GPU and per user")
        return _png(fig)
    for test_id, pts in groups.items():
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], label=test_id, zorder=3)
        if len(pts) <= 40:  # label points with their concurrency while it stays readable
            for x, y, row in pts:
                if row.metrics.concurrency is not None:
                    ax.annotate(
                        f"c{row.metrics.concurrency:g}",
                        (x, y),
                        textcoords="offset points",
                        xytext=(4, 4),
                        fontsize=7,
                    )
    front = pareto_front([(x, y) for pts in groups.values() for x, y, _ in pts])
    ax.plot(
        [p[0] for p in front],
        [p[1] for p in front],
        "--",
        color="gray",
        drawstyle="steps-post",
        label="Pareto front",
        zorder=2,
    )
    ax.set_xlabel("output tokens/s per user")
    ax.set_ylabel("output tokens/s per GPU")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def _against_concurrency(rows: list[RunRow], avg: str, p99: str, what: str) -> bytes:
    fig, ax = _new_figure()
    series: dict[str, dict[float, list[tuple[float, float | None]]]] = {}
    for row in rows:
        c, y = row.metrics.concurrency, row.metrics.values.get(avg)
        if c is not None and y is not None:
            by_c = series.setdefault(_series_label(row, drop="concurrency"), {})
            by_c.setdefault(c, []).append((y, row.metrics.values.get(p99)))
    if not series:
        _no_data(ax, f"{what} and a concurrency")
        return _png(fig)
    for label, by_c in series.items():
        xs = sorted(by_c)
        # Iterations of the same case are averaged into one point per concurrency.
        means = [sum(v[0] for v in by_c[x]) / len(by_c[x]) for x in xs]
        (line,) = ax.plot(xs, means, "o-", label=f"{label} avg")
        tails = [[v[1] for v in by_c[x] if v[1] is not None] for x in xs]
        if all(tails):
            ax.plot(
                xs,
                [sum(t) / len(t) for t in tails],
                "s--",
                color=line.get_color(),
                alpha=0.6,
                label=f"{label} p99",
            )
    levels = sorted({c for by_c in series.values() for c in by_c})
    if levels[-1] >= 8 * levels[0] > 0:
        ax.set_xscale("log", base=2)
    if len(levels) <= 12:  # ticks at the concurrencies actually run, not 1.5, 2.5, ...
        ax.set_xticks(levels, [f"{c:g}" for c in levels])
        ax.minorticks_off()
    ax.set_xlabel("concurrency")
    ax.set_ylabel(f"{what} (ms)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def make_plots(rows: list[RunRow]) -> list[Plot]:
    """The report's figures, in display order. Requires matplotlib."""
    return [
        Plot("pareto", "Output tokens/s per GPU against output tokens/s per user", _pareto(rows)),
        Plot(
            "ttft",
            "Time to first token against concurrency",
            _against_concurrency(rows, "ttft_avg_ms", "ttft_p99_ms", "time to first token"),
        ),
        Plot(
            "itl",
            "Inter-token latency against concurrency",
            _against_concurrency(rows, "itl_avg_ms", "itl_p99_ms", "inter-token latency"),
        ),
    ]
