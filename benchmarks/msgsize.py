"""Receive cost against max_message_size: 64 B messages on queues of 64 B, 8 KiB, 1 MiB.

posix_ipc allocates max_message_size bytes on every receive; a binding
that keeps its buffer (or receives into the caller's) should not care how
large the queue's messages may be. Each round puts one message and times
the receive alone, for every (queue, contender) in turn. The 1 MiB queue
needs msgsize_max raised, so this group runs in a private IPC namespace
(namespace.py) and leaves that queue out where it cannot.
"""

from __future__ import annotations

import contextlib
import resource
from itertools import repeat
from time import perf_counter_ns
from typing import Any

from contenders import LABELS, open_handle, runnable
from harness import (
    Row,
    Settings,
    log,
    median_ratio,
    rotated,
    rows_for,
    run_peers,
    set_target,
    temp_queue,
)

from posixq.limits import queue_cost

GROUP = "6 msgsize"
MESSAGE = 64
CONTENDERS = ("select", "posix_ipc", "c")
MIB = 1 << 20


def label(size: int) -> str:
    return (
        f"{size} B"
        if size < 1024
        else f"{size // 1024} KiB"
        if size < MIB
        else f"{size // MIB} MiB"
    )


def time_receives(h: Any, message: bytes, n: int) -> float:
    """Microseconds per receive of a queued message (the put is not timed)."""
    put, get = h.put, h.get
    total = 0
    for _ in repeat(None, n):
        put(message)
        start = perf_counter_ns()
        get()
        total += perf_counter_ns() - start
    return total / n / 1000


def largest_size() -> tuple[int, str]:
    """1 MiB, or the largest power of two RLIMIT_MSGQUEUE leaves room for, and why."""
    soft, _ = resource.getrlimit(resource.RLIMIT_MSGQUEUE)
    if soft == resource.RLIM_INFINITY:
        return MIB, ""
    room = soft - queue_cost(1, MESSAGE) - queue_cost(1, 8192)
    size = MIB
    while queue_cost(1, size) > room:
        size //= 2
    why = (
        ""
        if size == MIB
        else (
            f"1 MiB does not fit RLIMIT_MSGQUEUE={soft} B (raising it needs CAP_SYS_RESOURCE); "
            f"measured {label(size)}, the largest power of two that fits"
        )
    )
    return size, why


def run(settings: Settings) -> list[Row]:
    note = ""
    if settings.large:
        largest, note = largest_size()
        sizes: tuple[int, ...] = (MESSAGE, 8192, largest)
    else:
        sizes = (MESSAGE, 8192)
    contenders, rows = runnable(CONTENDERS, settings, GROUP, "receive 64 B")
    n = settings.count(7_000, 500)
    message = b"x" * MESSAGE
    log(f"msgsize: queues of {', '.join(map(label, sizes))}, {len(contenders)} contenders")
    samples: dict[int, dict[str, list[float]]] = {
        size: {k: [] for k in contenders} for size in sizes
    }
    names: dict[int, str] = {}
    handles: dict[tuple[int, str], Any] = {}
    with contextlib.ExitStack() as stack:
        for size in sizes:
            names[size] = stack.enter_context(temp_queue("msgsize", 1, size))
            for kind in contenders:
                if kind != "c":
                    handles[size, kind] = open_handle(kind, names[size])
                    stack.callback(handles[size, kind].close)
                    time_receives(handles[size, kind], message, min(n, 1000))
        pairs = [(size, kind) for size in sizes for kind in contenders]
        for r in range(settings.short_rounds):
            for size, kind in rotated(pairs, r):
                if kind == "c":
                    [result] = run_peers([settings.c.argv("recv", names[size], MESSAGE, n)])
                    value = result["ns"] / n / 1000
                else:
                    value = time_receives(handles[size, kind], message, n)
                samples[size][kind].append(value)
    for size in sizes:
        rows += rows_for(
            GROUP,
            f"receive 64 B, msgsize {label(size)}",
            "time",
            "us/msg",
            "lower",
            samples[size],
            LABELS,
            "posix_ipc",
            "c",
        )
    largest = sizes[-1]
    scenario = f"msgsize {label(largest)} / msgsize 64 B"
    for kind in contenders:
        ratio = median_ratio(samples[largest][kind], samples[MESSAGE][kind])
        rows.append(Row(GROUP, scenario, LABELS[kind], "receive time ratio", ratio, "x", "lower"))
    if settings.large:
        set_target(
            rows,
            LABELS["select"],
            scenario,
            "receive time ratio",
            "<=1.5x",
            lambda r: r.value <= 1.5,
        )
        for row in rows:
            if row.scenario == scenario:
                row.note = note
    return rows
