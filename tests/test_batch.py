"""get_many() and put_many(): several messages per call, same rules as get() and put()."""

from __future__ import annotations

import threading
import time

import pytest

from posixq import MessageQueueError, MessageTooLargeError, TimedOutError


def put_later(mq, messages, delay: float) -> threading.Thread:
    """Put ``messages`` into ``mq`` from another thread after ``delay`` seconds."""

    def run() -> None:
        time.sleep(delay)
        for message in messages:
            mq.put(message)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


class TestGetMany:
    def test_takes_what_is_queued_up_to_max_count(self, make_queue) -> None:
        """get_many() returns the queued messages in order, at most max_count of them."""
        mq = make_queue()
        for message in (b"a", b"", b"\0c"):
            mq.put(message)
        assert mq.get_many(2, timeout=0) == [b"a", b""]
        assert mq.get_many(10, timeout=0) == [b"\0c"]
        assert mq.current_messages == 0

    def test_order_is_that_of_get(self, make_queue) -> None:
        """Higher priorities first, FIFO within one, as get() would return them."""
        mq = make_queue()
        mq.put(b"a")
        mq.put(b"b", priority=2)
        mq.put(b"c")
        mq.put(b"d", priority=2)
        assert mq.get_many(4, timeout=0) == [b"b", b"d", b"a", b"c"]

    def test_full_size_messages(self, make_queue) -> None:
        """Messages of exactly max_message_size bytes come back whole."""
        mq = make_queue(max_messages=4, max_message_size=64)
        sent = [bytes([i]) * 64 for i in range(4)]
        for message in sent:
            mq.put(message)
        assert mq.get_many(4, timeout=0) == sent

    def test_waits_only_for_the_first(self, queue) -> None:
        """On an empty queue get_many() returns as soon as one message arrives."""
        thread = put_later(queue, [b"first"], 0.1)
        try:
            start = time.monotonic()
            assert queue.get_many(4, timeout=5) == [b"first"]
            assert time.monotonic() - start < 2
        finally:
            thread.join()

    def test_empty_queue_times_out(self, queue) -> None:
        """get_many() raises TimedOutError once its timeout passes with the queue empty."""
        start = time.monotonic()
        with pytest.raises(TimedOutError):
            queue.get_many(3, timeout=0.2)
        assert 0.2 <= time.monotonic() - start < 1.5
        with pytest.raises(TimedOutError):
            queue.get_many(3, timeout=0)

    @pytest.mark.parametrize(
        ("max_count", "error"),
        [(0, ValueError), (-1, ValueError), ("3", TypeError), (True, TypeError)],
    )
    def test_bad_max_count(self, make_queue, max_count, error) -> None:
        """max_count must be an int of at least 1; nothing is taken otherwise."""
        mq = make_queue()
        mq.put(b"x")
        with pytest.raises(error, match="max_count") as caught:
            mq.get_many(max_count, timeout=0)
        assert isinstance(caught.value, MessageQueueError)
        assert mq.current_messages == 1


class TestPutMany:
    def test_sends_in_order(self, make_queue) -> None:
        """put_many() sends every message, in order, whatever its bytes-like type."""
        mq = make_queue()
        mq.put_many([b"a", "é", bytearray(b"\0"), memoryview(b"d")])
        assert mq.get_many(4, timeout=0) == [b"a", "é".encode(), b"\0", b"d"]

    def test_accepts_any_iterable_and_a_priority(self, make_queue) -> None:
        """A generator works, and every message gets the priority given."""
        mq = make_queue()
        mq.put(b"low")
        mq.put_many((bytes([65 + i]) for i in range(2)), priority=4)
        assert [mq.get_with_priority(timeout=0) for _ in range(3)] == [
            (b"A", 4),
            (b"B", 4),
            (b"low", 0),
        ]

    def test_nothing_to_send(self, make_queue) -> None:
        """An empty batch sends nothing and does not fail."""
        mq = make_queue()
        mq.put_many([])
        assert mq.current_messages == 0

    def test_wrong_type_anywhere_sends_nothing(self, make_queue) -> None:
        """A message of the wrong type, even the last, fails the batch before any is sent."""
        mq = make_queue()
        with pytest.raises(TypeError) as caught:
            mq.put_many([b"ok", b"fine", 5])
        assert isinstance(caught.value, MessageQueueError)
        assert mq.current_messages == 0

    def test_too_large_anywhere_sends_nothing(self, make_queue) -> None:
        """A message over max_message_size fails the batch before any is sent."""
        mq = make_queue(max_message_size=64)
        with pytest.raises(MessageTooLargeError, match="65") as caught:
            mq.put_many([b"ok", b"x" * 65, b"fine"])
        assert "max_message_size=64" in str(caught.value)
        assert mq.current_messages == 0

    def test_bad_priority_sends_nothing(self, make_queue) -> None:
        """An out-of-range priority fails before any message is sent."""
        mq = make_queue()
        with pytest.raises(ValueError, match="priority"):
            mq.put_many([b"a", b"b"], priority=-1)
        assert mq.current_messages == 0

    @pytest.mark.parametrize("timeout", [0, 0.2])
    def test_timed_out_error_says_how_many_went(self, queue, timeout) -> None:
        """When the queue stays full, TimedOutError.sent counts the first messages sent."""
        sent = [bytes([65 + i]) for i in range(6)]
        start = time.monotonic()
        with pytest.raises(TimedOutError) as caught:
            queue.put_many(sent, timeout=timeout)
        assert time.monotonic() - start >= timeout
        assert caught.value.sent == 4
        assert "4 of 6" in str(caught.value)
        assert queue.get_many(6, timeout=0) == sent[:4]

    def test_waits_while_full_until_all_are_sent(self, queue) -> None:
        """put_many() of more than the queue holds waits for room and sends them all, in order."""
        sent = [str(i).encode() for i in range(20)]
        received: list[bytes] = []

        def consume() -> None:
            while len(received) < len(sent):
                received.extend(queue.get_many(3, timeout=5))

        consumer = threading.Thread(target=consume)
        consumer.start()
        try:
            queue.put_many(sent, timeout=5)
        finally:
            consumer.join()
        assert received == sent
