"""asyncio: :class:`AsyncMessageQueue`, whose waits never block the event loop.

An :class:`AsyncMessageQueue` owns a :class:`~posixq.MessageQueue` with a
non-blocking descriptor and drives it from the running event loop. Every
call first makes one attempt through the synchronous queue with
``timeout=0``: it succeeds, fails, or (with
:class:`~posixq.errors.TimedOutError`) says the queue is empty (get) or full
(put). Only then does the task wait, on the loop's reader (or writer)
callback for the queue's descriptor, and try again when the loop reports
it ready. No call starts a thread or makes a system call that blocks.

The timeout rule is the synchronous one, measured on the loop's clock
(``loop.time()``, as :func:`asyncio.wait_for` and :func:`asyncio.timeout`
do): ``None`` waits as long as it takes, ``0`` makes the single attempt,
more is the longest wait in seconds. An invalid timeout raises before
anything is received or sent.

Waiting is cancellation-safe. A message is taken from the queue only by an
attempt, and an attempt never awaits, so a task cancelled while it waits
(by :func:`asyncio.wait_for`, :func:`asyncio.timeout`, a task group...) has
taken nothing: every message stays in the queue for another reader. The
cancelled task leaves nothing registered on the loop.

>>> import asyncio
>>> from posixq.aio import AsyncMessageQueue
>>> async def main():
...     async with AsyncMessageQueue("/posixq-aio-doc", 2, 16) as mq:
...         await mq.put("hello")
...         message = await mq.get(timeout=1)
...         mq.unlink()
...         return message
>>> asyncio.run(main())
b'hello'
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Callable, Iterable, Optional, TypeVar

from . import _arguments
from .errors import ArgumentTypeError, InvalidArgumentError, QueueClosedError, TimedOutError
from .queue import MessageQueue
from .waiters import SelectWaiter

__all__ = ["AsyncMessageQueue"]

_T = TypeVar("_T")


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Readiness:
    """The tasks waiting for one queue to become readable (or writable).

    One reader (or writer) callback is registered on the event loop while
    at least one task waits, however many do, and removed as soon as none
    does. Each time the loop reports the descriptor ready, the callback
    wakes the task that has waited longest; the others go on waiting.
    Readiness is level-triggered: if the woken task is cancelled before it
    makes its attempt, the descriptor is still ready at the next turn of
    the loop and the next task is woken, so no wake-up is lost.
    """

    __slots__ = ("_fd", "_futures", "_loop", "_writing")

    def __init__(self, writing: bool) -> None:
        self._writing = writing
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._fd = -1
        # An insertion-ordered set: the longest waiting first.
        self._futures: dict[asyncio.Future[None], None] = {}

    def add(self, loop: asyncio.AbstractEventLoop, fd: int) -> asyncio.Future[None]:
        """A future that ``_ready`` (or ``close``) completes; the caller must ``discard`` it."""
        if self._loop is not loop:
            if self._loop is not None:
                if not self._loop.is_closed():
                    raise RuntimeError(
                        "tasks of another event loop are waiting on this queue; "
                        "use an AsyncMessageQueue from one event loop at a time"
                    )
                self._futures.clear()  # left behind by a loop closed while they waited
            if self._writing:
                loop.add_writer(fd, self._ready)
            else:
                loop.add_reader(fd, self._ready)
            self._loop = loop
            self._fd = fd
        future = loop.create_future()
        self._futures[future] = None
        return future

    def discard(self, future: asyncio.Future[None]) -> None:
        """Forget ``future``; unregister the callback if no task waits any more."""
        futures = self._futures
        futures.pop(future, None)
        if not futures and self._loop is not None:
            self._unregister()

    def close(self, error: Callable[[], BaseException]) -> None:
        """Unregister the callback and fail every waiting future with ``error()``."""
        futures = list(self._futures)
        self._futures.clear()
        if self._loop is not None:
            self._unregister()
        for future in futures:
            if not future.done():
                future.set_exception(error())

    def _ready(self) -> None:
        futures = self._futures
        while futures:
            future = next(iter(futures))
            del futures[future]
            if not future.done():  # a cancelled one is skipped
                future.set_result(None)
                break
        if not futures:
            self._unregister()

    def _unregister(self) -> None:
        loop = self._loop
        self._loop = None
        if loop is None or loop.is_closed():
            return
        if self._writing:
            loop.remove_writer(self._fd)
        else:
            loop.remove_reader(self._fd)


class AsyncMessageQueue:
    """A POSIX message queue for asyncio: awaitable calls that never block the loop.

    The parameters are those of :class:`~posixq.MessageQueue`, without
    ``waiter``: the queue opens its descriptor non-blocking, and its tasks
    wait on the running loop's reader and writer callbacks.

    :param name: a slash followed by 1 to 255 characters, none of them a slash.
    :param max_messages: how many messages the queue holds before put() waits.
    :param max_message_size: the largest message, in bytes.
    :param mode: permission bits of a queue this call creates.
    :param create: create the queue if it does not exist; if false, a
        missing queue raises :class:`~posixq.errors.QueueNotFoundError`.
    :param exclusive: fail with :class:`~posixq.errors.QueueExistsError`
        if the queue already exists.

    Any number of tasks may wait on one queue; each call receives or sends
    a whole message of its own. Each time the loop reports the queue
    ready, one waiting task is woken, the longest waiting first. Use the
    queue from one event loop at a time, in that loop's thread. Close it
    when done, or use it with ``async with``; ``async for message in
    queue`` receives messages until the queue is closed.
    :meth:`from_queue` adopts an open :class:`~posixq.MessageQueue`.
    """

    def __init__(
        self,
        name: str,
        max_messages: Optional[int] = None,
        max_message_size: Optional[int] = None,
        *,
        mode: int = 0o600,
        create: bool = True,
        exclusive: bool = False,
    ) -> None:
        self._adopt(
            MessageQueue(
                name,
                max_messages,
                max_message_size,
                waiter=SelectWaiter(),
                mode=mode,
                create=create,
                exclusive=exclusive,
            )
        )

    @classmethod
    def from_queue(cls, queue: MessageQueue) -> AsyncMessageQueue:
        """Drive an open :class:`~posixq.MessageQueue` from asyncio.

        The new object owns ``queue`` from then on: close it through the
        new object, which removes its callbacks from the loop before it
        closes ``queue``. ``queue`` must use a waiter with a non-blocking
        descriptor (any but :class:`~posixq.waiters.BlockingWaiter`), since
        the event loop watches the descriptor for readiness.

        :raises ArgumentTypeError: ``queue`` is not a MessageQueue.
        :raises QueueClosedError: ``queue`` is closed.
        :raises InvalidArgumentError: ``queue`` has a blocking descriptor.
        """
        if not isinstance(queue, MessageQueue):
            raise ArgumentTypeError(
                f"from_queue() needs a posixq.MessageQueue, not {type(queue).__name__}"
            )
        if queue.closed:
            raise QueueClosedError(f"queue {queue.name!r} is closed")
        if queue.waiter.blocking:
            raise InvalidArgumentError(
                f"{queue!r} uses {type(queue.waiter).__name__}, whose descriptor blocks; "
                f"asyncio needs a non-blocking one: open it with waiter=SelectWaiter()"
            )
        self = cls.__new__(cls)
        self._adopt(queue)
        return self

    def _adopt(self, queue: MessageQueue) -> None:
        self._queue = queue
        self._readable = _Readiness(writing=False)
        self._writable = _Readiness(writing=True)

    # -- what the queue is --------------------------------------------------

    @property
    def queue(self) -> MessageQueue:
        """The synchronous queue this object drives (and owns)."""
        return self._queue

    @property
    def name(self) -> str:
        """The queue's name, as given."""
        return self._queue.name

    @property
    def max_messages(self) -> int:
        """How many messages the queue holds (its real size, from mq_getattr)."""
        return self._queue.max_messages

    @property
    def max_message_size(self) -> int:
        """The largest message the queue accepts, in bytes."""
        return self._queue.max_message_size

    @property
    def current_messages(self) -> int:
        """How many messages are in the queue now."""
        return self._queue.current_messages

    @property
    def created(self) -> bool:
        """True if this object (or the adopted queue) created the queue."""
        return self._queue.created

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._queue.closed

    def fileno(self) -> int:
        """The queue's descriptor; the queue keeps ownership.

        :raises QueueClosedError: the queue is closed.
        """
        return self._queue.fileno()

    def __repr__(self) -> str:
        queue = self._queue
        state = "closed" if queue.closed else f"fd={queue.fileno()}"
        return (
            f"<AsyncMessageQueue {queue.name!r} max_messages={queue.max_messages} "
            f"max_message_size={queue.max_message_size} {state}>"
        )

    # -- receiving ----------------------------------------------------------

    async def get(self, timeout: Optional[float] = None) -> bytes:
        """Take the oldest message of the highest priority from the queue.

        :param timeout: how long to wait while the queue is empty: None
            waits as long as it takes, 0 does not wait, more is seconds.
        :raises TimedOutError: the queue stayed empty for ``timeout`` seconds.
        :raises QueueClosedError: the queue was closed before or during the call.
        """
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
        queue = self._queue
        try:
            return queue.get(0)
        except TimedOutError:
            if timeout == 0:
                raise
        return await self._complete(queue.get, self._readable, timeout, "get")

    async def get_with_priority(self, timeout: Optional[float] = None) -> tuple[bytes, int]:
        """Like :meth:`get`, and also return the message's priority."""
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
        queue = self._queue
        try:
            return queue.get_with_priority(0)
        except TimedOutError:
            if timeout == 0:
                raise
        return await self._complete(queue.get_with_priority, self._readable, timeout, "get")

    async def get_into(self, buffer: Any, timeout: Optional[float] = None) -> tuple[int, int]:
        """Receive a message into ``buffer`` without a copy; return (length, priority).

        :param buffer: a writable bytes-like object of at least
            :attr:`max_message_size` bytes; the message fills its first
            ``length`` bytes. Nothing is written to it unless a message is
            received.
        """
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
        queue = self._queue
        try:
            return queue.get_into(buffer, 0)
        except TimedOutError:
            if timeout == 0:
                raise

        def attempt(_: float) -> tuple[int, int]:
            return queue.get_into(buffer, 0)

        return await self._complete(attempt, self._readable, timeout, "get")

    async def get_many(self, max_count: int, timeout: Optional[float] = None) -> list[bytes]:
        """Take up to ``max_count`` messages: wait for the first, take the rest if queued.

        The waiting and the timeout are those of :meth:`get`, for the first
        message only; the others are taken only if they are already in the
        queue, in the order get() would return them.
        """
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
        queue = self._queue
        try:
            return queue.get_many(max_count, 0)
        except TimedOutError:
            if timeout == 0:
                raise

        def attempt(_: float) -> list[bytes]:
            return queue.get_many(max_count, 0)

        return await self._complete(attempt, self._readable, timeout, "get_many")

    # -- sending --------------------------------------------------------------

    async def put(
        self, message: _arguments.Message, timeout: Optional[float] = None, *, priority: int = 0
    ) -> None:
        """Add a message to the queue.

        :param message: bytes or any bytes-like object; a str is sent as UTF-8.
        :param timeout: how long to wait while the queue is full: None
            waits as long as it takes, 0 does not wait, more is seconds.
        :param priority: 0 to ``MQ_PRIO_MAX - 1``; higher priorities are
            received first, equal ones in the order they were sent.
        :raises TimedOutError: the queue stayed full for ``timeout`` seconds.
        :raises MessageTooLargeError: the message is over :attr:`max_message_size`;
            nothing was sent.
        """
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
        queue = self._queue
        try:
            queue.put(message, 0, priority=priority)
            return
        except TimedOutError:
            if timeout == 0:
                raise

        def attempt(_: float) -> None:
            queue.put(message, 0, priority=priority)

        return await self._complete(attempt, self._writable, timeout, "put")

    async def put_many(
        self,
        messages: Iterable[_arguments.Message],
        timeout: Optional[float] = None,
        *,
        priority: int = 0,
    ) -> None:
        """Add messages to the queue in order, waiting whenever it is full.

        Every message is checked before the first is sent, so a message of
        the wrong type or size sends nothing. ``timeout`` bounds the whole
        call; if it passes, :class:`~posixq.errors.TimedOutError` says in
        ``sent`` how many messages went out (the first ones, in order). If
        the task is cancelled while it waits, the messages sent until then
        stay sent.
        """
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
        queue = self._queue
        datas = _arguments.messages(messages)  # once: an iterator cannot be read twice
        try:
            queue.put_many(datas, 0, priority=priority)
            return
        except TimedOutError as error:
            if timeout == 0:
                raise
            sent = error.sent or 0
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            await self._wait(loop, self._writable, deadline)
            try:
                queue.put_many(datas[sent:], 0, priority=priority)
                return
            except TimedOutError as error:
                sent += error.sent or 0
            if deadline is not None and loop.time() >= deadline:
                timed_out = self._timed_out("put_many", timeout)
                timed_out.args = (f"{timed_out}; {sent} of {len(datas)} messages were sent",)
                timed_out.sent = sent
                raise timed_out

    # -- waiting --------------------------------------------------------------

    async def _complete(
        self,
        attempt: Callable[[float], _T],
        readiness: _Readiness,
        timeout: Optional[float],
        operation: str,
    ) -> _T:
        """Wait and call ``attempt(0)`` until it does not time out, or ``timeout`` passes."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            await self._wait(loop, readiness, deadline)
            try:
                return attempt(0)
            except TimedOutError:
                pass
            if deadline is not None and loop.time() >= deadline:
                raise self._timed_out(operation, timeout)

    async def _wait(
        self, loop: asyncio.AbstractEventLoop, readiness: _Readiness, deadline: Optional[float]
    ) -> None:
        """Return when the queue may be ready, or at ``deadline`` (loop time)."""
        future = readiness.add(loop, self._queue.fileno())
        timer = None if deadline is None else loop.call_at(deadline, _wake, future)
        try:
            await future
        finally:
            if timer is not None:
                timer.cancel()
            readiness.discard(future)
            if future.done() and not future.cancelled():
                future.exception()  # retrieved, even if the task was cancelled meanwhile

    def _timed_out(self, operation: str, timeout: Optional[float]) -> TimedOutError:
        state = "empty" if operation.startswith("get") else "full"
        return TimedOutError(
            f"{operation}() on queue {self.name!r} timed out: "
            f"the queue stayed {state} for {timeout:g} s"
        )

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        """Close this process's descriptor of the queue; calling it again does nothing.

        Tasks waiting on this queue are woken with
        :class:`~posixq.errors.QueueClosedError`; the loop's callbacks on
        the descriptor are removed before it is closed. The queue and its
        messages stay in the system until :meth:`unlink`. Call it from the
        event loop's thread.
        """
        if self._queue.closed:
            return
        name = self._queue.name

        def error() -> BaseException:
            return QueueClosedError(f"queue {name!r} was closed while waiting")

        self._readable.close(error)
        self._writable.close(error)
        self._queue.close()

    def unlink(self) -> None:
        """Remove the queue's name from the system (see :meth:`MessageQueue.unlink`)."""
        self._queue.unlink()

    async def __aenter__(self) -> AsyncMessageQueue:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()

    def __aiter__(self) -> AsyncMessageQueue:
        return self

    async def __anext__(self) -> bytes:
        """The next message, waiting as long as it takes; the iteration ends on close()."""
        try:
            return await self.get()
        except QueueClosedError:
            raise StopAsyncIteration from None
