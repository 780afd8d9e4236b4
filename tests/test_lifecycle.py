"""Closing, garbage collection and unlinking."""

from __future__ import annotations

import gc
import os
import sys
import warnings

import pytest

import posixq
from posixq import MessageQueue, MessageQueueError, QueueClosedError


def holds_queue(fd: int, name: str) -> bool:
    """Whether descriptor ``fd`` of this process is queue ``name``."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == name
    except FileNotFoundError:
        return False


AFTER_CLOSE = {
    "get": lambda mq: mq.get(),
    "get timeout=0": lambda mq: mq.get(timeout=0),
    "get_with_priority": lambda mq: mq.get_with_priority(),
    "get_into": lambda mq: mq.get_into(bytearray(64)),
    "get_many": lambda mq: mq.get_many(2),
    "put": lambda mq: mq.put(b"x"),
    "put timeout=0": lambda mq: mq.put(b"x", timeout=0),
    "put_many": lambda mq: mq.put_many([b"x", b"y"]),
    "fileno": lambda mq: mq.fileno(),
    "current_messages": lambda mq: mq.current_messages,
}


def test_close_is_idempotent(make_queue) -> None:
    """close() twice is fine; closed tells whether it was called."""
    mq = make_queue()
    fd = mq.fileno()
    assert not mq.closed
    mq.close()
    assert mq.closed
    mq.close()
    assert mq.closed
    assert not holds_queue(fd, mq.name)


@pytest.mark.parametrize("operation", AFTER_CLOSE.values(), ids=AFTER_CLOSE.keys())
def test_use_after_close_is_queue_closed_error(make_queue, operation) -> None:
    """Every use of a closed queue raises QueueClosedError, a ValueError naming the queue."""
    mq = make_queue()
    mq.put(b"left in the queue")
    mq.close()
    with pytest.raises(QueueClosedError) as caught:
        operation(mq)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, MessageQueueError)
    assert mq.name in str(caught.value)


def test_closed_queue_never_reaches_a_queue_opened_since(make_queue) -> None:
    """After close(), calls on the old object fail and never act on a queue opened since."""
    old = make_queue()
    old.close()
    new = make_queue()
    with pytest.raises(QueueClosedError):
        old.put(b"stray", timeout=0)
    assert new.current_messages == 0
    new.put(b"mine")
    with pytest.raises(QueueClosedError):
        old.get(timeout=0)
    assert new.get(timeout=0) == b"mine"


def test_context_manager_closes(make_queue) -> None:
    """Leaving a with block closes the queue and its descriptor, also on an exception."""
    with make_queue() as mq:
        fd = mq.fileno()
        assert holds_queue(fd, mq.name)
    assert mq.closed
    assert not holds_queue(fd, mq.name)

    other = make_queue()
    fd = other.fileno()

    def fail_inside() -> None:
        with other:
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_inside()
    assert other.closed
    assert not holds_queue(fd, other.name)


def abandon(name: str, cycle: bool) -> int:
    """Open queue ``name``, leave it unclosed to the GC, collect it; return its descriptor."""

    def open_and_drop() -> int:
        mq = MessageQueue(name, 1, 8)
        if cycle:
            mq.itself = mq  # type: ignore[attr-defined]
        return mq.fileno()

    fd = open_and_drop()
    gc.collect()
    return fd


@pytest.mark.parametrize("cycle", [False, True], ids=["dropped", "in a reference cycle"])
def test_collected_queue_warns_and_closes(queue_name, cycle) -> None:
    """An unclosed queue collected by the GC emits ResourceWarning and closes its descriptor."""
    with pytest.warns(ResourceWarning, match="unclosed queue"):
        fd = abandon(queue_name, cycle)
    assert not holds_queue(fd, queue_name)


def test_collected_queue_closes_even_where_warnings_are_errors(queue_name, monkeypatch) -> None:
    """With ResourceWarning turned into an error the descriptor is closed all the same."""
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        fd = abandon(queue_name, cycle=False)
    assert not holds_queue(fd, queue_name)
    assert [type(report.exc_value) for report in reported] == [ResourceWarning]


class TestUnlink:
    def test_module_level_unlink(self, make_queue, queue_name) -> None:
        """posixq.unlink(name) removes a queue without opening it."""
        make_queue(queue_name).close()
        posixq.unlink(queue_name)
        with pytest.raises(FileNotFoundError):
            MessageQueue(queue_name, create=False)

    def test_unlinking_a_missing_queue(self, queue_name) -> None:
        """Unlinking a queue that does not exist is a FileNotFoundError naming it."""
        with pytest.raises(FileNotFoundError) as caught:
            posixq.unlink(queue_name)
        assert isinstance(caught.value, MessageQueueError)
        assert queue_name in str(caught.value)

    def test_method_unlink_twice(self, make_queue) -> None:
        """MessageQueue.unlink() on an already unlinked queue is a FileNotFoundError."""
        mq = make_queue()
        mq.unlink()
        with pytest.raises(FileNotFoundError, match=mq.name):
            mq.unlink()

    def test_unlinked_queue_stays_usable_by_its_holders(self, make_queue, queue_name) -> None:
        """After unlink(), processes that hold the queue keep using it; the name is free."""
        mq = make_queue(queue_name)
        other = make_queue(queue_name)
        mq.put(b"before")
        mq.unlink()
        assert other.get(timeout=0) == b"before"
        other.put(b"after")
        assert mq.get(timeout=0) == b"after"
        with pytest.raises(FileNotFoundError):
            MessageQueue(queue_name, create=False)
        fresh = make_queue(queue_name)
        assert fresh.created
        mq.put(b"old queue only")
        assert fresh.current_messages == 0
