"""A storm of SIGALRM (every millisecond) and SIGCHLD during long blocking gets and puts."""

from __future__ import annotations

import json
import os
import time
from typing import Callable

import pytest
from support import python

import posixq

MESSAGES = 200
TIMEOUT = 0.3
# How much later than asked a timeout may end on a loaded 2-core machine.
SLACK = 2.0

STORM = """
    import json, signal, subprocess, sys, threading, time
    import posixq

    counts = {"SIGALRM": 0, "SIGCHLD": 0}

    def handler(signum, frame):
        counts[signal.Signals(signum).name] += 1

    def children(stop):
        while not stop.is_set():  # each child's exit sends this process a SIGCHLD
            subprocess.run(["true"], check=True)
            time.sleep(0.002)

    def timed_out(call):
        start = time.monotonic()
        try:
            call()
        except posixq.TimedOutError:
            return time.monotonic() - start
        raise AssertionError("the call did not time out")

    mq = posixq.MessageQueue(sys.argv[1], create=False)
    count, timeout = int(sys.argv[2]), float(sys.argv[3])
    signal.signal(signal.SIGALRM, handler)
    signal.signal(signal.SIGCHLD, handler)
    stop = threading.Event()
    threading.Thread(target=children, args=(stop,), daemon=True).start()
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    result = {}
    result["get_timeouts"] = [timed_out(lambda: mq.get(timeout=timeout)) for _ in range(3)]
    print("feed me", flush=True)
    got = [mq.get() if i % 2 else mq.get(timeout=60) for i in range(count)]
    print("long get", flush=True)
    got.append(mq.get())
    result["got"] = [m.decode() for m in got]
    print("drain me", flush=True)
    for i in range(count):
        mq.put(f"out-{i}", timeout=None if i % 2 else 60)
    sys.stdin.readline()
    for _ in range(mq.max_messages):
        mq.put("fill", timeout=0)
    print("long put", flush=True)
    mq.put("late")
    result["put_timeouts"] = [timed_out(lambda: mq.put("x", timeout=timeout)) for _ in range(3)]
    signal.setitimer(signal.ITIMER_REAL, 0)
    stop.set()
    result["signals"] = counts
    print(json.dumps(result), flush=True)
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_signals_neither_interrupt_nor_time_out_nor_lose(
    waiter_name: str, make_queue: Callable[..., posixq.MessageQueue]
) -> None:
    """Under SIGALRM every 1 ms and SIGCHLD, calls wait as asked and every message arrives."""
    mq = make_queue(max_messages=4, max_message_size=32)
    child = python(
        STORM,
        mq.name,
        str(MESSAGES),
        str(TIMEOUT),
        env={**os.environ, "POSIXQ_WAITER": waiter_name},
    )
    try:
        assert child.stdout is not None
        assert child.stdin is not None
        assert child.stdout.readline() == "feed me\n"
        for i in range(MESSAGES):
            mq.put(f"in-{i}", timeout=10)
            time.sleep(0.003)  # the child waits for each message
        assert child.stdout.readline() == "long get\n"
        time.sleep(1.5)
        mq.put("long", timeout=10)
        assert child.stdout.readline() == "drain me\n"
        for i in range(MESSAGES):
            time.sleep(0.003)  # the child waits for room
            assert mq.get(timeout=10) == f"out-{i}".encode()
        child.stdin.write("drained\n")
        child.stdin.flush()
        assert child.stdout.readline() == "long put\n"
        time.sleep(1.5)
        assert mq.get(timeout=10) == b"fill"
        line = child.stdout.readline()
        assert child.wait(30) == 0, child.stderr.read() if child.stderr else ""
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    result = json.loads(line)
    assert result["got"] == [f"in-{i}" for i in range(MESSAGES)] + ["long"]
    for elapsed in result["get_timeouts"] + result["put_timeouts"]:
        assert TIMEOUT <= elapsed < TIMEOUT + SLACK
    assert [mq.get(timeout=0) for _ in range(mq.current_messages)] == [b"fill"] * 3 + [b"late"]
    # The storm really blew: hundreds of timer signals and dozens of exits.
    assert result["signals"]["SIGALRM"] > 300
    assert result["signals"]["SIGCHLD"] > 20
    print(f"{waiter_name}: {result['signals']}")


ATTEMPTS = """
    import signal, sys
    import posixq

    mq = posixq.MessageQueue(sys.argv[1], create=False)
    tries = int(sys.argv[2])
    alarms = []
    signal.signal(signal.SIGALRM, lambda *args: alarms.append(1))
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    timeouts = 0
    for _ in range(tries):  # the queue is empty
        try:
            mq.get(timeout=0) if len(alarms) % 2 else mq.get_many(2, timeout=0)
        except posixq.TimedOutError:
            timeouts += 1
    for _ in range(mq.max_messages):
        mq.put(b"fill", timeout=0)
    for _ in range(tries):  # the queue is full
        try:
            mq.put(b"x", timeout=0) if len(alarms) % 2 else mq.put_many([b"y"], timeout=0)
        except posixq.TimedOutError:
            timeouts += 1
    signal.setitimer(signal.ITIMER_REAL, 0)
    print(timeouts, len(alarms))
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_signal_during_a_single_attempt_is_a_timeout_not_an_error(
    waiter_name: str, make_queue: Callable[..., posixq.MessageQueue]
) -> None:
    """With timeout=0 on an empty or full queue, a signal never turns TimedOutError into EINTR."""
    mq = make_queue(max_messages=2, max_message_size=16)
    tries = 50_000
    child = python(ATTEMPTS, mq.name, str(tries), env={**os.environ, "POSIXQ_WAITER": waiter_name})
    out, err = child.communicate(timeout=100)
    assert child.returncode == 0, err
    timeouts, alarms = map(int, out.split())
    assert timeouts == 2 * tries
    assert alarms > 100
