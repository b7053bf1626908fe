"""A picture of a replay: alerts over time against what a whole-history scan finds.

Needs matplotlib (``pip install 'eqlmini[plot]'``); nothing else in eqlmini does.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from . import Replay
from .results import iso

__all__ = ["plot"]

MINUTES, HOUR, DAY = 300_000, 3_600_000, 86_400_000


def plot(replay: Replay, path: str | Path, *, title: str | None = None) -> Path:
    """Save a chart of ``replay`` to ``path`` (its extension picks the format: .png, .svg,
    .pdf): alerts per 5 minutes, hour or day (as the span asks) as bars, per rule; the whole-history
    matches per bin as a line; the searches that hit max_signals and the missed matches as
    marks. Raises ImportError, with what to install, without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as pyplot
    except ImportError:
        raise ImportError("the plot needs matplotlib: pip install 'eqlmini[plot]'") from None
    start = replay.start or 0
    end = max([replay.end or 0, *(e.started for e in replay.executions if e.results)])
    width = MINUTES if end - start <= 3 * HOUR else HOUR if end - start <= 2 * DAY else DAY
    first = start // width * width
    bins = range(int(first), int(end) + width, width)

    def counts(times: list[float]) -> list[int]:
        found = Counter(int((time - first) // width) for time in times)
        return [found[i] for i in range(len(bins))]
    labels = [str(iso(edge))[:10 if width == DAY else 16] for edge in bins]
    figure, axes = pyplot.subplots(figsize=(max(8, min(12, len(bins) * 0.35)), 4.5))
    base = [0] * len(bins)
    for outcome in replay.rules:
        heights = counts([alert.time for alert in outcome.alerts])
        axes.bar(range(len(bins)), heights, bottom=base, label=f"alerts: {outcome.rule.name[:40]}", width=0.8)
        base = [b + h for b, h in zip(base, heights)]
    scanned = counts([time for outcome in replay.rules for time in outcome.scanned if time is not None])
    axes.step(range(len(bins)), scanned, where="mid", color="black", linewidth=1,
              label="whole-history scan: matches by event time")
    missed = counts([m.event_time for m in replay.missed if m.event_time is not None])
    if any(missed):
        axes.scatter([i for i, n in enumerate(missed) if n], [n for n in missed if n], marker="x", color="red",
                     zorder=3, label="missed matches")
    truncated = counts([e.started for e in replay.executions if e.truncated])
    for i, n in enumerate(truncated):
        if n:
            axes.axvline(i, color="orange", linestyle=":", linewidth=1)
    if any(truncated):
        axes.plot([], [], color="orange", linestyle=":", label="a search hit max_signals")
    step = max(1, len(bins) // 24)
    axes.set_xticks(range(0, len(bins), step), labels[::step], rotation=45, ha="right", fontsize=7)
    axes.set_ylabel({MINUTES: "per 5 minutes", HOUR: "per hour", DAY: "per day"}[width])
    axes.set_title(title or f"replay {labels[0]} .. {str(iso(end))[:16]}", fontsize=10)
    axes.legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    target = Path(path)
    figure.savefig(target, dpi=110)
    pyplot.close(figure)
    return target
