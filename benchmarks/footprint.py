"""What posixq costs a process: import time, and memory over a long run.

Import time is ``python -c "import posixq"`` minus ``python -c pass``,
run alternately many times (the median of the paired differences);
posix_ipc's is measured the same way for comparison. Memory is the RSS of
a process doing 1M put+get pairs (peer.py rss), read after the first 10k
and at the end: a leak grows it, a steady state does not.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from time import perf_counter_ns

from contenders import LABELS, available
from harness import (
    Row,
    Settings,
    count_label,
    log,
    python_peer,
    rotated,
    run_peers,
    set_target,
    skipped,
    temp_queue,
)

GROUP = "7 footprint"
IMPORTS = {"pass": "pass", "posixq": "import posixq", "posix_ipc": "import posix_ipc"}


def time_command(code: str) -> float:
    """Milliseconds for ``python -c code`` to run and exit."""
    start = perf_counter_ns()
    # -I: never the source tree of a checkout in the working directory, for every command alike.
    subprocess.run([sys.executable, "-I", "-c", code], check=True)
    return (perf_counter_ns() - start) / 1e6


def run_imports(settings: Settings) -> list[Row]:
    scenario = "import time over `python -c pass`"
    kinds = [k for k in IMPORTS if k != "posix_ipc" or available(k) is None]
    n = settings.count(40, 10)
    log(f"footprint: import time, {n} runs of each of {', '.join(kinds)}")
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for kind in kinds:  # warm the page cache
        time_command(IMPORTS[kind])
    for i in range(n):
        for kind in rotated(kinds, i):
            times[kind].append(time_command(IMPORTS[kind]))
    rows = [
        Row(
            GROUP,
            scenario,
            "python -c pass",
            "startup",
            statistics.median(times["pass"]),
            "ms",
            "lower",
        )
    ]
    for kind in kinds[1:]:
        extra = [t - base for t, base in zip(times[kind], times["pass"])]
        label = "posixq" if kind == "posixq" else LABELS[kind]
        rows.append(
            Row(
                GROUP,
                scenario,
                label,
                f"import {kind}",
                statistics.median(extra),
                "ms",
                "lower",
                samples=extra,
            )
        )
    set_target(rows, "posixq", scenario, "import posixq", "<30 ms", lambda r: r.value < 30)
    return rows


def run_memory(settings: Settings) -> list[Row]:
    n = settings.count(1_000_000, 20_000)
    scenario = f"RSS over {count_label(n)} put+get pairs of 64 B"
    rows: list[Row] = []
    kinds = ["select"]
    if available("posix_ipc") is None:
        kinds.append("posix_ipc")
    else:
        rows.append(skipped(GROUP, scenario, LABELS["posix_ipc"], available("posix_ipc") or ""))
    for kind in kinds:
        log(f"footprint: RSS of {LABELS[kind]} over {n} put+get pairs")
        with temp_queue("rss", 1, 64) as name:
            [result] = run_peers([python_peer("rss", kind, name, n)])
        label = LABELS[kind]
        rows.append(
            Row(
                GROUP,
                scenario,
                label,
                "RSS after 10k",
                result["rss_10k_kib"] / 1024,
                "MiB",
                "lower",
            )
        )
        rows.append(
            Row(GROUP, scenario, label, "peak RSS", result["peak_kib"] / 1024, "MiB", "lower")
        )
        growth = result["rss_end_kib"] - result["rss_10k_kib"]
        rows.append(Row(GROUP, scenario, label, "RSS growth after 10k", growth, "KiB", "lower"))
    set_target(
        rows,
        LABELS["select"],
        scenario,
        "RSS growth after 10k",
        "<=1024 KiB",
        lambda r: r.value <= 1024,
    )
    return rows


def run(settings: Settings) -> list[Row]:
    return run_imports(settings) + run_memory(settings)
