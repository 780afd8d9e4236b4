"""Batch send and receive of 64 B messages against one at a time.

Each round fills the empty queue with COUNT messages (the send phase) and
then takes them all back (the receive phase); the two phases are timed
apart, so the receive phase always finds every message already queued.
posixq sends with one put_many() and receives with one get_many(); the
others make COUNT calls. The host holds 10 messages per queue, so batches
are of 10; in a private IPC namespace (run_large) msg_max is raised and
batches of 100 are measured too.
"""

from __future__ import annotations

from itertools import repeat
from time import perf_counter_ns
from typing import Any

from contenders import LABELS, open_handle, runnable
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

GROUP = "4 batch"
SIZE = 64
CONTENDERS = ("batch", "select", "posix_ipc", "c")
#: Batch sizes measured in the private namespace, where msg_max allows them.
LARGE_COUNTS = (100, 1000)


def one_at_a_time(h: Any, message: bytes, count: int, loops: int) -> tuple[int, int]:
    """Nanoseconds spent sending and receiving ``count`` messages, ``loops`` times."""
    put, get = h.put, h.get
    sent = received = 0
    for _ in repeat(None, loops):
        start = perf_counter_ns()
        for _ in repeat(None, count):
            put(message)
        middle = perf_counter_ns()
        for _ in repeat(None, count):
            get()
        sent += middle - start
        received += perf_counter_ns() - middle
    return sent, received


def batched(h: Any, message: bytes, count: int, loops: int) -> tuple[int, int]:
    """The same with one put_many() and one get_many() per round."""
    put_many, get_many = h.queue.put_many, h.queue.get_many
    messages = [message] * count
    sent = received = 0
    for _ in repeat(None, loops):
        start = perf_counter_ns()
        put_many(messages)
        middle = perf_counter_ns()
        got = get_many(count)
        received += perf_counter_ns() - middle
        sent += middle - start
        if len(got) != count:
            raise RuntimeError(f"get_many({count}) returned {len(got)} messages")
    return sent, received


def measure_batches(settings: Settings, count: int) -> list[Row]:
    scenario = f"{count} queued x {SIZE} B"
    contenders, rows = runnable(CONTENDERS, settings, GROUP, scenario)
    loops = settings.count(30_000 // count, 20)
    rounds = settings.short_rounds
    message = b"x" * SIZE
    log(f"batch: {count} messages, {len(contenders)} contenders, {rounds} x {loops} rounds")
    with temp_queue("batch", count, SIZE) as name:
        handles = {
            k: open_handle("select" if k == "batch" else k, name) for k in contenders if k != "c"
        }
        try:

            def measure(kind: str) -> tuple[float, float]:
                if kind == "c":
                    [r] = run_peers([settings.c.argv("batch", name, SIZE, count, loops)])
                    sent, received = r["send_ns"], r["receive_ns"]
                else:
                    run = batched if kind == "batch" else one_at_a_time
                    sent, received = run(handles[kind], message, count, loops)
                messages = count * loops
                return messages / sent * 1e6, messages / received * 1e6  # k msg/s

            for kind in handles:
                (batched if kind == "batch" else one_at_a_time)(handles[kind], message, count, 20)
            samples = round_robin(contenders, rounds, measure)
        finally:
            for h in handles.values():
                h.close()
    for index, metric in enumerate(("send", "receive")):
        rows += rows_for(
            GROUP,
            scenario,
            metric,
            "k msg/s",
            "higher",
            {k: [s[index] for s in v] for k, v in samples.items()},
            LABELS,
            "posix_ipc",
            "c",
        )
        if count == 10:  # the host's size: the one the target is judged on
            set_target(rows, LABELS["batch"], scenario, metric, ">=3x ipc", lambda r: r.vs_ipc >= 3)
    return rows


def run(settings: Settings) -> list[Row]:
    return measure_batches(settings, 10)


def run_large(settings: Settings) -> list[Row]:
    """Larger batches; only in a private namespace, where msg_max allows them."""
    return [row for count in LARGE_COUNTS for row in measure_batches(settings, count)]
