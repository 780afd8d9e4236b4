"""What put() sends, get() returns: exact bytes, accepted types, sizes, priorities."""

from __future__ import annotations

import array
import os

import pytest

import posixq
from posixq import MessageQueueError, MessageTooLargeError

PRIORITY_MAX = os.sysconf("SC_MQ_PRIO_MAX")

EXACT = {
    "empty": b"",
    "one NUL": b"\0",
    "NULs inside and at the ends": b"\0a\0\0b\0",
    "every byte value below 64": bytes(range(64)),
    "high bytes": b"\xff\xfe\x80",
}

# Bytes-like objects put() accepts, with the bytes get() must return.
_RAW = bytes(range(48))
BUFFERS = {
    "bytearray": bytearray(b"abc\0def"),
    "memoryview": memoryview(b"abc\0def"),
    "memoryview slice": memoryview(b"--abc--")[2:5],
    "non-contiguous memoryview": memoryview(_RAW)[::3],
    "2-D memoryview": memoryview(_RAW).cast("B", (6, 8)),
    "array of bytes": array.array("B", b"abc\0def"),
    "array of ints": array.array("i", [1, -2, 3]),
    "array of doubles": array.array("d", [0.5, -1.25]),
}

NOT_MESSAGES = {
    "int": 5,
    "None": None,
    "object": object(),
    "list of ints": [1, 2, 3],
    "float": 1.5,
}


@pytest.mark.parametrize("message", EXACT.values(), ids=EXACT.keys())
def test_bytes_come_back_exactly(make_queue, message) -> None:
    """get() returns exactly the bytes put() sent, NULs and empty messages included."""
    mq = make_queue()
    mq.put(message)
    assert mq.get(timeout=0) == message


def test_message_of_exactly_max_message_size(make_queue) -> None:
    """A message of exactly max_message_size bytes goes through whole."""
    mq = make_queue(max_message_size=64)
    message = os.urandom(64)
    mq.put(message)
    assert mq.get(timeout=0) == message


def test_str_is_sent_as_utf8(make_queue) -> None:
    """A str is sent as its UTF-8 encoding."""
    mq = make_queue()
    mq.put("héllo ☃ \0 end")
    assert mq.get(timeout=0) == "héllo ☃ \0 end".encode()


@pytest.mark.parametrize("message", BUFFERS.values(), ids=BUFFERS.keys())
def test_bytes_like_objects_are_accepted(make_queue, message) -> None:
    """bytearray, memoryview (strided or not), array.array are sent as their bytes."""
    mq = make_queue()
    mq.put(message)
    assert mq.get(timeout=0) == memoryview(message).tobytes()


@pytest.mark.parametrize("message", NOT_MESSAGES.values(), ids=NOT_MESSAGES.keys())
def test_other_objects_are_a_type_error(make_queue, message) -> None:
    """A message that is neither str nor bytes-like is a TypeError and sends nothing."""
    mq = make_queue()
    with pytest.raises(TypeError, match="message must be bytes") as caught:
        mq.put(message)
    assert isinstance(caught.value, MessageQueueError)
    assert mq.current_messages == 0


@pytest.mark.parametrize(
    "message", [b"x" * 65, bytearray(100), "é" * 33], ids=["bytes", "bytearray", "str"]
)
def test_too_large_message_names_both_sizes_and_sends_nothing(make_queue, message) -> None:
    """A message over max_message_size raises MessageTooLargeError naming both sizes."""
    mq = make_queue(max_message_size=64)
    mq.put(b"already there")
    size = len(message.encode() if isinstance(message, str) else message)
    with pytest.raises(MessageTooLargeError) as caught:
        mq.put(message)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, MessageQueueError)
    text = str(caught.value)
    assert f"{size} bytes" in text
    assert "max_message_size=64" in text
    assert mq.name in text
    assert mq.current_messages == 1
    assert mq.get(timeout=0) == b"already there"


def test_higher_priorities_first_fifo_within_one(make_queue) -> None:
    """Messages come out by priority, highest first, and in sending order within one."""
    mq = make_queue(max_messages=8)
    sent = [(b"a", 0), (b"b", 5), (b"c", 1), (b"d", 5), (b"e", 0), (b"f", PRIORITY_MAX - 1)]
    for message, priority in sent:
        mq.put(message, priority=priority)
    received = [mq.get(timeout=0) for _ in sent]
    assert received == [b"f", b"b", b"d", b"c", b"a", b"e"]


def test_get_with_priority_returns_the_priority(make_queue) -> None:
    """get_with_priority() returns the message and the priority it was sent with."""
    mq = make_queue()
    mq.put(b"low")
    mq.put("high", priority=PRIORITY_MAX - 1)
    mq.put(b"mid", priority=7)
    assert mq.get_with_priority(timeout=0) == (b"high", PRIORITY_MAX - 1)
    assert mq.get_with_priority(timeout=0) == (b"mid", 7)
    assert mq.get_with_priority(timeout=0) == (b"low", 0)


@pytest.mark.parametrize("priority", [-1, PRIORITY_MAX, PRIORITY_MAX + 1, -(2**40), 2**64])
def test_priority_out_of_range_is_a_value_error(make_queue, priority) -> None:
    """A priority outside 0..SC_MQ_PRIO_MAX-1 is a ValueError naming the range; nothing is sent."""
    mq = make_queue()
    with pytest.raises(ValueError, match=str(PRIORITY_MAX - 1)) as caught:
        mq.put(b"x", priority=priority)
    assert isinstance(caught.value, MessageQueueError)
    assert mq.current_messages == 0


@pytest.mark.parametrize("priority", [1.0, "1", None, True])
def test_priority_of_another_type_is_a_type_error(make_queue, priority) -> None:
    """A priority that is not an int is a TypeError; nothing is sent."""
    mq = make_queue()
    with pytest.raises(TypeError) as caught:
        mq.put(b"x", priority=priority)
    assert isinstance(caught.value, MessageQueueError)
    assert mq.current_messages == 0


class TestGetInto:
    """get_into() receives into the caller's buffer, without a copy."""

    def test_into_a_bytearray(self, make_queue) -> None:
        """The message fills the start of the buffer; length and priority come back."""
        mq = make_queue()
        mq.put(b"\0payload\0", priority=3)
        buffer = bytearray(b"#" * 64)
        assert mq.get_into(buffer, timeout=0) == (9, 3)
        assert buffer[:9] == b"\0payload\0"
        assert buffer[9:] == b"#" * 55

    def test_into_a_memoryview_writes_the_underlying_buffer(self, make_queue) -> None:
        """A memoryview slice is written in place, at its own offset."""
        mq = make_queue()
        mq.put(b"abc")
        backing = bytearray(100)
        assert mq.get_into(memoryview(backing)[10:80], timeout=0) == (3, 0)
        assert backing[10:13] == b"abc"
        assert backing[:10] == bytes(10)

    def test_full_size_message(self, make_queue) -> None:
        """A message of max_message_size bytes fits a buffer of exactly that size."""
        mq = make_queue(max_message_size=64)
        message = os.urandom(64)
        mq.put(message)
        buffer = bytearray(64)
        assert mq.get_into(buffer, timeout=0) == (64, 0)
        assert buffer == message

    def test_too_small_buffer_is_a_value_error(self, make_queue) -> None:
        """A buffer under max_message_size is refused, naming both sizes; nothing is taken."""
        mq = make_queue(max_message_size=64)
        mq.put(b"x")
        with pytest.raises(ValueError, match="max_message_size=64") as caught:
            mq.get_into(bytearray(63))
        assert isinstance(caught.value, MessageQueueError)
        assert "63 bytes" in str(caught.value)
        assert "max_message_size=64" in str(caught.value)
        assert mq.current_messages == 1

    @pytest.mark.parametrize(
        "buffer",
        [bytes(64), memoryview(bytearray(64)).toreadonly(), memoryview(bytearray(128))[::2]],
        ids=["bytes", "read-only memoryview", "strided memoryview"],
    )
    def test_unusable_buffer_is_a_type_error(self, make_queue, buffer) -> None:
        """A read-only or non-contiguous buffer is a TypeError; nothing is taken."""
        mq = make_queue()
        mq.put(b"x")
        with pytest.raises(TypeError, match="writable") as caught:
            mq.get_into(buffer)
        assert isinstance(caught.value, MessageQueueError)
        assert mq.current_messages == 1

    def test_empty_queue_times_out(self, make_queue) -> None:
        """timeout=0 on an empty queue raises TimedOutError and leaves the buffer alone."""
        mq = make_queue()
        buffer = bytearray(b"#" * 64)
        with pytest.raises(posixq.TimedOutError):
            mq.get_into(buffer, timeout=0)
        assert buffer == b"#" * 64
