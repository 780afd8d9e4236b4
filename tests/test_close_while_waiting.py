"""close() from another thread while a call waits on the same queue object."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import pytest

import posixq
from posixq.waiters import Waiter

MakeQueue = Callable[..., posixq.MessageQueue]

#: Beyond the waiter's check_interval, how late the woken call may end.
SLACK = 0.2


def in_thread(call: Callable[[], object]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``call`` in a daemon thread; the dict gets its outcome and end time."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["value"] = exc
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def fill(mq: posixq.MessageQueue) -> None:
    for i in range(mq.max_messages):
        mq.put(b"%d" % i)


@pytest.mark.parametrize("operation", ["get", "put"])
def test_close_ends_a_waiting_call(queue: posixq.MessageQueue, operation: str) -> None:
    """A get() on an empty queue (or put() on a full one) without timeout, waiting in
    another thread, ends with QueueClosedError within about check_interval of close()."""
    if operation == "put":
        fill(queue)
    thread, outcome = in_thread(queue.get if operation == "get" else lambda: queue.put(b"late"))
    time.sleep(0.2)
    assert "value" not in outcome, "the call did not wait"
    closed_at = time.monotonic()
    queue.close()
    thread.join(queue.waiter.check_interval + 5)
    assert not thread.is_alive(), "the waiting call hangs after close()"
    assert isinstance(outcome["value"], posixq.QueueClosedError)
    assert queue.name in str(outcome["value"])
    assert outcome["ended"] - closed_at < queue.waiter.check_interval + SLACK


def test_waiter_never_reads_a_reused_descriptor(make_queue: MakeQueue, waiter: Waiter) -> None:
    """A queue opened right after close(), perhaps on the descriptor number the closed
    one had, keeps its message: the closed queue's waiting get() never receives it."""
    waiter.check_interval = 0.5  # a wide window in which the descriptor could be reused
    closing = make_queue(waiter=waiter)
    thread, outcome = in_thread(closing.get)
    time.sleep(0.2)
    closing.close()
    other = make_queue()
    other.put(b"not for the closed queue")
    thread.join(waiter.check_interval + 5)
    assert not thread.is_alive(), "the waiting call hangs after close()"
    assert isinstance(outcome["value"], posixq.QueueClosedError), outcome["value"]
    assert other.get(timeout=0) == b"not for the closed queue"


def test_close_is_idempotent_and_later_calls_fail_clearly(queue: posixq.MessageQueue) -> None:
    """After close(), which may be repeated, get and put raise QueueClosedError at once."""
    queue.close()
    queue.close()
    assert queue.closed
    for call in (lambda: queue.get(timeout=1), lambda: queue.put(b"x", timeout=1)):
        start = time.monotonic()
        with pytest.raises(posixq.QueueClosedError, match=queue.name):
            call()
        assert time.monotonic() - start < 0.05
