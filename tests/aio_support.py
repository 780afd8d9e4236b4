"""Helpers of the asyncio tests: event loops by name, a runner, tiny async queues."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from typing import Any, Awaitable, Callable, Iterator, TypeVar

import pytest
from support import unique_name, unlink_quietly

from posixq.aio import AsyncMessageQueue

T = TypeVar("T")

#: How far past its timeout an awaited call may end: generous, for loaded CI machines.
SLACK = 0.25


def _uvloop_loop() -> asyncio.AbstractEventLoop:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed")
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


#: Every event loop the asyncio tests run on, by name.
LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": _uvloop_loop,
}


def run(loop_name: str, main: Callable[[], Awaitable[T]], limit: float = 60) -> T:
    """Run ``main()`` on a new loop of kind ``loop_name`` and close the loop.

    Fails if the loop reported an error to its exception handler (a future
    whose exception nobody retrieved, a callback that raised...), and if
    ``main()`` takes longer than ``limit`` seconds.
    """
    loop = LOOPS[loop_name]()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))

    async def guarded() -> T:
        return await asyncio.wait_for(main(), limit)

    try:
        return loop.run_until_complete(guarded())
    finally:
        left = asyncio.all_tasks(loop)
        if left:
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.wait(left))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        gc.collect()
        assert not reported, f"the event loop reported errors: {reported}"


def epoll_watches(fd: int) -> list[str]:
    """The entries of this process's epoll sets that watch descriptor ``fd``.

    Both the default loop (through selectors.EpollSelector) and uvloop
    (through libuv) register a reader or writer in an epoll set, whose
    entries the kernel lists in /proc/self/fdinfo; an empty list means no
    loop of this process watches ``fd``.
    """
    inode = os.fstat(fd).st_ino
    found = []
    for name in os.listdir("/proc/self/fdinfo"):
        try:
            with open(f"/proc/self/fdinfo/{name}") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[:1] == ["tfd:"] and int(fields[1]) == fd and f"ino:{inode:x}" in fields:
                found.append(f"epoll fd {name}: {line}")
    return found


def skip_unless_available(loop_name: str) -> str:
    """``loop_name``, or a skip of the test if that loop is not installed."""
    if loop_name == "uvloop":
        pytest.importorskip("uvloop", reason="uvloop is not installed")
    return loop_name


@contextlib.contextmanager
def async_queues() -> Iterator[Callable[..., AsyncMessageQueue]]:
    """A factory of tiny async queues (4 messages of 64 bytes unless told otherwise).

    Each queue gets a unique name unless one is given, and is closed and
    unlinked when the block ends.
    """
    made: list[AsyncMessageQueue] = []
    names: list[str] = []

    def make(
        name: str | None = None,
        max_messages: int | None = 4,
        max_message_size: int | None = 64,
        **kwargs: Any,
    ) -> AsyncMessageQueue:
        if name is None:
            name = unique_name("aio")
        names.append(name)
        mq = AsyncMessageQueue(name, max_messages, max_message_size, **kwargs)
        made.append(mq)
        return mq

    try:
        yield make
    finally:
        for mq in made:
            mq.close()
        for name in names:
            unlink_quietly(name)
