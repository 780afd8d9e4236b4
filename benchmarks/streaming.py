"""Two processes: streaming producer -> consumer, and ping-pong round trips.

Both ends of a pair are the same contender, each in its own process
(peer.py for Python, mqbench for C), released together once both have
opened their queues. Queues hold 10 messages of 64 B (the host's msg_max).
"""

from __future__ import annotations

from contenders import LABELS, POSIXQ, runnable
from harness import (
    Row,
    Settings,
    count_label,
    log,
    python_peer,
    round_robin,
    rows_for,
    run_peers,
    set_target,
    temp_queue,
)

GROUP_STREAM = "2 stream"
GROUP_PINGPONG = "3 ping-pong"
SIZE = 64
STREAM_CONTENDERS = ("blocking", "select", "gevent", "posix_ipc", "baseplate", "c")
PINGPONG_CONTENDERS = (*POSIXQ, "posix_ipc", "baseplate", "c")


def run_stream(settings: Settings) -> list[Row]:
    n = settings.count(200_000, 2_000)
    scenario = f"{count_label(n)} x {SIZE} B, producer -> consumer"
    contenders, rows = runnable(STREAM_CONTENDERS, settings, GROUP_STREAM, scenario)
    log(f"stream: {len(contenders)} contenders x {settings.rounds} rounds of {n} messages")
    with temp_queue("stream", 10, SIZE) as name:

        def measure(kind: str) -> float:
            if kind == "c":
                argvs = [
                    settings.c.argv("consume", name, n),
                    settings.c.argv("produce", name, SIZE, n),
                ]
            else:
                argvs = [
                    python_peer("consume", kind, name, n),
                    python_peer("produce", kind, name, SIZE, n),
                ]
            consumer, _ = run_peers(argvs)
            return consumer["messages"] / (consumer["ns"] / 1e9) / 1000

        samples = round_robin(contenders, settings.rounds, measure)
    rows += rows_for(
        GROUP_STREAM, scenario, "throughput", "k msg/s", "higher", samples, LABELS, "posix_ipc", "c"
    )
    for kind in ("blocking", "select"):
        set_target(
            rows, LABELS[kind], scenario, "throughput", ">=1.0x ipc", lambda r: r.vs_ipc >= 1.0
        )
    return rows


def run_pingpong(settings: Settings) -> list[Row]:
    n = settings.count(20_000, 1_000)
    warmup = settings.count(2_000, 200)
    scenario = f"round trip, {SIZE} B, {count_label(n)} rounds"
    contenders, rows = runnable(PINGPONG_CONTENDERS, settings, GROUP_PINGPONG, scenario)
    log(f"ping-pong: {len(contenders)} contenders x {settings.rounds} rounds of {n} round trips")
    with temp_queue("ping", 1, SIZE) as ping, temp_queue("pong", 1, SIZE) as pong:

        def measure(kind: str) -> tuple[float, float]:
            if kind == "c":
                argvs = [
                    settings.c.argv("echo", ping, pong, n + warmup),
                    settings.c.argv("ping", ping, pong, n, warmup),
                ]
            else:
                argvs = [
                    python_peer("echo", kind, ping, pong, n + warmup),
                    python_peer("ping", kind, ping, pong, n, warmup),
                ]
            _, client = run_peers(argvs)
            return client["p50_ns"] / 1000, client["p99_ns"] / 1000

        samples = round_robin(contenders, settings.rounds, measure)
    for index, metric in enumerate(("p50", "p99")):
        rows += rows_for(
            GROUP_PINGPONG,
            scenario,
            metric,
            "us",
            "lower",
            {k: [s[index] for s in v] for k, v in samples.items()},
            LABELS,
            "posix_ipc",
            "c",
        )
    for kind, limit in (("blocking", 1.1), ("select", 1.25), ("gevent", 1.6)):
        set_target(
            rows, LABELS[kind], scenario, "p50", f"<={limit}x ipc", lambda r, x=limit: r.vs_ipc <= x
        )
    return rows
