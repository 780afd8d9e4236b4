"""A Python peer process: the other end of the two-process scenarios.

Speaks the same protocol as mqbench.c: opens its queues, prints ``ready``,
waits for a line on stdin, runs, prints one line of JSON.

    peer.py produce KIND NAME LEN N
    peer.py consume KIND NAME N
    peer.py echo KIND PING PONG N
    peer.py ping KIND PING PONG N WARMUP
    peer.py rss KIND NAME N          put+get N times, RSS after 10k and after N

KIND is a contender of contenders.py (select, gevent, blocking, posix_ipc,
baseplate). GeventWaiter peers wait on gevent's hub from the main greenlet,
without monkey-patching.
"""

from __future__ import annotations

import json
import sys
from time import perf_counter_ns
from typing import Any

from contenders import open_handle
from harness import percentile


def handshake() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


def report(**values: Any) -> None:
    print(json.dumps(values), flush=True)


def rss_kib() -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of this process, in KiB."""
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def produce(kind: str, name: str, length: str, n: str) -> None:
    h = open_handle(kind, name)
    put, message = h.put, b"x" * int(length)
    handshake()
    for _ in range(int(n)):
        put(message)
    h.close()
    report()


def consume(kind: str, name: str, n: str) -> None:
    h = open_handle(kind, name)
    get = h.get
    handshake()
    get()
    start = perf_counter_ns()
    for _ in range(int(n) - 1):
        get()
    elapsed = perf_counter_ns() - start
    h.close()
    report(ns=elapsed, messages=int(n) - 1)


def echo(kind: str, ping_name: str, pong_name: str, n: str) -> None:
    ping, pong = open_handle(kind, ping_name), open_handle(kind, pong_name)
    get, put = ping.get, pong.put
    handshake()
    if kind == "posix_ipc":  # receive() returns (message, priority)
        for _ in range(int(n)):
            put(get()[0])
    else:
        for _ in range(int(n)):
            put(get())
    ping.close()
    pong.close()
    report()


def ping(kind: str, ping_name: str, pong_name: str, n: str, warmup: str) -> None:
    ping, pong = open_handle(kind, ping_name), open_handle(kind, pong_name)
    put, get, message = ping.put, pong.get, b"x" * 64
    handshake()
    for _ in range(int(warmup)):
        put(message)
        get()
    rtt = []
    append = rtt.append
    for _ in range(int(n)):
        start = perf_counter_ns()
        put(message)
        get()
        append(perf_counter_ns() - start)
    ping.close()
    pong.close()
    report(p50_ns=percentile(rtt, 50), p99_ns=percentile(rtt, 99))


def rss(kind: str, name: str, n: str) -> None:
    h = open_handle(kind, name)
    put, get, message = h.put, h.get, b"x" * 64
    handshake()
    for _ in range(10_000):
        put(message)
        get()
    early = rss_kib()
    for _ in range(int(n) - 10_000):
        put(message)
        get()
    late = rss_kib()
    h.close()
    report(rss_10k_kib=early["VmRSS"], rss_end_kib=late["VmRSS"], peak_kib=late["VmHWM"])


ROLES = {"produce": produce, "consume": consume, "echo": echo, "ping": ping, "rss": rss}

if __name__ == "__main__":
    ROLES[sys.argv[1]](*sys.argv[2:])
