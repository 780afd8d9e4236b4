"""Single process, non-blocking put+get pairs of 64 B, 1 KiB and 8 KiB messages.

The queue never blocks (one message in, one out), so this is the cost of
the two calls themselves: the binding's overhead on top of two system
calls. Each size has its own queue of that ``max_message_size`` and one
slot, opened by every contender; the C loop opens it too.
"""

from __future__ import annotations

from itertools import repeat
from time import perf_counter_ns
from typing import Any, Callable

from contenders import LABELS, POSIXQ, open_handle, runnable
from harness import (
    Row,
    Settings,
    log,
    round_robin,
    rows_for,
    run_peers,
    set_target,
    temp_queue,
)

GROUP = "1 pairs"
SIZES = (64, 1024, 8192)
CONTENDERS = (*POSIXQ, "posix_ipc", "baseplate", "cffi", "c")


def time_pairs(
    put: Callable[[bytes], Any], get: Callable[[], Any], message: bytes, n: int
) -> float:
    """Microseconds per put+get pair, over ``n`` pairs."""
    start = perf_counter_ns()
    for _ in repeat(None, n):
        put(message)
        get()
    return (perf_counter_ns() - start) / n / 1000


def scenario(size: int) -> str:
    return f"put+get pair, {size} B" if size < 1024 else f"put+get pair, {size // 1024} KiB"


def measure_size(settings: Settings, contenders: list[str], size: int) -> list[Row]:
    n = settings.count(15_000, 500)
    rounds = settings.short_rounds
    log(f"pairs: {size} B, {len(contenders)} contenders x {rounds} rounds of {n}")
    message = b"x" * size
    with temp_queue("pairs", 1, size) as name:
        handles = {k: open_handle(k, name) for k in contenders if k != "c"}
        try:
            for h in handles.values():  # warm up: caches, buffers, branch predictors
                time_pairs(h.put, h.get, message, min(n, 2000))

            def measure(kind: str) -> float:
                if kind == "c":
                    [result] = run_peers([settings.c.argv("pairs", name, size, n)])
                    return float(result["ns"]) / n / 1000
                h = handles[kind]
                return time_pairs(h.put, h.get, message, n)

            samples = round_robin(contenders, rounds, measure)
        finally:
            for h in handles.values():
                h.close()
    return rows_for(
        GROUP, scenario(size), "time", "us/pair", "lower", samples, LABELS, "posix_ipc", "c"
    )


def run(settings: Settings) -> list[Row]:
    contenders, rows = runnable(CONTENDERS, settings, GROUP, "put+get pairs")
    for size in SIZES:
        rows += measure_size(settings, contenders, size)
    for size in (64, 8192):
        set_target(
            rows,
            LABELS["select"],
            scenario(size),
            "time",
            "<=1.0x ipc, <=1.8x C",
            lambda row: row.vs_ipc <= 1.0 and row.vs_c <= 1.8,
        )
    return rows
