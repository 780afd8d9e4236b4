"""One MessageQueue object shared by threads that put and get at the same time."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Optional

import pytest

PRODUCERS = 4
CONSUMERS = 4
PER_PRODUCER = 150
TOTAL = PRODUCERS * PER_PRODUCER
TIMEOUT = 20  # seconds a single call may wait before the test is declared stuck

Received = list[tuple[bytes, Optional[int]]]  # message, priority if the call gives it


@pytest.fixture(autouse=True)
def switch_threads_often() -> Iterator[None]:
    """Let threads take turns every microsecond, so that races show up within a test."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def message_for(producer: int, seq: int) -> tuple[bytes, int]:
    """A message of 6 to 64 bytes whose every byte depends on who sent it, and its priority."""
    head = f"{producer}:{seq}:".encode()
    length = len(head) + (producer * 7 + seq * 13) % (64 - len(head) + 1)
    return head + bytes([(producer * 31 + seq) % 256]) * (length - len(head)), (producer + seq) % 3


def produce(mq, producer: int) -> None:
    for seq in range(PER_PRODUCER):
        message, priority = message_for(producer, seq)
        mq.put(message, timeout=TIMEOUT, priority=priority)


def with_get(mq, count: int) -> Received:
    return [(mq.get(timeout=TIMEOUT), None) for _ in range(count)]


def with_get_with_priority(mq, count: int) -> Received:
    return [mq.get_with_priority(timeout=TIMEOUT) for _ in range(count)]


def with_get_into(mq, count: int) -> Received:
    buffer = bytearray(mq.max_message_size)
    received: Received = []
    for _ in range(count):
        length, priority = mq.get_into(buffer, timeout=TIMEOUT)
        received.append((bytes(buffer[:length]), priority))
    return received


def with_get_many(mq, count: int) -> Received:
    received: Received = []
    while len(received) < count:
        batch = mq.get_many(min(3, count - len(received)), timeout=TIMEOUT)
        received.extend((message, None) for message in batch)
    return received


RECEIVERS: dict[str, Callable[..., Received]] = {
    "get": with_get,
    "get_with_priority": with_get_with_priority,
    "get_into": with_get_into,
    "get_many": with_get_many,
}


def run_threads(mq, receivers: list[Callable[..., Received]]) -> list[Received]:
    """Run PRODUCERS producers and one consumer per receiver; return what each consumer got."""
    share = TOTAL // len(receivers)
    assert share * len(receivers) == TOTAL
    with ThreadPoolExecutor(PRODUCERS + len(receivers)) as pool:
        consumers = [pool.submit(receive, mq, share) for receive in receivers]
        producers = [pool.submit(produce, mq, p) for p in range(PRODUCERS)]
        for producer in producers:
            producer.result()
        return [consumer.result() for consumer in consumers]


def check(received_by_consumer: list[Received]) -> None:
    """Every message arrived exactly once, whole, with its priority, FIFO within a priority."""
    seen: set[tuple[int, int]] = set()
    for received in received_by_consumer:
        last: dict[tuple[int, int], int] = {}
        for message, priority in received:
            producer, seq = (int(part) for part in message.split(b":", 2)[:2])
            expected, expected_priority = message_for(producer, seq)
            assert message == expected
            assert priority in (None, expected_priority)
            assert (producer, seq) not in seen, "received twice"
            seen.add((producer, seq))
            key = (producer, expected_priority)
            assert last.get(key, -1) < seq, "out of order within one priority"
            last[key] = seq
    assert len(seen) == TOTAL


@pytest.mark.parametrize("receiver", RECEIVERS.values(), ids=RECEIVERS.keys())
def test_concurrent_puts_and_gets(queue, receiver) -> None:
    """Threads putting and getting on one queue object each get whole, distinct messages."""
    check(run_threads(queue, [receiver] * CONSUMERS))


def test_every_kind_of_get_at_once(queue) -> None:
    """get, get_with_priority, get_into and get_many can run side by side on one object."""
    check(run_threads(queue, list(RECEIVERS.values())))


def test_full_size_messages_stay_whole(make_queue) -> None:
    """Concurrent gets of max_message_size messages never mix their bytes."""
    mq = make_queue(max_messages=10, max_message_size=8192)
    count = 500

    def produce_big(producer: int) -> None:
        for seq in range(count):
            mq.put(bytes([producer * 64 + seq % 64]) * 8192, timeout=TIMEOUT)

    def consume_big() -> list[bytes]:
        return [mq.get(timeout=TIMEOUT) for _ in range(count)]

    with ThreadPoolExecutor(8) as pool:
        consumers = [pool.submit(consume_big) for _ in range(4)]
        for producer in [pool.submit(produce_big, p) for p in range(4)]:
            producer.result()
        received = [m for consumer in consumers for m in consumer.result()]
    assert len(received) == 4 * count
    assert all(message == message[:1] * 8192 for message in received)
