"""Signals during a wait: EINTR is retried, handlers run, Ctrl-C gets through."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from typing import Any, Iterator

import pytest
from support import python

import posixq

#: How far past its timeout a call may end: generous, for loaded CI machines.
SLACK = 0.25


class Storm:
    """Counts the SIGALRMs a Python handler has seen."""

    count = 0

    def handler(self, signum: int, frame: object) -> None:
        self.count += 1


@contextlib.contextmanager
def alarm_storm() -> Iterator[Storm]:
    """SIGALRM every millisecond, each one running a Python handler.

    The previous handler and interval timer (pytest-timeout may use both)
    are put back afterwards, less the time spent.
    """
    storm = Storm()
    previous_handler = signal.signal(signal.SIGALRM, storm.handler)
    start = time.monotonic()
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    try:
        yield storm
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:
            left = max(previous_delay - (time.monotonic() - start), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, previous_interval)


def fill(mq: posixq.MessageQueue) -> None:
    for i in range(mq.max_messages):
        mq.put(b"%d" % i)


def test_storm_during_get_neither_interrupts_nor_shortens(queue: posixq.MessageQueue) -> None:
    """Under a SIGALRM storm get(timeout=1) on an empty queue times out after 1 s, no sooner."""
    with alarm_storm() as storm:
        start = time.monotonic()
        with pytest.raises(posixq.TimedOutError):
            queue.get(timeout=1.0)
        elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 1.0 + SLACK
    assert storm.count > 0


def test_storm_during_put_neither_interrupts_nor_shortens(queue: posixq.MessageQueue) -> None:
    """Under a SIGALRM storm put(timeout=1) on a full queue times out after 1 s, no sooner."""
    fill(queue)
    with alarm_storm() as storm:
        start = time.monotonic()
        with pytest.raises(posixq.TimedOutError):
            queue.put(b"late", timeout=1.0)
        elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 1.0 + SLACK
    assert storm.count > 0
    assert queue.current_messages == queue.max_messages


def test_storm_during_get_still_delivers(queue: posixq.MessageQueue) -> None:
    """Under a SIGALRM storm a waiting get() receives the message when it arrives."""
    timer = threading.Timer(0.3, queue.put, [b"through the storm"])
    with alarm_storm() as storm:
        timer.start()
        start = time.monotonic()
        assert queue.get(timeout=1.0) == b"through the storm"
        elapsed = time.monotonic() - start
    timer.join()
    assert 0.25 <= elapsed < 0.3 + SLACK
    assert storm.count > 0


def test_storm_during_put_still_delivers(queue: posixq.MessageQueue) -> None:
    """Under a SIGALRM storm a put() waiting on a full queue sends once there is room."""
    fill(queue)
    timer = threading.Timer(0.3, queue.get)
    with alarm_storm() as storm:
        timer.start()
        start = time.monotonic()
        queue.put(b"through the storm", timeout=1.0)
        elapsed = time.monotonic() - start
    timer.join()
    assert 0.25 <= elapsed < 0.3 + SLACK
    assert storm.count > 0
    assert queue.current_messages == queue.max_messages


BLOCKED_GET = """
import sys, posixq
from posixq import waiters

cls = {"select": waiters.SelectWaiter, "gevent": waiters.GeventWaiter,
       "blocking": waiters.BlockingWaiter}[sys.argv[2]]
mq = posixq.MessageQueue(sys.argv[1], 1, 8, waiter=cls())
print("waiting", flush=True)
mq.get()
"""


def test_ctrl_c_ends_a_get_without_timeout(
    queue_name: str, waiter_name: str, tmp_path: Any
) -> None:
    """SIGINT ends a process blocked in get() with timeout None, promptly, by KeyboardInterrupt."""
    child = python(BLOCKED_GET, queue_name, waiter_name, cwd=tmp_path)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "waiting\n"
        time.sleep(0.3)  # well into the wait
        start = time.monotonic()
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=10)
        elapsed = time.monotonic() - start
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        pytest.fail("the process did not end on SIGINT")
    assert "KeyboardInterrupt" in err
    assert child.returncode != 0
    assert elapsed < 1.0
