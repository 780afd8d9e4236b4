"""gevent.Timeout, Greenlet.kill and KeyboardInterrupt end a waiting call and take no message."""

from __future__ import annotations

import os
import signal
import time
from typing import Callable

import pytest
from support import python

import posixq

gevent = pytest.importorskip("gevent", reason="the gevent tests need gevent")
from posixq.waiters import GeventWaiter  # noqa: E402

Factory = Callable[..., posixq.MessageQueue]
ROUNDS = 20


def test_gevent_timeout_ends_a_get_and_the_queue_stays_usable(make_queue: Factory) -> None:
    """A gevent.Timeout ends a waiting get(); a message put afterwards is got by the next get()."""
    mq = make_queue(waiter=GeventWaiter())
    for _ in range(ROUNDS):
        with pytest.raises(gevent.Timeout), gevent.Timeout(0.01):
            mq.get()
        mq.put(b"next")
        assert mq.get(timeout=0) == b"next"


def test_gevent_timeout_ends_a_put_without_sending(make_queue: Factory) -> None:
    """A put() on a full queue ended by gevent.Timeout sends nothing; the queue stays usable."""
    mq = make_queue(max_messages=2, waiter=GeventWaiter())
    for _ in range(ROUNDS):
        mq.put(b"a")
        mq.put(b"b")
        with pytest.raises(gevent.Timeout), gevent.Timeout(0.01):
            mq.put(b"never")
        assert [mq.get(timeout=0), mq.get(timeout=0)] == [b"a", b"b"]
        assert mq.current_messages == 0


def test_a_killed_get_leaves_the_message_that_just_arrived(make_queue: Factory) -> None:
    """A greenlet killed in get() as a message arrives either returns it or leaves it queued."""
    mq = make_queue(waiter=GeventWaiter())
    sender = make_queue(name=mq.name)
    killed = 0
    for i in range(ROUNDS):
        getter = gevent.spawn(mq.get)
        gevent.sleep(0.005)  # the getter is now waiting on the hub
        sender.put(b"m%d" % i)  # does not yield: the getter has not run yet
        getter.kill()
        if isinstance(getter.value, gevent.GreenletExit):
            killed += 1
            assert mq.get(timeout=0) == b"m%d" % i
        else:
            assert getter.value == b"m%d" % i
        assert mq.current_messages == 0
    assert killed > 0


def test_a_killed_put_sends_nothing_once_killed(make_queue: Factory) -> None:
    """A greenlet killed in put() right as room appears either sent its message or did not."""
    mq = make_queue(max_messages=2, waiter=GeventWaiter())
    receiver = make_queue(name=mq.name)
    killed = 0
    for _ in range(ROUNDS):
        mq.put(b"a")
        mq.put(b"b")
        putter = gevent.spawn(mq.put, b"c")
        gevent.sleep(0.005)
        assert receiver.get(timeout=0) == b"a"  # room for one, the putter has not run yet
        putter.kill()
        rest = [mq.get(timeout=0) for _ in range(mq.current_messages)]
        if isinstance(putter.value, gevent.GreenletExit):
            killed += 1
            assert rest == [b"b"]
        else:
            assert rest == [b"b", b"c"]
    assert killed > 0


PATCHED = """
    from gevent import monkey

    monkey.patch_all()
    import sys
    import gevent
    import posixq
    from posixq.waiters import SelectWaiter

    mq = posixq.MessageQueue(sys.argv[1], create=False, waiter=SelectWaiter())
    sender = posixq.MessageQueue(sys.argv[1], create=False)
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.001)) for _ in range(10**9)])
    for i in range(20):
        try:
            with gevent.Timeout(0.01):
                mq.get()
        except gevent.Timeout:
            pass
        getter = gevent.spawn(mq.get)
        gevent.sleep(0.005)
        sender.put(b"m%d" % i)
        getter.kill()
        if isinstance(getter.value, gevent.GreenletExit):
            assert mq.get(timeout=0) == b"m%d" % i
        else:
            assert getter.value == b"m%d" % i
        assert mq.current_messages == 0
    ticker.kill()
    print(len(ticks))
"""


def test_select_waiter_cancels_the_same_way_under_monkey_patching(queue_name: str) -> None:
    """Under gevent monkey-patching, SelectWaiter gets end on Timeout and kill, losing nothing."""
    with posixq.MessageQueue(queue_name, 4, 32, exclusive=True):
        child = python(PATCHED, queue_name)
        out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert int(out) > 50  # the hub kept running while get() waited


INTERRUPTED = """
    import signal, sys
    import posixq

    mq = posixq.MessageQueue(sys.argv[1], create=False)
    other = posixq.MessageQueue(sys.argv[1], create=False)
    print("waiting", flush=True)
    try:
        print("got", mq.get())
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    print(mq.get(timeout=30).decode(), flush=True)

    def put_then_interrupt(signum, frame):
        other.put(b"raced")
        raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, put_then_interrupt)
    for _ in range(10):
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        try:
            print("got", mq.get())
        except KeyboardInterrupt:
            pass
        assert mq.get(timeout=0) == b"raced"
    print("done", flush=True)
"""


def test_keyboard_interrupt_ends_a_blocked_get_and_takes_nothing(
    waiter_name: str, queue_name: str
) -> None:
    """Ctrl-C ends a get() blocking the main thread; the queue object and every message survive."""
    with posixq.MessageQueue(queue_name, 4, 32, exclusive=True) as mq:
        child = python(INTERRUPTED, queue_name, env={**os.environ, "POSIXQ_WAITER": waiter_name})
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "waiting\n"
            time.sleep(0.3)
            child.send_signal(signal.SIGINT)
            start = time.monotonic()
            assert child.stdout.readline() == "interrupted\n"
            assert time.monotonic() - start < 2.0
            mq.put(b"after")
            assert child.stdout.readline() == "after\n"
            out, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        assert child.returncode == 0, err
        assert out == "done\n"
        assert mq.current_messages == 0
