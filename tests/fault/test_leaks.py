"""A million put/get cycles, thousands of waits and 10k open/close cycles leave memory flat."""

from __future__ import annotations

import json
import os

import pytest
from support import python, unlink_quietly

import posixq

CYCLES = 1_000_000
OPENS = 10_000
WAITS = 1_000

MEASURE = """
    import gc, json, os, sys, time
    import posixq

    name, what, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mq = posixq.MessageQueue(name, create=False)
    buf = bytearray(mq.max_message_size)
    view = memoryview(b"abcdefghijklmnopqrstuvwxyz")

    def cycles(n):
        # Every call, the ways of sending and receiving, and the error paths.
        for i in range(n):
            k = i & 7
            if k == 0:
                mq.put(b"0123456789abcdef0123")
                mq.get()
            elif k == 1:
                mq.put(bytearray(24), priority=3)
                mq.get_with_priority()
            elif k == 2:
                mq.put(view[::2])
                mq.get_into(buf)
            elif k == 3:
                mq.put_many([b"a", b"b"])
                mq.get_many(2)
            elif k == 4:
                mq.put("text", timeout=1)
                mq.get(timeout=1)
            elif k == 5:
                try:
                    mq.get(timeout=0)
                except posixq.TimedOutError:
                    pass
            elif k == 6:
                try:
                    mq.put(b"q" * 100)
                except posixq.MessageTooLargeError:
                    pass
            else:
                mq.put(b"x", timeout=0)
                mq.get(timeout=0)

    def opens(n):
        for i in range(n):
            if i % 2:
                posixq.MessageQueue(name, create=False).close()
            else:
                with posixq.MessageQueue(f"{name}-{i}", 1, 8, exclusive=True) as other:
                    other.unlink()

    def waits(n):
        for _ in range(n):
            try:
                mq.get(timeout=0.001)
            except posixq.TimedOutError:
                pass

    def rss_kb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

    run = {"cycles": cycles, "opens": opens, "waits": waits}[what]
    run(max(count // 20, 100))  # warm up: caches, pools, the waiter
    gc.collect()
    fds, rss = len(os.listdir("/proc/self/fd")), rss_kb()
    start = time.monotonic()
    run(count)
    seconds = time.monotonic() - start
    gc.collect()
    report = {
        "fds": [fds, len(os.listdir("/proc/self/fd"))],
        "rss_kb": [rss, rss_kb()],
        "seconds": round(seconds, 1),
    }
    mq.close()
    print(json.dumps(report))
"""


def measure(
    queue_name: str, what: str, count: int, waiter_name: str = "select"
) -> dict[str, list[int]]:
    with posixq.MessageQueue(queue_name, 4, 32, exclusive=True) as mq:
        child = python(
            MEASURE, queue_name, what, str(count), env={**os.environ, "POSIXQ_WAITER": waiter_name}
        )
        try:
            out, err = child.communicate(timeout=240)
        finally:
            if what == "opens":  # the queues the child creates, should it have died
                for i in range(count):
                    unlink_quietly(f"{queue_name}-{i}")
        assert child.returncode == 0, err
        assert mq.current_messages == 0
    report: dict[str, list[int]] = json.loads(out)
    print(f"{what} x {count} ({waiter_name}): {report}")
    return report


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_million_put_get_cycles_leave_memory_and_descriptors_flat(queue_name: str) -> None:
    """1M cycles of every send and receive call, errors included, grow neither RSS nor fds."""
    report = measure(queue_name, "cycles", CYCLES)
    before, after = report["fds"]
    assert after == before
    before, after = report["rss_kb"]
    assert after - before < 1024  # a leak of 1 byte a cycle would show as 1 MB


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ten_thousand_opens_and_closes_leave_memory_and_descriptors_flat(queue_name: str) -> None:
    """10k queues opened or created, then closed, leave no descriptor behind and RSS flat."""
    report = measure(queue_name, "opens", OPENS)
    before, after = report["fds"]
    assert after == before
    before, after = report["rss_kb"]
    assert after - before < 1024  # 100 bytes an open would show as 1 MB


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_waits_that_time_out_leave_memory_and_descriptors_flat(
    waiter_name: str, queue_name: str
) -> None:
    """1000 real waits in each waiter leave no descriptor and no watcher behind."""
    report = measure(queue_name, "waits", WAITS, waiter_name)
    before, after = report["fds"]
    assert after == before
    before, after = report["rss_kb"]
    assert after - before < 512
