"""Timeouts, measured on the monotonic clock, with every waiter."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import threading
import time
from typing import Any, Callable

import pytest
from support import python

import posixq
from posixq.waiters import Waiter

#: How far past its timeout a call may end: generous, for loaded CI machines.
SLACK = 0.25

MakeQueue = Callable[..., posixq.MessageQueue]


def fill(mq: posixq.MessageQueue) -> None:
    """Put messages until ``mq`` is full."""
    for i in range(mq.max_messages):
        mq.put(b"%d" % i)


def counting(waiter: Waiter) -> Waiter:
    """``waiter``'s class, with ``rounds`` counting its calls to block()."""

    class Counting(type(waiter)):  # type: ignore[misc]
        rounds = 0

        def block(self, call: Any, seconds: float) -> int:
            self.rounds += 1
            return int(super().block(call, seconds))

    return Counting()  # type: ignore[no-any-return]


def later(seconds: float, action: Callable[[], object]) -> threading.Thread:
    """Run ``action`` in a daemon thread after ``seconds``."""

    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("timeout", [0.001, 0.2])
def test_get_on_empty_times_out_on_time(queue: posixq.MessageQueue, timeout: float) -> None:
    """get() on an empty queue raises TimedOutError no sooner than its timeout, and soon after."""
    start = time.monotonic()
    with pytest.raises(posixq.TimedOutError):
        queue.get(timeout=timeout)
    elapsed = time.monotonic() - start
    assert timeout <= elapsed < timeout + SLACK


@pytest.mark.parametrize("timeout", [0.001, 0.2])
def test_put_on_full_times_out_on_time(queue: posixq.MessageQueue, timeout: float) -> None:
    """put() on a full queue raises TimedOutError no sooner than its timeout, sending nothing."""
    fill(queue)
    start = time.monotonic()
    with pytest.raises(posixq.TimedOutError):
        queue.put(b"late", timeout=timeout)
    elapsed = time.monotonic() - start
    assert timeout <= elapsed < timeout + SLACK
    assert [queue.get(timeout=0) for _ in range(queue.max_messages)] == [
        b"%d" % i for i in range(queue.max_messages)
    ]


def test_timeout_zero_on_empty_does_not_wait(make_queue: MakeQueue, waiter: Waiter) -> None:
    """get(timeout=0) on an empty queue fails at once, without handing the call to a wait."""
    waiter = counting(waiter)
    mq = make_queue(waiter=waiter)
    start = time.monotonic()
    with pytest.raises(posixq.TimedOutError, match="timeout=0"):
        mq.get(timeout=0)
    assert time.monotonic() - start < 0.05
    assert waiter.rounds == 0  # type: ignore[attr-defined]


def test_timeout_zero_on_full_does_not_wait(make_queue: MakeQueue, waiter: Waiter) -> None:
    """put(timeout=0) on a full queue fails at once and sends nothing."""
    waiter = counting(waiter)
    mq = make_queue(waiter=waiter)
    fill(mq)
    start = time.monotonic()
    with pytest.raises(posixq.TimedOutError, match="timeout=0"):
        mq.put(b"late", timeout=0)
    assert time.monotonic() - start < 0.05
    assert waiter.rounds == 0  # type: ignore[attr-defined]
    assert mq.current_messages == mq.max_messages


def test_timeout_zero_succeeds_when_possible(queue: posixq.MessageQueue) -> None:
    """timeout=0 sends while there is room and receives while there is a message."""
    queue.put(b"now", timeout=0)
    assert queue.get(timeout=0) == b"now"


@pytest.mark.parametrize("timeout", [None, math.inf])
def test_no_timeout_waits_for_another_thread(queue: posixq.MessageQueue, timeout: float) -> None:
    """get() with timeout None (or inf) waits until another thread puts."""
    thread = later(0.3, lambda: queue.put(b"from a thread"))
    start = time.monotonic()
    assert queue.get(timeout=timeout) == b"from a thread"
    assert time.monotonic() - start >= 0.25
    thread.join()


@pytest.mark.parametrize("timeout", [None, math.inf])
def test_no_timeout_on_full_waits_for_another_thread(
    queue: posixq.MessageQueue, timeout: float
) -> None:
    """put() with timeout None (or inf) on a full queue waits until another thread gets."""
    fill(queue)
    thread = later(0.3, queue.get)
    start = time.monotonic()
    queue.put(b"last", timeout=timeout)
    assert time.monotonic() - start >= 0.25
    thread.join()
    assert queue.current_messages == queue.max_messages


def test_no_timeout_waits_for_another_process(queue: posixq.MessageQueue, tmp_path: Any) -> None:
    """get() with timeout None waits until another process puts."""
    producer = python(
        """
        import sys, time, posixq
        time.sleep(0.3)
        with posixq.MessageQueue(sys.argv[1], create=False) as mq:
            mq.put(b"from a process")
        """,
        queue.name,
        cwd=tmp_path,
    )
    try:
        assert queue.get() == b"from a process"
    finally:
        _, err = producer.communicate(timeout=30)
    assert producer.returncode == 0, err


@pytest.mark.parametrize("timeout", [-1, -0.001, -math.inf, math.nan])
@pytest.mark.parametrize("operation", ["get", "put"])
def test_invalid_timeout_is_a_value_error(
    queue: posixq.MessageQueue, operation: str, timeout: float
) -> None:
    """A negative or NaN timeout is a ValueError that neither takes nor sends a message."""
    queue.put(b"kept")
    call = queue.get if operation == "get" else lambda timeout: queue.put(b"new", timeout)
    with pytest.raises(ValueError, match="timeout") as caught:
        call(timeout=timeout)
    assert isinstance(caught.value, posixq.MessageQueueError)
    assert queue.current_messages == 1
    assert queue.get(timeout=0) == b"kept"


@pytest.mark.parametrize("timeout", ["1", b"1", [1], True, object()])
@pytest.mark.parametrize("operation", ["get", "put"])
def test_non_number_timeout_is_a_type_error(
    queue: posixq.MessageQueue, operation: str, timeout: object
) -> None:
    """A timeout that is not a number (nor None) is a TypeError that sends nothing."""
    call = queue.get if operation == "get" else lambda timeout: queue.put(b"new", timeout)
    with pytest.raises(TypeError, match="timeout") as caught:
        call(timeout=timeout)
    assert isinstance(caught.value, posixq.MessageQueueError)
    assert queue.current_messages == 0


def test_timed_out_error_names_queue_and_timeout(queue: posixq.MessageQueue) -> None:
    """TimedOutError says which queue timed out, after how long, and is a TimeoutError."""
    with pytest.raises(TimeoutError) as caught:
        queue.get(timeout=0.01)
    assert isinstance(caught.value, posixq.TimedOutError)
    assert queue.name in str(caught.value)
    assert "0.01" in str(caught.value)
    fill(queue)
    with pytest.raises(posixq.TimedOutError, match=r"0\.01") as caught:
        queue.put(b"x", timeout=0.01)
    assert queue.name in str(caught.value)


# -- the wall clock ------------------------------------------------------------

SHIFTED_GET = """
import json, sys, time, posixq
from posixq import waiters

name, waiter_name, parent_time = sys.argv[1], sys.argv[2], float(sys.argv[3])
cls = {"select": waiters.SelectWaiter, "gevent": waiters.GeventWaiter,
       "blocking": waiters.BlockingWaiter}[waiter_name]

class Counting(cls):
    rounds = 0

    def block(self, call, seconds):
        self.rounds += 1
        return super().block(call, seconds)

waiter = Counting()
with posixq.MessageQueue(name, 1, 8, waiter=waiter) as mq:
    start = time.monotonic()
    try:
        mq.get(timeout=0.3)
    except posixq.TimedOutError:
        pass
    elapsed = time.monotonic() - start
print(json.dumps({"elapsed": elapsed, "rounds": waiter.rounds,
                  "behind": parent_time - time.time()}))
"""


@pytest.fixture(scope="module")
def clock_shift(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The LD_PRELOAD shim of _clock_shift.c, compiled; skips without gcc."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("needs gcc to build the clock_gettime shim")
    source = os.path.join(os.path.dirname(__file__), "_clock_shift.c")
    library = str(tmp_path_factory.mktemp("clock") / "clock_shift.so")
    subprocess.run([gcc, "-shared", "-fPIC", "-o", library, source, "-ldl"], check=True)
    return library


def test_wall_clock_ahead_of_deadlines_does_not_end_timeout_early(
    clock_shift: str, queue_name: str, waiter_name: str, tmp_path: Any
) -> None:
    """With every wall-clock deadline already past for the kernel (as after a forward
    step of the wall clock), get(timeout=0.3) still lasts 0.3 s of monotonic time."""
    env = {**os.environ, "LD_PRELOAD": clock_shift}
    child = python(SHIFTED_GET, queue_name, waiter_name, repr(time.time()), cwd=tmp_path, env=env)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    result = json.loads(out)
    assert result["behind"] > 3000, "the shim did not shift CLOCK_REALTIME"
    assert 0.3 <= result["elapsed"] < 0.3 + SLACK
    if waiter_name == "blocking":
        # Each of its kernel waits ended at once: the waiter went round many times.
        assert result["rounds"] > 10
