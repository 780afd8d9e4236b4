"""AsyncMessageQueue: the synchronous semantics, awaited, on the default loop and uvloop."""

from __future__ import annotations

import asyncio
import gc
import math
import threading
import time
from typing import Any, Callable

import pytest
from aio_support import SLACK, epoll_watches, run
from support import unique_name, unlink_quietly

import posixq
from posixq.aio import AsyncMessageQueue
from posixq.waiters import BlockingWaiter, SelectWaiter

MakeQueue = Callable[..., AsyncMessageQueue]


async def fill(mq: AsyncMessageQueue) -> list[bytes]:
    """Put messages until ``mq`` is full; return them in order."""
    sent = [b"%d" % i for i in range(mq.max_messages)]
    for message in sent:
        await mq.put(message, timeout=0)
    return sent


async def drain(mq: AsyncMessageQueue) -> list[bytes]:
    """Take every message now in ``mq``, without waiting."""
    taken = []
    while mq.current_messages:
        taken.append(await mq.get(timeout=0))
    return taken


# -- messages ---------------------------------------------------------------


def test_round_trip(loop_name: str, make_aqueue: MakeQueue) -> None:
    """What put() sends, get() returns, byte for byte, from bytes, str and buffers."""
    mq = make_aqueue()

    async def main() -> list[bytes]:
        await mq.put(b"\x00hello\xff")
        await mq.put("héllo")
        await mq.put(bytearray(b"array"))
        await mq.put(memoryview(b"xviewx")[1:-1])
        return [await mq.get(timeout=1) for _ in range(4)]

    assert run(loop_name, main) == [b"\x00hello\xff", "héllo".encode(), b"array", b"view"]


def test_empty_and_largest_messages(loop_name: str, make_aqueue: MakeQueue) -> None:
    """An empty message and one of exactly max_message_size come back whole."""
    mq = make_aqueue()
    largest = bytes(range(mq.max_message_size))

    async def main() -> list[bytes]:
        await mq.put(b"")
        await mq.put(largest)
        return [await mq.get(timeout=1), await mq.get(timeout=1)]

    assert run(loop_name, main) == [b"", largest]


def test_priorities(loop_name: str, make_aqueue: MakeQueue) -> None:
    """Higher priorities come out first, equal ones in the order they were sent."""
    mq = make_aqueue()

    async def main() -> list[tuple[bytes, int]]:
        await mq.put(b"low", priority=0)
        await mq.put(b"high-1", priority=7)
        await mq.put(b"mid", priority=3)
        await mq.put(b"high-2", priority=7)
        return [await mq.get_with_priority(timeout=1) for _ in range(4)]

    assert run(loop_name, main) == [(b"high-1", 7), (b"high-2", 7), (b"mid", 3), (b"low", 0)]


def test_get_into_fills_the_buffer(loop_name: str, make_aqueue: MakeQueue) -> None:
    """get_into() writes the message into the caller's buffer and returns length and priority."""
    mq = make_aqueue()
    buffer = bytearray(mq.max_message_size)

    async def main() -> tuple[int, int]:
        waiting = asyncio.ensure_future(mq.get_into(buffer, timeout=5))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await mq.put(b"zero-copy", priority=2)
        return await waiting

    assert run(loop_name, main) == (9, 2)
    assert buffer[:9] == b"zero-copy"


def test_get_into_a_small_buffer_is_refused(loop_name: str, make_aqueue: MakeQueue) -> None:
    """get_into() with a buffer smaller than max_message_size raises and takes nothing."""
    mq = make_aqueue()

    async def main() -> None:
        await mq.put(b"kept")
        with pytest.raises(posixq.InvalidArgumentError):
            await mq.get_into(bytearray(mq.max_message_size - 1), timeout=1)
        assert await mq.get(timeout=0) == b"kept"

    run(loop_name, main)


def test_get_many_waits_for_the_first_then_takes_what_is_queued(
    loop_name: str, make_aqueue: MakeQueue
) -> None:
    """get_many() waits for one message, then takes up to max_count of those queued."""
    mq = make_aqueue()

    async def main() -> tuple[list[bytes], list[bytes]]:
        waiting = asyncio.ensure_future(mq.get_many(3, timeout=5))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await mq.put_many([b"a", b"b", b"c", b"d"])
        first = await waiting
        return first, await mq.get_many(3, timeout=0)

    first, rest = run(loop_name, main)
    assert first[0] == b"a"
    assert first + rest == [b"a", b"b", b"c", b"d"]
    assert len(first) <= 3


def test_put_many_waits_for_room_and_keeps_the_order(
    loop_name: str, make_aqueue: MakeQueue
) -> None:
    """put_many() of more messages than the queue holds sends them all, in order, as room frees."""
    mq = make_aqueue()
    messages = [b"m%d" % i for i in range(10)]

    async def main() -> list[bytes]:
        sending = asyncio.ensure_future(mq.put_many(iter(messages), timeout=10))
        received = []
        while len(received) < len(messages):
            received.append(await mq.get(timeout=5))
        await sending
        return received

    assert run(loop_name, main) == messages


def test_put_many_timeout_says_how_many_were_sent(loop_name: str, make_aqueue: MakeQueue) -> None:
    """put_many() on a queue with room for some raises TimedOutError with sent = how many went."""
    mq = make_aqueue()
    timeout = 0.1

    async def main() -> None:
        await mq.put(b"old")
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(posixq.TimedOutError) as caught:
            await mq.put_many([b"n%d" % i for i in range(6)], timeout=timeout)
        end = loop.time()
        assert start + timeout <= end < start + timeout + SLACK
        assert caught.value.sent == mq.max_messages - 1
        assert f"{mq.max_messages - 1} of 6" in str(caught.value)
        assert await drain(mq) == [b"old", b"n0", b"n1", b"n2"]

    run(loop_name, main)


def test_put_many_timeout_zero_on_a_full_queue(loop_name: str, make_aqueue: MakeQueue) -> None:
    """put_many(timeout=0) on a full queue raises at once with sent=0, like the synchronous call."""
    mq = make_aqueue()

    async def main() -> None:
        await fill(mq)
        with pytest.raises(posixq.TimedOutError) as caught:
            await mq.put_many([b"x"], timeout=0)
        assert caught.value.sent == 0

    run(loop_name, main)


def test_oversize_message_sends_nothing(loop_name: str, make_aqueue: MakeQueue) -> None:
    """A message over max_message_size raises MessageTooLargeError, even on a full queue."""
    mq = make_aqueue()
    too_big = b"x" * (mq.max_message_size + 1)

    async def main() -> None:
        with pytest.raises(posixq.MessageTooLargeError):
            await mq.put(too_big, timeout=1)
        with pytest.raises(posixq.MessageTooLargeError):
            await mq.put_many([b"fine", too_big], timeout=1)
        assert mq.current_messages == 0
        sent = await fill(mq)
        with pytest.raises(posixq.MessageTooLargeError):
            await mq.put(too_big, timeout=None)
        assert await drain(mq) == sent

    run(loop_name, main)


# -- timeouts -----------------------------------------------------------------


@pytest.mark.parametrize("timeout", [0.001, 0.2])
def test_get_on_empty_times_out_on_time(
    loop_name: str, make_aqueue: MakeQueue, timeout: float
) -> None:
    """get() on an empty queue raises TimedOutError no sooner than its timeout, and soon after."""
    mq = make_aqueue()

    async def main() -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        start, wall = loop.time(), time.monotonic()
        with pytest.raises(posixq.TimedOutError) as caught:
            await mq.get(timeout=timeout)
        assert mq.name in str(caught.value)
        assert f"{timeout:g} s" in str(caught.value)
        return start, loop.time(), time.monotonic() - wall

    start, end, wall = run(loop_name, main)
    # On the loop's clock, which timeouts are measured on:
    assert start + timeout <= end < start + timeout + SLACK
    # On the monotonic clock; uvloop's clock counts whole milliseconds.
    assert timeout - (0.0015 if loop_name == "uvloop" else 0) <= wall < timeout + SLACK


@pytest.mark.parametrize("timeout", [0.001, 0.2])
def test_put_on_full_times_out_on_time(
    loop_name: str, make_aqueue: MakeQueue, timeout: float
) -> None:
    """put() on a full queue raises TimedOutError no sooner than its timeout, sending nothing."""
    mq = make_aqueue()

    async def main() -> tuple[float, float]:
        sent = await fill(mq)
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(posixq.TimedOutError):
            await mq.put(b"late", timeout=timeout)
        end = loop.time()
        assert await drain(mq) == sent
        return start, end

    start, end = run(loop_name, main)
    assert start + timeout <= end < start + timeout + SLACK


@pytest.mark.parametrize("operation", ["get", "get_with_priority", "get_many", "get_into", "put"])
def test_timeout_zero_does_not_wait(loop_name: str, make_aqueue: MakeQueue, operation: str) -> None:
    """timeout=0 on an empty (get) or full (put) queue raises TimedOutError at once."""
    mq = make_aqueue()
    calls: dict[str, Callable[[], Any]] = {
        "get": lambda: mq.get(timeout=0),
        "get_with_priority": lambda: mq.get_with_priority(timeout=0),
        "get_many": lambda: mq.get_many(2, timeout=0),
        "get_into": lambda: mq.get_into(bytearray(64), timeout=0),
        "put": lambda: mq.put(b"late", timeout=0),
    }

    async def main() -> float:
        if operation == "put":
            await fill(mq)
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(posixq.TimedOutError) as caught:
            await calls[operation]()
        assert "timeout=0" in str(caught.value)
        return loop.time() - start

    assert run(loop_name, main) < SLACK


def test_timeout_zero_takes_a_queued_message(loop_name: str, make_aqueue: MakeQueue) -> None:
    """get(timeout=0) returns a message that is already queued."""
    mq = make_aqueue()

    async def main() -> bytes:
        await mq.put(b"ready", timeout=0)
        return await mq.get(timeout=0)

    assert run(loop_name, main) == b"ready"


@pytest.mark.parametrize(
    ("timeout", "error"),
    [
        (-1, posixq.InvalidArgumentError),
        (math.nan, posixq.InvalidArgumentError),
        ("1", posixq.ArgumentTypeError),
        (True, posixq.ArgumentTypeError),
    ],
)
def test_invalid_timeout_is_refused_before_anything_happens(
    loop_name: str, make_aqueue: MakeQueue, timeout: Any, error: type[Exception]
) -> None:
    """An invalid timeout raises what the synchronous class raises, and nothing is sent or taken."""
    mq = make_aqueue()
    with pytest.raises(error):
        mq.queue.get(timeout=timeout)

    async def main() -> None:
        await mq.put(b"queued")
        for call in (
            lambda: mq.get(timeout=timeout),
            lambda: mq.get_with_priority(timeout=timeout),
            lambda: mq.get_many(1, timeout=timeout),
            lambda: mq.get_into(bytearray(64), timeout=timeout),
            lambda: mq.put(b"new", timeout=timeout),
            lambda: mq.put_many([b"new"], timeout=timeout),
        ):
            with pytest.raises(error):
                await call()
        assert await drain(mq) == [b"queued"]

    run(loop_name, main)


def test_invalid_arguments_raise_at_once_where_the_call_would_wait(
    loop_name: str, make_aqueue: MakeQueue
) -> None:
    """A bad count, priority or message raises at once, even on an empty (or full) queue."""
    mq = make_aqueue()

    async def main() -> None:
        for call, error in (
            (lambda: mq.get_many(0), posixq.InvalidArgumentError),
            (lambda: mq.get_into(b"read-only" * 10), posixq.ArgumentTypeError),
        ):
            with pytest.raises(error):
                await asyncio.wait_for(call(), 5)
        sent = await fill(mq)
        for call, error in (
            (lambda: mq.put(b"x", priority=-1), posixq.InvalidArgumentError),
            (lambda: mq.put(42), posixq.ArgumentTypeError),
            (lambda: mq.put_many([b"x", 42]), posixq.ArgumentTypeError),
            (lambda: mq.put_many(b"one message"), posixq.ArgumentTypeError),
            (lambda: mq.put_many(42), posixq.ArgumentTypeError),
        ):
            with pytest.raises(error):
                await asyncio.wait_for(call(), 5)
        assert await drain(mq) == sent

    run(loop_name, main)


def test_infinite_timeout_waits_like_none(loop_name: str, make_aqueue: MakeQueue) -> None:
    """timeout=inf waits until a message comes, as None does."""
    mq = make_aqueue()

    async def main() -> bytes:
        waiting = asyncio.ensure_future(mq.get(timeout=math.inf))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await mq.put(b"at last")
        return await waiting

    assert run(loop_name, main) == b"at last"


# -- waiting ------------------------------------------------------------------


def test_waiting_get_is_woken_by_a_put(loop_name: str, make_aqueue: MakeQueue) -> None:
    """A get() waiting without timeout returns soon after another task puts a message."""
    mq = make_aqueue()

    async def main() -> float:
        loop = asyncio.get_running_loop()
        waiting = asyncio.ensure_future(mq.get())
        await asyncio.sleep(0.1)
        assert not waiting.done()
        assert epoll_watches(mq.fileno()), "no reader is registered while get() waits"
        put_at = loop.time()
        await mq.put(b"wake up")
        assert await waiting == b"wake up"
        assert not epoll_watches(mq.fileno())
        return loop.time() - put_at

    assert run(loop_name, main) < SLACK


def test_waiting_put_is_woken_by_a_get(loop_name: str, make_aqueue: MakeQueue) -> None:
    """A put() waiting on a full queue sends once another task takes a message."""
    mq = make_aqueue()

    async def main() -> list[bytes]:
        sent = await fill(mq)
        waiting = asyncio.ensure_future(mq.put(b"last", timeout=10))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        assert await mq.get() == sent[0]
        await asyncio.wait_for(waiting, SLACK + 1)
        assert not epoll_watches(mq.fileno())
        return await drain(mq)

    assert run(loop_name, main) == [b"1", b"2", b"3", b"last"]


def test_waiting_get_is_woken_by_a_synchronous_put(loop_name: str, make_aqueue: MakeQueue) -> None:
    """A get() waiting in asyncio returns a message put through a MessageQueue of the same name."""
    mq = make_aqueue()

    async def main() -> bytes:
        waiting = asyncio.ensure_future(mq.get(timeout=10))
        await asyncio.sleep(0.05)
        with posixq.MessageQueue(mq.name, create=False) as other:
            other.put(b"from outside")
        return await waiting

    assert run(loop_name, main) == b"from outside"


def test_many_waiters_each_get_one_message(loop_name: str, make_aqueue: MakeQueue) -> None:
    """Twenty tasks waiting on one queue receive twenty messages, one each."""
    mq = make_aqueue()

    async def main() -> list[bytes]:
        waiting = [asyncio.ensure_future(mq.get(timeout=20)) for _ in range(20)]
        await asyncio.sleep(0.05)
        for i in range(20):
            await mq.put(b"%d" % i)
        return list(await asyncio.gather(*waiting))

    assert sorted(run(loop_name, main)) == sorted(b"%d" % i for i in range(20))


def test_queue_serves_one_loop_after_another(loop_name: str, make_aqueue: MakeQueue) -> None:
    """A queue used by one event loop can be used by the next once the first is closed."""
    mq = make_aqueue()

    async def waits(message: bytes) -> bytes:
        waiting = asyncio.ensure_future(mq.get(timeout=5))
        await asyncio.sleep(0.02)
        await mq.put(message)
        return await waiting

    assert run(loop_name, lambda: waits(b"first")) == b"first"
    assert run(loop_name, lambda: waits(b"second")) == b"second"


# -- what the queue is, and its lifecycle ---------------------------------------


def test_attributes(loop_name: str, make_aqueue: MakeQueue) -> None:
    """name, sizes, current_messages, created, closed and fileno() describe the queue."""
    mq = make_aqueue(max_messages=3, max_message_size=32)

    async def main() -> None:
        assert mq.name.startswith("/posixq-aio-")
        assert (mq.max_messages, mq.max_message_size) == (3, 32)
        assert mq.created
        assert not mq.closed
        assert mq.fileno() == mq.queue.fileno() >= 0
        await mq.put(b"one")
        assert mq.current_messages == 1
        assert repr(mq).startswith(f"<AsyncMessageQueue {mq.name!r} max_messages=3")

    run(loop_name, main)
    other = AsyncMessageQueue(mq.name, create=False)
    try:
        assert not other.created
        assert (other.max_messages, other.max_message_size) == (3, 32)
    finally:
        other.close()
    mq.close()
    assert mq.closed
    assert "closed" in repr(mq)
    with pytest.raises(posixq.QueueClosedError):
        mq.fileno()


def test_constructor_options_are_those_of_the_synchronous_class(queue_name: str) -> None:
    """create, exclusive and the sizes raise as they do for MessageQueue."""
    with pytest.raises(posixq.QueueNotFoundError):
        AsyncMessageQueue(queue_name, create=False)
    mq = AsyncMessageQueue(queue_name, 2, 16, mode=0o640)
    try:
        with pytest.raises(posixq.QueueExistsError):
            AsyncMessageQueue(queue_name, 2, 16, exclusive=True)
        with pytest.raises(posixq.QueueSizeError):
            AsyncMessageQueue(unique_name("aio"), 2, 10**8)
    finally:
        mq.close()
        mq.unlink()


def test_calls_on_a_closed_queue_raise(loop_name: str, make_aqueue: MakeQueue) -> None:
    """Every call on a closed queue raises QueueClosedError; close() again does nothing."""
    mq = make_aqueue()
    mq.close()
    mq.close()

    async def main() -> None:
        for call in (
            lambda: mq.get(),
            lambda: mq.get(timeout=0),
            lambda: mq.get_with_priority(),
            lambda: mq.get_many(2),
            lambda: mq.get_into(bytearray(64)),
            lambda: mq.put(b"x"),
            lambda: mq.put_many([b"x"]),
        ):
            with pytest.raises(posixq.QueueClosedError):
                await call()

    run(loop_name, main)


@pytest.mark.parametrize("operation", ["get", "put", "put_many"])
def test_close_wakes_waiting_tasks(loop_name: str, make_aqueue: MakeQueue, operation: str) -> None:
    """close() while tasks wait ends each with QueueClosedError and leaves nothing registered."""
    mq = make_aqueue()

    async def main() -> float:
        loop = asyncio.get_running_loop()
        if operation != "get":
            await fill(mq)
        calls = {
            "get": lambda: mq.get(),
            "put": lambda: mq.put(b"late", timeout=30),
            "put_many": lambda: mq.put_many([b"a", b"b"]),
        }
        waiting = [asyncio.ensure_future(calls[operation]()) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert not any(task.done() for task in waiting)
        fd = mq.fileno()
        assert epoll_watches(fd)
        closed_at = loop.time()
        mq.close()
        assert not epoll_watches(fd), "a callback is still registered on the closed descriptor"
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        for outcome in outcomes:
            assert isinstance(outcome, posixq.QueueClosedError)
            assert mq.name in str(outcome)
        return loop.time() - closed_at

    assert run(loop_name, main) < SLACK


def test_async_with_closes_the_queue(loop_name: str, queue_name: str) -> None:
    """Leaving ``async with`` closes the queue, even on an exception."""

    async def main() -> AsyncMessageQueue:
        try:
            async with AsyncMessageQueue(queue_name, 2, 16) as mq:
                await mq.put(b"x")
                raise KeyError
        except KeyError:
            return mq
        raise AssertionError("the exception was swallowed")

    mq = run(loop_name, main)
    assert mq.closed


def test_async_for_yields_messages_until_closed(loop_name: str, make_aqueue: MakeQueue) -> None:
    """``async for`` yields each message as it comes, and ends when the queue is closed."""
    mq = make_aqueue()

    async def main() -> list[bytes]:
        received = []

        async def consume() -> None:
            async for message in mq:
                received.append(message)

        consumer = asyncio.ensure_future(consume())
        for i in range(6):
            await mq.put(b"%d" % i)
            await asyncio.sleep(0.005)
        while len(received) < 6:
            await asyncio.sleep(0.01)
        mq.close()
        await asyncio.wait_for(consumer, SLACK + 1)
        return received

    assert run(loop_name, main) == [b"%d" % i for i in range(6)]


def test_from_queue_adopts_a_synchronous_queue(loop_name: str, queue_name: str) -> None:
    """from_queue() drives an open MessageQueue, and closing it closes that queue."""
    sync = posixq.MessageQueue(queue_name, 2, 16, waiter=SelectWaiter())
    mq = AsyncMessageQueue.from_queue(sync)
    try:
        sync.put(b"before")

        async def main() -> bytes:
            return await mq.get(timeout=1)

        assert run(loop_name, main) == b"before"
        assert mq.queue is sync
        assert mq.name == queue_name
    finally:
        mq.close()
        unlink_quietly(queue_name)
    assert sync.closed


def test_from_queue_refuses_what_it_cannot_drive(queue_name: str) -> None:
    """from_queue() refuses a blocking descriptor, a closed queue and what is not a queue."""
    with pytest.raises(posixq.ArgumentTypeError):
        AsyncMessageQueue.from_queue("/name")  # type: ignore[arg-type]
    blocking = posixq.MessageQueue(queue_name, 2, 16, waiter=BlockingWaiter())
    try:
        with pytest.raises(posixq.InvalidArgumentError, match="BlockingWaiter"):
            AsyncMessageQueue.from_queue(blocking)
    finally:
        blocking.close()
        blocking.unlink()
    with pytest.raises(posixq.QueueClosedError):
        AsyncMessageQueue.from_queue(blocking)


def test_descriptor_number_reused_after_close_can_be_waited_on(
    loop_name: str, make_aqueue: MakeQueue, queue_name: str
) -> None:
    """A queue opened on the number of a descriptor closed under waiting tasks waits normally."""

    async def close_under_waiters() -> int:
        first = AsyncMessageQueue(queue_name, 4, 64)
        waiting = [asyncio.ensure_future(first.get()) for _ in range(2)]
        await asyncio.sleep(0.02)
        fd = first.fileno()
        first.close()
        for task in waiting:
            with pytest.raises(posixq.QueueClosedError):
                await task
        return fd

    async def main() -> bytes:
        fd = await close_under_waiters()
        await asyncio.sleep(0.01)  # the loop's last callbacks on the tasks have run
        gc.collect()  # a closed queue keeps its number until it is collected
        for _ in range(8):
            second = make_aqueue(max_messages=1, max_message_size=16)
            if second.fileno() == fd:
                break
        else:
            raise AssertionError(f"no new queue was given descriptor number {fd}")
        getting = asyncio.ensure_future(second.get())
        await asyncio.sleep(0.02)
        await second.put(b"same number")
        return await asyncio.wait_for(getting, SLACK + 1)

    assert run(loop_name, main) == b"same number"


def test_waiting_from_two_loops_at_once_is_refused(loop_name: str, make_aqueue: MakeQueue) -> None:
    """A task of a second event loop cannot wait on a queue a first loop's task waits on."""
    mq = make_aqueue()
    waiting = threading.Event()
    outcome: list[BaseException] = []

    async def first_loop() -> None:
        task = asyncio.ensure_future(mq.get(timeout=1))
        await asyncio.sleep(0.01)
        waiting.set()
        with pytest.raises(posixq.TimedOutError):
            await task

    def in_thread() -> None:
        try:
            run(loop_name, first_loop)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=in_thread)
    thread.start()
    try:
        assert waiting.wait(10)

        async def second_loop() -> None:
            with pytest.raises(RuntimeError, match="another event loop"):
                await mq.get(timeout=0.5)

        run(loop_name, second_loop)
    finally:
        thread.join(10)
    assert not outcome
