"""AsyncMessageQueue under cancellation, and a loop that waiting tasks never block."""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from typing import Any, Awaitable, Callable

import pytest
from aio_support import SLACK, epoll_watches, run

import posixq
from posixq.aio import AsyncMessageQueue

MakeQueue = Callable[..., AsyncMessageQueue]

needs_311 = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="asyncio.timeout and TaskGroup came in Python 3.11"
)


async def drain(mq: AsyncMessageQueue) -> list[bytes]:
    """Take every message now in ``mq``, without waiting."""
    taken = []
    while mq.current_messages:
        taken.append(await mq.get(timeout=0))
    return taken


async def with_timeout(kind: str, awaitable: Awaitable[Any], seconds: float) -> Any:
    """Await ``awaitable`` under asyncio.wait_for or asyncio.timeout (``kind``)."""
    if kind == "wait_for":
        return await asyncio.wait_for(awaitable, seconds)
    async with asyncio.timeout(seconds):  # type: ignore[attr-defined]
        return await awaitable


TIMEOUT_KINDS = ["wait_for", pytest.param("timeout", marks=needs_311)]


# -- one cancellation ---------------------------------------------------------


@pytest.mark.parametrize("kind", TIMEOUT_KINDS)
def test_cancelled_get_loses_nothing(loop_name: str, make_aqueue: MakeQueue, kind: str) -> None:
    """A get() cut short by a timeout leaves no reader registered, and the next message is kept."""
    mq = make_aqueue()

    async def main() -> bytes:
        with pytest.raises(asyncio.TimeoutError):
            await with_timeout(kind, mq.get(), 0.05)
        assert not epoll_watches(mq.fileno())
        await mq.put(b"kept")
        return await mq.get(timeout=0)

    assert run(loop_name, main) == b"kept"


@pytest.mark.parametrize("kind", TIMEOUT_KINDS)
def test_cancelled_put_sends_nothing(loop_name: str, make_aqueue: MakeQueue, kind: str) -> None:
    """A put() on a full queue cut short by a timeout sends nothing and leaves no writer."""
    mq = make_aqueue()

    async def main() -> list[bytes]:
        for i in range(mq.max_messages):
            await mq.put(b"%d" % i)
        with pytest.raises(asyncio.TimeoutError):
            await with_timeout(kind, mq.put(b"never"), 0.05)
        assert not epoll_watches(mq.fileno())
        return await drain(mq)

    assert run(loop_name, main) == [b"0", b"1", b"2", b"3"]


def test_cancelled_put_many_keeps_what_it_sent(loop_name: str, make_aqueue: MakeQueue) -> None:
    """put_many() cancelled while it waits for room leaves the messages it sent, and no more."""
    mq = make_aqueue()

    async def main() -> list[bytes]:
        await mq.put(b"old")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(mq.put_many([b"n%d" % i for i in range(6)]), 0.05)
        assert not epoll_watches(mq.fileno())
        return await drain(mq)

    assert run(loop_name, main) == [b"old", b"n0", b"n1", b"n2"]


@needs_311
def test_task_group_cancellation_loses_nothing(loop_name: str, make_aqueue: MakeQueue) -> None:
    """Getters cancelled by their task group's failure leave every later message in the queue."""
    mq = make_aqueue()

    async def main() -> list[bytes]:
        async def fail_soon() -> None:
            await asyncio.sleep(0.05)
            raise KeyError("boom")

        async def run_group() -> None:
            async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
                for _ in range(5):
                    group.create_task(mq.get())
                group.create_task(fail_soon())

        with pytest.raises(BaseExceptionGroup) as caught:  # noqa: F821 - Python 3.11
            await run_group()
        assert [type(error) for error in caught.value.exceptions] == [KeyError]
        assert not epoll_watches(mq.fileno())
        for i in range(3):
            await mq.put(b"%d" % i)
        return await drain(mq)

    assert run(loop_name, main) == [b"0", b"1", b"2"]


@pytest.mark.parametrize("operation", ["get", "put"])
def test_cancelling_one_waiter_leaves_the_others_waiting(
    loop_name: str, make_aqueue: MakeQueue, operation: str
) -> None:
    """Cancelling one of three waiting tasks leaves the other two woken by the queue as before."""
    mq = make_aqueue()

    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        if operation == "put":
            for i in range(mq.max_messages):
                await mq.put(b"%d" % i)
        call = mq.get if operation == "get" else lambda: mq.put(b"new")
        waiting = [asyncio.ensure_future(call()) for _ in range(3)]
        await asyncio.sleep(0.02)
        waiting[1].cancel()
        await asyncio.sleep(0.02)
        assert epoll_watches(mq.fileno()), "cancelling one waiter unregistered the others"
        started = loop.time()
        for _ in range(2):
            if operation == "get":
                await mq.put(b"m")
            else:
                assert await mq.get(timeout=0) in (b"0", b"1")
        results = await asyncio.wait_for(asyncio.gather(waiting[0], waiting[2]), SLACK + 1)
        assert loop.time() - started < SLACK
        assert waiting[1].cancelled()
        assert not epoll_watches(mq.fileno())
        return list(results)

    assert run(loop_name, main) == ([b"m", b"m"] if operation == "get" else [None, None])


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_waiter_cancelled_after_its_wake_up_passes_the_message_on(
    loop_name: str, make_aqueue: MakeQueue, turns: int
) -> None:
    """Whatever the turn of the loop a woken getter is cancelled at, one getter has the message."""
    mq = make_aqueue()

    async def main() -> None:
        first = asyncio.ensure_future(mq.get())
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(mq.get())
        await asyncio.sleep(0.01)
        with posixq.MessageQueue(mq.name, create=False) as other:
            other.put(b"only one")
        for _ in range(turns):
            await asyncio.sleep(0)
        first.cancel()
        await asyncio.wait([second], timeout=0.2)
        got = [task.result() for task in (first, second) if task.done() and not task.cancelled()]
        assert got == [b"only one"], got
        if not second.done():  # the first got it before its cancellation arrived
            second.cancel()
            await asyncio.gather(second, return_exceptions=True)
        assert not epoll_watches(mq.fileno())
        assert mq.current_messages == 0

    run(loop_name, main)


# -- storms ---------------------------------------------------------------------


async def storm(
    mq: AsyncMessageQueue, get: Callable[[], Awaitable[bytes]], *, consumers: int, count: int
) -> tuple[list[bytes], list[bytes], int]:
    """Run ``consumers`` tasks calling ``get()`` while a producer puts ``count`` messages.

    ``get()`` may be cut short by timeouts. Returns the messages received,
    those left in the queue, and how many gets were cut short.
    """
    received: list[bytes] = []
    cut = 0
    producing = True

    async def consume() -> None:
        nonlocal cut
        while producing or mq.current_messages:
            try:
                message = await get()
            except (asyncio.TimeoutError, asyncio.CancelledError):
                cut += 1
                continue
            received.append(message)

    async def produce() -> None:
        for i in range(count):
            await mq.put(b"%d" % i)
            if i % 7 == 0:
                await asyncio.sleep(random.uniform(0, 0.003))

    tasks = [asyncio.ensure_future(consume()) for _ in range(consumers)]
    await produce()
    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    producing = False
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    left = await drain(mq)
    return received, left, cut


def check_storm(received: list[bytes], left: list[bytes], count: int) -> None:
    """Every message was received exactly once, or is still in the queue."""
    assert len(received) == len(set(received)), "a message was received twice"
    assert sorted(received + left, key=int) == [b"%d" % i for i in range(count)]


@pytest.mark.parametrize("kind", TIMEOUT_KINDS)
def test_timeout_storm_loses_nothing(loop_name: str, make_aqueue: MakeQueue, kind: str) -> None:
    """Twenty getters cut short by random timeouts while 400 messages pass lose none."""
    mq = make_aqueue()
    count = 400

    async def main() -> None:
        def get() -> Awaitable[bytes]:
            return with_timeout(kind, mq.get(), random.uniform(0.0002, 0.005))

        received, left, cut = await storm(mq, get, consumers=20, count=count)
        check_storm(received, left, count)
        assert cut > 20, "too few gets were cut short for this to test anything"
        assert not epoll_watches(mq.fileno())

    run(loop_name, main)


def test_cancel_storm_loses_nothing(loop_name: str, make_aqueue: MakeQueue) -> None:
    """Getters cancelled at random by another task while 400 messages pass lose none."""
    mq = make_aqueue()
    count = 400

    async def main() -> None:
        def get() -> Awaitable[bytes]:
            task = asyncio.ensure_future(mq.get())
            asyncio.get_running_loop().call_later(random.uniform(0, 0.004), task.cancel)
            return task

        received, left, cut = await storm(mq, get, consumers=20, count=count)
        check_storm(received, left, count)
        assert cut > 20, "too few gets were cancelled for this to test anything"
        assert not epoll_watches(mq.fileno())

    run(loop_name, main)


def test_put_timeout_storm_sends_each_message_at_most_once(
    loop_name: str, make_aqueue: MakeQueue
) -> None:
    """Putters cut short by timeouts send exactly the messages whose put() returned."""
    mq = make_aqueue()

    async def main() -> None:
        sent: list[bytes] = []
        received: list[bytes] = []

        async def produce(worker: int) -> None:
            for i in range(40):
                message = b"%d-%d" % (worker, i)
                try:
                    await asyncio.wait_for(mq.put(message), random.uniform(0.0002, 0.004))
                except asyncio.TimeoutError:
                    continue
                sent.append(message)

        async def consume() -> None:
            while True:
                received.append(await mq.get())
                await asyncio.sleep(random.uniform(0, 0.001))

        consumer = asyncio.ensure_future(consume())
        await asyncio.gather(*(produce(w) for w in range(10)))
        await asyncio.sleep(0.05)
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        received.extend(await drain(mq))
        assert sorted(received) == sorted(sent)
        assert len(sent) < 400, "no put timed out: the storm tested nothing"
        assert not epoll_watches(mq.fileno())

    run(loop_name, main)


# -- the loop keeps running ----------------------------------------------------------


class Ticker:
    """A task that sleeps 10 ms at a time and records when it wakes."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            self.ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    def longest_gap(self, since: float = 0.0) -> float:
        ticks = [t for t in self.ticks if t >= since]
        return max(b - a for a, b in zip(ticks, ticks[1:]))

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def test_ticker_keeps_its_rhythm_while_100_tasks_wait(
    loop_name: str, make_aqueue: MakeQueue
) -> None:
    """A 10 ms ticker keeps its rhythm, and no thread starts, while 100 tasks wait; all are fed."""
    getting = [make_aqueue() for _ in range(8)]
    putting = [make_aqueue() for _ in range(4)]

    async def main() -> None:
        threads = threading.active_count()
        for mq in putting:
            for i in range(mq.max_messages):
                await mq.put(b"old-%d" % i)
        ticker = Ticker()
        await asyncio.sleep(0.05)
        getters = [asyncio.ensure_future(mq.get()) for mq in getting for _ in range(10)]
        putters = [
            asyncio.ensure_future(mq.put(b"new", timeout=60)) for mq in putting for _ in range(5)
        ]
        assert len(getters) + len(putters) == 100
        waiting_since = time.monotonic()
        await asyncio.sleep(0.6)
        assert threading.active_count() == threads, "waiting started threads"
        waited = time.monotonic() - waiting_since
        assert not any(task.done() for task in getters + putters)
        ticks = [t for t in ticker.ticks if t >= waiting_since]
        # 10 ms ticks would be 60; a loaded machine stretches them, a blocked loop stops them.
        assert len(ticks) >= 15, f"{len(ticks)} ticks in {waited:.2f} s"
        assert ticker.longest_gap(waiting_since) < 0.25

        for mq in getting:
            await mq.put_many([b"%d" % i for i in range(10)], timeout=10)
        for mq in putting:
            taken = [await mq.get(timeout=5) for _ in range(mq.max_messages + 5)]
            assert taken[: mq.max_messages] == [b"old-%d" % i for i in range(4)]
            assert taken[mq.max_messages :] == [b"new"] * 5
        received = await asyncio.wait_for(asyncio.gather(*getters), 10)
        await asyncio.wait_for(asyncio.gather(*putters), 10)
        assert sorted(received) == sorted(b"%d" % i for i in range(10) for _ in range(8))
        assert ticker.longest_gap(waiting_since) < 0.25
        await ticker.stop()
        for mq in getting + putting:
            assert not epoll_watches(mq.fileno())

    run(loop_name, main)


def test_ticker_notices_a_blocked_loop(loop_name: str, make_aqueue: MakeQueue) -> None:
    """The ticker does detect a loop blocked by a synchronous get(): its rhythm breaks."""
    mq = make_aqueue()

    async def main() -> float:
        ticker = Ticker()
        await asyncio.sleep(0.05)
        with pytest.raises(posixq.TimedOutError):
            mq.queue.get(timeout=0.3)  # blocks the loop, as an async get must not
        await asyncio.sleep(0.05)
        await ticker.stop()
        return ticker.longest_gap()

    assert run(loop_name, main) >= 0.3
