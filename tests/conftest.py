"""Fixtures shared by the test suite.

Every queue a test creates gets a unique name and is unlinked when the test
ends, whether it passed or not; at the end of the session the suite checks
that none of the names it handed out still exists.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterator

import pytest
from aio_support import LOOPS, async_queues, skip_unless_available
from support import HANDED_OUT, WAITERS, unique_name, unlink_quietly

import posixq
from posixq.waiters import Waiter


@pytest.fixture(params=list(WAITERS))
def waiter_name(request: pytest.FixtureRequest) -> str:
    """The name of each waiter in turn ("select", "gevent", "blocking")."""
    if request.param == "gevent":
        pytest.importorskip("gevent", reason="GeventWaiter needs gevent")
    return str(request.param)


@pytest.fixture
def waiter(waiter_name: str) -> Waiter:
    """A fresh instance of each waiter in turn."""
    return WAITERS[waiter_name]()


@pytest.fixture
def queue_name() -> Iterator[str]:
    """A unique queue name, unlinked after the test."""
    name = unique_name()
    yield name
    unlink_quietly(name)


@pytest.fixture
def make_queue() -> Iterator[Callable[..., posixq.MessageQueue]]:
    """A factory of tiny queues (4 messages of 64 bytes unless told otherwise).

    Each queue gets a unique name unless one is given, and is closed and
    unlinked after the test.
    """
    made: list[posixq.MessageQueue] = []
    names: list[str] = []

    def make(
        name: str | None = None,
        max_messages: int | None = 4,
        max_message_size: int | None = 64,
        **kwargs: object,
    ) -> posixq.MessageQueue:
        if name is None:
            name = unique_name()
        names.append(name)
        mq = posixq.MessageQueue(name, max_messages, max_message_size, **kwargs)  # type: ignore[arg-type]
        made.append(mq)
        return mq

    yield make
    for mq in made:
        mq.close()
    for name in names:
        unlink_quietly(name)


@pytest.fixture
def queue(make_queue: Callable[..., posixq.MessageQueue], waiter: Waiter) -> posixq.MessageQueue:
    """A tiny queue (4 x 64 bytes) using each waiter in turn."""
    return make_queue(waiter=waiter)


@pytest.fixture(params=list(LOOPS))
def loop_name(request: pytest.FixtureRequest) -> str:
    """The name of each event loop in turn ("asyncio", "uvloop")."""
    return skip_unless_available(request.param)


@pytest.fixture
def make_aqueue() -> Iterator[Callable[..., Any]]:
    """A factory of tiny async queues, closed and unlinked after the test."""
    with async_queues() as make:
        yield make


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a queue the tests created still exists."""
    left = []
    for name in HANDED_OUT:
        try:
            posixq.MessageQueue(name, create=False).close()
        except (FileNotFoundError, posixq.MessageQueueError):
            continue
        left.append(name)
        unlink_quietly(name)
    if left:
        print(f"\nqueues left behind by the tests (now unlinked): {left}", file=sys.stderr)
        session.exitstatus = 1
