"""close() while other threads or greenlets wait on the same object, with files opened at once."""

from __future__ import annotations

import os
import threading
import time
from typing import Callable

import pytest
from support import unique_name, unlink_quietly

import posixq
from posixq.waiters import Waiter

Factory = Callable[..., posixq.MessageQueue]
WAITING = 4
ROUNDS = 15
PUT_ROUNDS = 5
MARK = b"from a file opened after close"


def grab_numbers(count: int) -> tuple[list[posixq.MessageQueue], list[int]]:
    """Open ``count`` queues holding MARK and ``count`` pipes, on the lowest free numbers."""
    queues, fds = [], []
    for _ in range(count):
        mq = posixq.MessageQueue(unique_name("grab"), 2, 64, exclusive=True)
        mq.put(MARK)
        queues.append(mq)
        fds.extend(os.pipe())
    return queues, fds


def release(queues: list[posixq.MessageQueue], fds: list[int]) -> None:
    for mq in queues:
        mq.close()
        unlink_quietly(mq.name)
    for fd in fds:
        os.close(fd)


@pytest.mark.slow
def test_close_under_waiting_threads_never_reads_a_reused_descriptor(
    waiter: Waiter, queue_name: str
) -> None:
    """Threads in get() when close() comes get QueueClosedError, never another file's data."""
    results: list[object] = []
    for _ in range(ROUNDS):
        mq = posixq.MessageQueue(queue_name, 2, 64, waiter=waiter)
        number = mq.fileno()

        def get(mq: posixq.MessageQueue = mq) -> None:
            try:
                results.append(mq.get(timeout=10))
            except posixq.MessageQueueError as exc:
                results.append(exc)

        threads = [threading.Thread(target=get) for _ in range(WAITING)]
        for thread in threads:
            thread.start()
        time.sleep(0.02)
        mq.close()
        queues, fds = grab_numbers(WAITING)
        try:
            # The closed queue's number is still reserved: nothing reused it.
            assert number not in fds + [q.fileno() for q in queues]
            start = time.monotonic()
            for thread in threads:
                thread.join(5)
            assert not any(thread.is_alive() for thread in threads)
            assert time.monotonic() - start < 2.0
            assert all(q.get(timeout=0) == MARK for q in queues)
        finally:
            release(queues, fds)
        del mq
    assert len(results) == ROUNDS * WAITING
    assert all(isinstance(r, posixq.QueueClosedError) for r in results), results


gevent = pytest.importorskip("gevent", reason="the greenlet tests need gevent")
from posixq.waiters import GeventWaiter  # noqa: E402


def test_close_from_a_greenlet_wakes_every_waiting_greenlet_at_once(queue_name: str) -> None:
    """Greenlets waiting in get() or put() end with QueueClosedError as soon as another closes."""
    for _ in range(ROUNDS):
        mq = posixq.MessageQueue(queue_name, 1, 64, waiter=GeventWaiter())
        full = posixq.MessageQueue(unique_name("full"), 1, 64, waiter=GeventWaiter())
        full.put(b"only")
        try:
            getters = [gevent.spawn(mq.get, timeout=10) for _ in range(WAITING)]
            gevent.sleep(0.01)
            number = mq.fileno()
            start = time.monotonic()
            mq.close()
            queues, fds = grab_numbers(2)
            try:
                assert number not in fds + [q.fileno() for q in queues]
                gevent.joinall(getters, timeout=5)
                assert time.monotonic() - start < 1.0  # woken, not polled: no check interval
                for getter in getters:
                    assert isinstance(getter.exception, posixq.QueueClosedError)
                assert all(q.get(timeout=0) == MARK for q in queues)
            finally:
                release(queues, fds)
            putter = gevent.spawn(full.put, b"more", timeout=10)
            gevent.sleep(0.01)
            full.close()
            putter.join(5)
            assert isinstance(putter.exception, posixq.QueueClosedError)
            with posixq.MessageQueue(full.name, create=False) as again:
                assert again.get(timeout=0) == b"only"
                assert again.current_messages == 0
        finally:
            mq.close()
            full.close()
            unlink_quietly(full.name)


def test_close_under_threads_waiting_to_put_sends_nothing_more(
    waiter: Waiter, queue_name: str
) -> None:
    """Threads blocked in put() on a full queue when close() comes raise and send nothing."""
    results: list[object] = []
    with posixq.MessageQueue(queue_name, 2, 64, exclusive=True) as reader:
        for _ in range(PUT_ROUNDS):
            mq = posixq.MessageQueue(queue_name, create=False, waiter=waiter)
            mq.put(b"a")
            mq.put(b"b")

            def put(mq: posixq.MessageQueue = mq) -> None:
                try:
                    results.append(mq.put(b"late", timeout=10))
                except posixq.MessageQueueError as exc:
                    results.append(exc)

            threads = [threading.Thread(target=put) for _ in range(WAITING)]
            for thread in threads:
                thread.start()
            time.sleep(0.02)
            mq.close()
            for thread in threads:
                thread.join(5)
            assert not any(thread.is_alive() for thread in threads)
            # Room now, but the closed object can no longer send.
            assert [reader.get(timeout=0), reader.get(timeout=0)] == [b"a", b"b"]
            time.sleep(0.15)  # longer than a waiter's check interval
            assert reader.current_messages == 0
    assert len(results) == PUT_ROUNDS * WAITING
    assert all(isinstance(r, posixq.QueueClosedError) for r in results), results
