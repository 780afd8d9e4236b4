"""Many producer and consumer processes on one queue: nothing lost, doubled, torn or reordered."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import support
from fault import _parties
from support import unique_name, unlink_quietly

import posixq

PRODUCERS = 4
CONSUMERS = 4
#: 100k messages per waiter, 25k per producer.
PER_PRODUCER = 25_000
#: How each consumer takes messages, so that every receiving call is exercised.
CONSUMER_CALLS = ["get", "get_with_priority", "get_into", "get_many"]
#: How each producer sends them.
PRODUCER_CALLS = ["put", "put", "put_many", "put"]


def start(args: list[str], waiter_name: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-I", _parties.__file__, *args],
            stdout=out,
            stderr=subprocess.PIPE,
            env={**os.environ, "POSIXQ_WAITER": waiter_name},
        )


def finish(process: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0, err.decode()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_every_message_is_delivered_once_intact_and_in_order(
    waiter_name: str, tmp_path: Path
) -> None:
    """4 producers and 4 consumer processes pass 100k messages, each got exactly once, intact."""
    name = unique_name("parties")
    # 8 slots of 32 bytes: the queue is full or empty most of the time, so
    # every process keeps waiting in its waiter.
    mq = posixq.MessageQueue(name, 8, 32, exclusive=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        consumers = [
            start(["consume", name, how], waiter_name, tmp_path / f"consumer{i}")
            for i, how in enumerate(CONSUMER_CALLS)
        ]
        processes += consumers
        producers = [
            start(
                ["produce", name, str(p), "0", str(PER_PRODUCER), how],
                waiter_name,
                tmp_path / f"producer{p}",
            )
            for p, how in enumerate(PRODUCER_CALLS)
        ]
        processes += producers
        for process in producers:
            finish(process, timeout=180)
        for _ in consumers:
            mq.put(_parties.STOP)  # priority 0: after every data message
        for process in consumers:
            finish(process, timeout=60)
        assert mq.current_messages == 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        mq.close()
        unlink_quietly(name)

    seen: Counter[tuple[int, int]] = Counter()
    for i, how in enumerate(CONSUMER_CALLS):
        got = _parties.read_log(str(tmp_path / f"consumer{i}"))  # checks every checksum
        last: dict[tuple[int, int], int] = defaultdict(lambda: -1)
        for m in got:
            seen[m.producer, m.seq] += 1
            assert m.priority == _parties.priority_of(m.producer, m.seq)
            if m.reported_priority >= 0:
                assert m.reported_priority == m.priority, (how, m)
            # One consumer's gets follow each other, so within one producer
            # and one priority it must see increasing sequence numbers.
            assert m.seq > last[m.producer, m.priority], (how, m)
            last[m.producer, m.priority] = m.seq
    expected = {(p, s) for p in range(PRODUCERS) for s in range(PER_PRODUCER)}
    assert set(seen) == expected, "lost or unknown messages"
    assert max(seen.values()) == 1, "a message was delivered twice"


THREAD_MESSAGES = 5_000  # per producer thread


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_threads_sharing_one_queue_object_get_every_message_once_intact(
    waiter_name: str, queue_name: str
) -> None:
    """4 putting and 4 getting threads share one queue object: 20k messages, each got once."""
    mq = posixq.MessageQueue(
        queue_name, 8, 32, exclusive=True, waiter=support.WAITERS[waiter_name]()
    )
    got: dict[str, list[_parties.Received]] = {how: [] for how in CONSUMER_CALLS}
    failures: list[BaseException] = []

    def produce(producer: int) -> None:
        try:
            for seq in range(THREAD_MESSAGES):
                data = _parties.message(producer, seq)
                priority = _parties.priority_of(producer, seq)
                if producer % 2:
                    mq.put_many([data], timeout=60, priority=priority)
                else:
                    mq.put(data, timeout=60, priority=priority)
        except BaseException as exc:
            failures.append(exc)

    def consume(how: str) -> None:
        buf = bytearray(mq.max_message_size)
        try:
            while True:
                if how == "get":
                    batch = [(mq.get(timeout=60), -1)]
                elif how == "get_with_priority":
                    batch = [mq.get_with_priority(timeout=60)]
                elif how == "get_into":
                    length, priority = mq.get_into(buf, timeout=60)
                    batch = [(bytes(buf[:length]), priority)]
                else:
                    batch = [(m, -1) for m in mq.get_many(4, timeout=60)]
                stops = [m for m, _ in batch if m == _parties.STOP]
                got[how].extend(_parties.check(m, p) for m, p in batch if m != _parties.STOP)
                if stops:
                    for _ in stops[1:]:
                        mq.put(_parties.STOP)
                    return
        except BaseException as exc:
            failures.append(exc)

    try:
        consumers = [threading.Thread(target=consume, args=(how,)) for how in CONSUMER_CALLS]
        producers = [threading.Thread(target=produce, args=(p,)) for p in range(PRODUCERS)]
        for thread in consumers + producers:
            thread.start()
        for thread in producers:
            thread.join(120)
        for _ in consumers:
            mq.put(_parties.STOP, timeout=60)
        for thread in consumers:
            thread.join(60)
        assert not any(thread.is_alive() for thread in consumers + producers)
        assert failures == []
        assert mq.current_messages == 0
    finally:
        mq.close()

    seen: Counter[tuple[int, int]] = Counter()
    for how, messages in got.items():
        last: dict[tuple[int, int], int] = defaultdict(lambda: -1)
        for m in messages:
            seen[m.producer, m.seq] += 1
            if m.reported_priority >= 0:
                assert m.reported_priority == m.priority, (how, m)
            assert m.seq > last[m.producer, m.priority], (how, m)
            last[m.producer, m.priority] = m.seq
    assert set(seen) == {(p, s) for p in range(PRODUCERS) for s in range(THREAD_MESSAGES)}
    assert max(seen.values()) == 1
