"""asyncio: AsyncMessageQueue's ping-pong latency and streaming throughput.

The two-process scenarios of streaming.py, with both ends an
:class:`~posixq.aio.AsyncMessageQueue` in its own process and event loop
(the default loop, then uvloop where it is installed), beside the
synchronous default (SelectWaiter) and posix_ipc measured in the same
rounds:

* stream: 200k messages of 64 B, producer -> consumer through a queue of
  10; messages per second, timed by the consumer;
* ping-pong: 64 B sent and echoed on a second queue; p50 and p99 of 20k
  round trips after 2k warm-up ones.

In the suite: ``tox -e bench -- --only aio``. Alone, where posixq is
installed: ``python benchmarks/aio_bench.py [--quick] [--rounds N]``.
The suite starts this file as its asyncio peer processes:

    aio_bench.py peer produce LOOP NAME LEN N
    aio_bench.py peer consume LOOP NAME N
    aio_bench.py peer echo LOOP PING PONG N
    aio_bench.py peer ping LOOP PING PONG N WARMUP
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sys
from time import perf_counter_ns
from typing import Any, Callable, Coroutine, Optional, Sequence

from contenders import LABELS, runnable
from harness import (
    Row,
    Settings,
    count_label,
    log,
    percentile,
    python_peer,
    round_robin,
    rows_for,
    run_peers,
    skipped,
    temp_queue,
)

GROUP = "8 asyncio"
SIZE = 64
HERE = os.path.abspath(__file__)
#: The asyncio contenders, by the event loop they run on.
LOOPS = ("aio", "aio-uvloop")
AIO_LABELS = {
    "aio": "posixq AsyncMessageQueue (asyncio)",
    "aio-uvloop": "posixq AsyncMessageQueue (uvloop)",
}
#: Synchronous references, run by peer.py in the same rounds.
REFERENCES = ("select", "posix_ipc")


# -- the peer processes ----------------------------------------------------------


def _new_loop(loop: str) -> asyncio.AbstractEventLoop:
    if loop == "aio-uvloop":
        import uvloop

        return uvloop.new_event_loop()  # type: ignore[no-any-return]
    return asyncio.new_event_loop()


def _peer(role: str, loop: str, *args: str) -> None:
    """Open the queues, say ``ready``, wait for ``go``, run ``role`` on ``loop``, report."""
    from posixq.aio import AsyncMessageQueue

    names = [a for a in args if a.startswith("/")]
    numbers = [int(a) for a in args if not a.startswith("/")]
    queues = [AsyncMessageQueue(name, create=False) for name in names]
    print("ready", flush=True)
    sys.stdin.readline()
    body: Coroutine[Any, Any, dict[str, Any]] = ROLES[role](*queues, *numbers)
    event_loop = _new_loop(loop)
    try:
        result = event_loop.run_until_complete(body)
    finally:
        event_loop.close()
        for queue in queues:
            queue.close()
    print(json.dumps(result), flush=True)


async def _produce(mq: Any, length: int, n: int) -> dict[str, Any]:
    put, message = mq.put, b"x" * length
    for _ in range(n):
        await put(message)
    return {}


async def _consume(mq: Any, n: int) -> dict[str, Any]:
    get = mq.get
    await get()
    start = perf_counter_ns()
    for _ in range(n - 1):
        await get()
    return {"ns": perf_counter_ns() - start, "messages": n - 1}


async def _echo(ping: Any, pong: Any, n: int) -> dict[str, Any]:
    get, put = ping.get, pong.put
    for _ in range(n):
        await put(await get())
    return {}


async def _ping(ping: Any, pong: Any, n: int, warmup: int) -> dict[str, Any]:
    put, get, message = ping.put, pong.get, b"x" * SIZE
    for _ in range(warmup):
        await put(message)
        await get()
    rtt = []
    append = rtt.append
    for _ in range(n):
        start = perf_counter_ns()
        await put(message)
        await get()
        append(perf_counter_ns() - start)
    return {"p50_ns": percentile(rtt, 50), "p99_ns": percentile(rtt, 99)}


ROLES: dict[str, Callable[..., Coroutine[Any, Any, dict[str, Any]]]] = {
    "produce": _produce,
    "consume": _consume,
    "echo": _echo,
    "ping": _ping,
}


def peer(kind: str, role: str, *args: object) -> list[str]:
    """argv of the peer process playing ``role`` for contender ``kind``."""
    if kind in LOOPS:
        return [sys.executable, HERE, "peer", role, kind, *map(str, args)]
    return python_peer(role, kind, *args)


# -- the scenarios ------------------------------------------------------------------


def _contenders(settings: Settings, scenario: str) -> tuple[list[str], list[Row]]:
    """The asyncio contenders that can run here, then the references; rows for the others."""
    contenders, rows = [], []
    for kind in LOOPS:
        if kind == "aio-uvloop" and importlib.util.find_spec("uvloop") is None:
            rows.append(skipped(GROUP, scenario, AIO_LABELS[kind], "uvloop is not installed"))
        else:
            contenders.append(kind)
    references, reasons = runnable(REFERENCES, settings, GROUP, scenario)
    return contenders + references, rows + reasons


def run_stream(settings: Settings) -> list[Row]:
    n = settings.count(200_000, 2_000)
    scenario = f"{count_label(n)} x {SIZE} B, producer -> consumer"
    contenders, rows = _contenders(settings, scenario)
    log(f"asyncio stream: {len(contenders)} contenders x {settings.rounds} rounds of {n}")
    with temp_queue("aio-stream", 10, SIZE) as name:

        def measure(kind: str) -> float:
            consumer, _ = run_peers(
                [peer(kind, "consume", name, n), peer(kind, "produce", name, SIZE, n)]
            )
            return consumer["messages"] / (consumer["ns"] / 1e9) / 1000

        samples = round_robin(contenders, settings.rounds, measure)
    return rows + rows_for(
        GROUP, scenario, "throughput", "k msg/s", "higher", samples, _labels(), "posix_ipc"
    )


def run_pingpong(settings: Settings) -> list[Row]:
    n = settings.count(20_000, 1_000)
    warmup = settings.count(2_000, 200)
    scenario = f"round trip, {SIZE} B, {count_label(n)} rounds"
    contenders, rows = _contenders(settings, scenario)
    log(f"asyncio ping-pong: {len(contenders)} contenders x {settings.rounds} rounds of {n}")
    with temp_queue("aio-ping", 1, SIZE) as ping, temp_queue("aio-pong", 1, SIZE) as pong:

        def measure(kind: str) -> tuple[float, float]:
            _, client = run_peers(
                [
                    peer(kind, "echo", ping, pong, n + warmup),
                    peer(kind, "ping", ping, pong, n, warmup),
                ]
            )
            return client["p50_ns"] / 1000, client["p99_ns"] / 1000

        samples = round_robin(contenders, settings.rounds, measure)
    for index, metric in enumerate(("p50", "p99")):
        rows += rows_for(
            GROUP,
            scenario,
            metric,
            "us",
            "lower",
            {k: [s[index] for s in v] for k, v in samples.items()},
            _labels(),
            "posix_ipc",
        )
    return rows


def run(settings: Settings) -> list[Row]:
    """Both asyncio scenarios: the suite's entry point (group ``aio``)."""
    return run_stream(settings) + run_pingpong(settings)


def _labels() -> dict[str, str]:
    return {**LABELS, **AIO_LABELS}


# -- standalone -------------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["peer"]:
        _peer(*argv[1:])
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every contender")
    parser.add_argument("--scale", type=float, default=1.0, help="iteration counts times this")
    parser.add_argument("--quick", action="store_true", help="--scale 0.1 --rounds 3")
    args = parser.parse_args(argv)
    if args.quick:
        args.scale, args.rounds = 0.1, 3
    from run import format_table

    print(format_table(run(Settings(rounds=args.rounds, scale=args.scale))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
