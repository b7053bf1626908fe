"""Parquet files of generated events and a timer, shared by the engine benchmarks.

The events are those of benchmarks/xp_cmdshell.py (the bundled rule's world) and
benchmarks/sequence.py (a keyed stream for a 3-stage sequence), written once to Parquet in a
cache folder (``--cache``, default the system's temporary folder) and reused.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # run from a checkout, too
sys.path.insert(0, str(HERE))

from sequence import stream  # noqa: E402
from xp_cmdshell import generate  # noqa: E402


def parquet_file(kind: str, count: int, seed: int, cache: Path | None = None) -> Path:
    """A Parquet file of ``count`` events: ``kind`` "rule" (xp_cmdshell's) or "sequence"."""
    import pyarrow
    import pyarrow.parquet

    folder = cache or Path(tempfile.gettempdir()) / "eqlmini-bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{count}-{seed}.parquet"
    if not path.exists():
        writer = None
        for start in range(0, count, 200_000):
            size = min(200_000, count - start)
            if kind == "rule":
                events = generate(size, seed + start)
                for offset, event in enumerate(events):
                    event["@timestamp"] = 1_700_000_000_000 + start + offset
            else:
                events = list(stream(size, 2_000, seed + start))
            if writer is None:  # the first chunk's types serve every chunk
                kind_of_row = pyarrow.array(events).type
                writer = pyarrow.parquet.ParquetWriter(str(path) + ".part", pyarrow.schema(list(kind_of_row)))
            writer.write_table(pyarrow.Table.from_struct_array(pyarrow.array(events, type=kind_of_row)))
        writer.close()  # type: ignore[union-attr]
        Path(str(path) + ".part").rename(path)
    return path


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float, float, Any]:
    """(median, fastest, slowest) seconds of ``repeat`` runs, and the last run's result."""
    seconds = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), min(seconds), max(seconds), result


def report(label: str, events: int, figures: tuple[float, float, float, Any], baseline: float | None) -> None:
    """One line: events per second at the median, the range, the speed-up over ``baseline``."""
    median, low, high, _ = figures
    ratio = f"{baseline / median:>8.1f}x" if baseline else " " * 9
    print(f"{label:<34}{events / median:>14,.0f}/s  median {median:7.2f} s  "
          f"range {low:6.2f}-{high:6.2f} s {ratio}")
