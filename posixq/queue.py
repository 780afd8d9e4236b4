"""MessageQueue: a POSIX message queue, opened or created by name."""

from __future__ import annotations

import errno
import os
import warnings
from collections import deque
from time import monotonic
from types import TracebackType
from typing import Any, Iterable, Optional

from . import _arguments, _lowlevel, errors
from ._lowlevel import (
    NULL,
    new_receive_buffer,
    receive_within,
    send_within,
    timed_receive,
    timed_send,
    try_receive,
    try_send,
)
from .limits import read_sysctl
from .waiters import Call, Waiter, default_waiter

__all__ = ["MessageQueue", "unlink"]

_EAGAIN = -errno.EAGAIN
_ETIMEDOUT = -errno.ETIMEDOUT
_PRIORITY_MAX = _arguments.PRIORITY_MAX
# A get_many() buffer holds this many messages at most, and at most this
# many bytes (but always one message).
_BATCH_COUNT = 64
_BATCH_BYTES = 1 << 20


class MessageQueue:
    """A POSIX message queue shared by the processes that open it by name.

    The queue is created if it does not exist (unless ``create`` is false)
    and opened as it is if it does: :attr:`max_messages` and
    :attr:`max_message_size` then report the queue's real sizes, whatever
    was asked. Sizes left as None take the host's defaults
    (``fs.mqueue.msg_default`` and ``msgsize_default``) on creation.

    :param name: a slash followed by 1 to 255 characters, none of them a slash.
    :param max_messages: how many messages the queue holds before put() waits.
    :param max_message_size: the largest message, in bytes.
    :param waiter: how blocked calls wait (see :mod:`posixq.waiters`);
        by default :func:`~posixq.waiters.default_waiter` picks one.
    :param mode: permission bits of a queue this call creates, applied
        exactly (the umask does not narrow them). The default lets only
        this user read and write it.
    :param create: create the queue if it does not exist; if false, a
        missing queue raises :class:`~posixq.errors.QueueNotFoundError`.
    :param exclusive: fail with :class:`~posixq.errors.QueueExistsError`
        if the queue already exists.

    One queue object may be shared by threads (and greenlets): each call
    receives or sends a whole message of its own. Close it when done, or
    use it as a context manager; :meth:`unlink` removes the name from the
    system.
    """

    def __init__(
        self,
        name: str,
        max_messages: Optional[int] = None,
        max_message_size: Optional[int] = None,
        *,
        waiter: Optional[Waiter] = None,
        mode: int = 0o600,
        create: bool = True,
        exclusive: bool = False,
    ) -> None:
        self._closing = True  # until the descriptor is open
        self._number = -1  # the descriptor number this object owns; __del__ closes it
        encoded = _arguments.queue_name(name)
        max_messages = _arguments.queue_size("max_messages", max_messages)
        max_message_size = _arguments.queue_size("max_message_size", max_message_size)
        mode = _arguments.mode(mode)
        if waiter is None:
            waiter = default_waiter()
        elif not isinstance(waiter, Waiter):
            raise errors.ArgumentTypeError(
                f"waiter must be a posixq.waiters.Waiter such as SelectWaiter(), "
                f"not {type(waiter).__name__}"
            )
        if (max_messages is None) != (max_message_size is None):
            max_messages = max_messages or read_sysctl("msg_default")
            max_message_size = max_message_size or read_sysctl("msgsize_default")

        _lowlevel.reserve_placeholder(name)
        fd, created = _lowlevel.open_queue(
            encoded,
            create=bool(create),
            exclusive=bool(exclusive),
            nonblocking=not waiter.blocking,
            mode=mode,
            max_messages=max_messages,
            max_message_size=max_message_size,
        )
        try:
            attributes = _lowlevel.attributes(fd, name)
        except BaseException:
            _lowlevel.close(fd)
            raise
        self._fd = fd
        self._name = name
        self._max_messages = attributes.max_messages
        self._size = attributes.max_message_size
        self._created = created
        self._waiter = waiter
        self._first_wait = waiter.first_wait
        # (buffer, view) pairs for receiving, not in use. deque's pop and append are
        # atomic, and unlike a list's never reallocate as the pool empties and refills.
        self._buffers: deque[tuple[Any, Any]] = deque()
        self._batches: deque[_lowlevel.Batch] = deque()  # the same, for get_many()
        self._waiting: set[Call] = set()  # calls in a waiter, to wake on close()
        self._number = fd  # stays ours until __del__ (see close())
        self._closing = False
        waiter.attach(self)

    # -- what the queue is --------------------------------------------------

    @property
    def name(self) -> str:
        """The queue's name, as given."""
        return self._name

    @property
    def max_messages(self) -> int:
        """How many messages the queue holds (its real size, from mq_getattr)."""
        return self._max_messages

    @property
    def max_message_size(self) -> int:
        """The largest message the queue accepts, in bytes."""
        return self._size

    @property
    def current_messages(self) -> int:
        """How many messages are in the queue now."""
        return _lowlevel.attributes(self._fd, self._name).current_messages

    @property
    def owner(self) -> tuple[int, int]:
        """The queue's owner as (uid, gid), as the system reports it now.

        A queue opened by name may have been created by anyone allowed to;
        compare ``owner[0]`` with :func:`os.geteuid` to refuse a queue another
        user created first (or open with ``exclusive=True`` to create it).
        """
        status = os.fstat(self.fileno())
        return status.st_uid, status.st_gid

    @property
    def mode(self) -> int:
        """The queue's permission bits now, e.g. ``0o600``."""
        return os.fstat(self.fileno()).st_mode & 0o777

    @property
    def created(self) -> bool:
        """True if this object created the queue, False if it opened an existing one."""
        return self._created

    @property
    def waiter(self) -> Waiter:
        """The waiter that decides how blocked calls wait."""
        return self._waiter

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._closing

    def fileno(self) -> int:
        """The queue's descriptor, for select/poll/epoll; the queue keeps ownership."""
        if self._closing:
            raise errors.QueueClosedError(f"queue {self._name!r} is closed")
        return self._fd

    def __repr__(self) -> str:
        state = "closed" if self._closing else f"fd={self._fd}"
        return (
            f"<MessageQueue {self._name!r} max_messages={self._max_messages} "
            f"max_message_size={self._size} {state}>"
        )

    # -- receiving ----------------------------------------------------------

    def get(self, timeout: Optional[float] = None) -> bytes:
        """Take the oldest message of the highest priority from the queue.

        :param timeout: how long to wait while the queue is empty: None
            waits as long as it takes, 0 does not wait, more is seconds.
        :raises TimedOutError: the queue stayed empty for ``timeout`` seconds.
        :raises QueueClosedError: the queue was closed before or during the call.
        """
        # The hot path, _receive() written out: one C call when a message is queued.
        first_wait = self._first_wait
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
            first_wait = 0.0
        buffers = self._buffers
        try:
            pair = buffers.pop()
        except IndexError:
            pair = new_receive_buffer(self._size)
        buf, view = pair
        try:
            fd = self._fd
            size = self._size
            result = receive_within(fd, buf, size, NULL, first_wait)
            if result < 0:
                result = self._receive_blocked(result, fd, buf, size, NULL, timeout)
            message: bytes = view[:result]
            return message
        finally:
            buffers.append(pair)

    def get_with_priority(self, timeout: Optional[float] = None) -> tuple[bytes, int]:
        """Like :meth:`get`, and also return the message's priority."""
        buffers = self._buffers
        try:
            pair = buffers.pop()
        except IndexError:
            pair = new_receive_buffer(self._size)
        buf, view = pair
        priority = _lowlevel.new_priority()
        try:
            length = self._receive(buf, self._size, priority, timeout)
            return view[:length], priority[0]
        finally:
            buffers.append(pair)

    def get_into(self, buffer: Any, timeout: Optional[float] = None) -> tuple[int, int]:
        """Receive a message into ``buffer`` without a copy; return (length, priority).

        :param buffer: a writable bytes-like object (bytearray, memoryview,
            numpy array...) of at least :attr:`max_message_size` bytes; the
            message fills its first ``length`` bytes.
        """
        with _lowlevel.writable(buffer) as pointer:  # the export ends here (see readable())
            if len(pointer) < self._size:
                raise errors.InvalidArgumentError(
                    f"buffer of {len(pointer)} bytes is smaller than the largest message "
                    f"queue {self._name!r} may hold (max_message_size={self._size}); "
                    f"pass one of at least {self._size} bytes"
                )
            priority = _lowlevel.new_priority()
            return self._receive(pointer, self._size, priority, timeout), priority[0]

    def get_many(self, max_count: int, timeout: Optional[float] = None) -> list[bytes]:
        """Take up to ``max_count`` messages: wait for the first, take the rest if queued.

        The waiting and the timeout are those of :meth:`get`, for the first
        message only; the others are taken only if they are already in the
        queue, in the order get() would return them.
        """
        count = _arguments.count(max_count)
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
        batches = self._batches
        try:
            batch = batches.pop()
        except IndexError:
            capacity = max(1, min(_BATCH_COUNT, _BATCH_BYTES // self._size))
            batch = _lowlevel.Batch(capacity, self._size)
        try:
            taken = batch.receive(self._fd, count)
            if taken:
                messages = batch.messages(taken)
            else:
                if batch.error != _EAGAIN:
                    raise self._error(-batch.error, "get", timeout)
                first = self._receive(batch.first, self._size, NULL, timeout)
                messages = [batch.message(first)]
                if count > 1:
                    taken = batch.receive(self._fd, count - 1)
                    messages += batch.messages(taken)
            # Go on while the batch came back full; messages taken are
            # returned even if a later attempt fails.
            while taken == batch.capacity and len(messages) < count:
                taken = batch.receive(self._fd, count - len(messages))
                messages += batch.messages(taken)
            return messages
        finally:
            batches.append(batch)

    def _receive(self, buf: Any, size: int, priority: Any, timeout: Optional[float]) -> int:
        """Receive one message into ``buf``; return its length."""
        first_wait = self._first_wait
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
            first_wait = 0.0
        fd = self._fd
        result = receive_within(fd, buf, size, priority, first_wait)
        if result < 0:
            result = self._receive_blocked(result, fd, buf, size, priority, timeout)
        return result

    def _receive_blocked(
        self, result: int, fd: int, buf: Any, size: int, priority: Any, timeout: Optional[float]
    ) -> int:
        """The rest of a receive whose first attempt returned ``result`` < 0."""
        if result == _EAGAIN and timeout == 0:
            result = _ETIMEDOUT  # that attempt was the only one: no waiter needed
        elif result == _EAGAIN:
            result = self._wait(
                Call(
                    fd,
                    False,
                    lambda: try_receive(fd, buf, size, priority),
                    lambda seconds: timed_receive(fd, buf, size, priority, seconds),
                    self._is_closing,
                ),
                timeout,
            )
        if result < 0:
            raise self._error(-result, "get", timeout)
        return result

    # -- sending --------------------------------------------------------------

    def put(
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
        if type(message) is bytes:
            data: Any = message
        else:
            message = _arguments.message(message)
            if type(message) is not bytes:
                with _lowlevel.readable(message) as data:  # the export ends here (see readable())
                    self._send(data, len(message), _arguments.priority(priority), timeout)
                return
            data = message
        if type(priority) is not int or not 0 <= priority < _PRIORITY_MAX:
            priority = _arguments.priority(priority)
        # The hot path, _send() written out: one C call when the queue has room.
        first_wait = self._first_wait
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
            first_wait = 0.0
        fd = self._fd
        result = send_within(fd, data, len(message), priority, first_wait)
        if result < 0:
            self._send_blocked(result, fd, data, len(message), priority, timeout)

    def put_many(
        self,
        messages: Iterable[_arguments.Message],
        timeout: Optional[float] = None,
        *,
        priority: int = 0,
    ) -> None:
        """Add messages to the queue in order, waiting whenever it is full.

        Every message is checked before the first is sent, so a message of
        the wrong type or size sends nothing. ``timeout`` bounds the whole
        call; if it passes, :class:`TimedOutError` says in ``sent`` how many
        messages went out (the first ones, in order).
        """
        datas = _arguments.messages(messages)
        priority = _arguments.priority(priority)
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
        for data in datas:
            if len(data) > self._size:
                raise self._error(errno.EMSGSIZE, "put", timeout, len(data))
        if not datas:
            return
        deadline = None if timeout is None else monotonic() + timeout
        batch = _lowlevel.SendBatch(datas, priority)
        while True:
            batch.send(self._fd)
            if batch.done:
                return
            if batch.error != _EAGAIN:
                raise self._error(-batch.error, "put", timeout)
            remaining = None if deadline is None else max(0.0, deadline - monotonic())
            message = batch.next_message()
            try:
                self._send(message, len(message), priority, remaining)
            except errors.TimedOutError:
                error = self._error(errno.ETIMEDOUT, "put_many", timeout)
                error.args = (f"{error}; {batch.sent} of {len(datas)} messages were sent",)
                error.sent = batch.sent  # type: ignore[attr-defined]
                raise error from None
            batch.skip()

    def _send(self, data: Any, size: int, priority: int, timeout: Optional[float]) -> None:
        """Send the ``size`` bytes at ``data``."""
        first_wait = self._first_wait
        if timeout is not None:
            timeout = _arguments.timeout(timeout)
            first_wait = 0.0
        fd = self._fd
        result = send_within(fd, data, size, priority, first_wait)
        if result < 0:
            self._send_blocked(result, fd, data, size, priority, timeout)

    def _send_blocked(
        self, result: int, fd: int, data: Any, size: int, priority: int, timeout: Optional[float]
    ) -> None:
        """The rest of a send whose first attempt returned ``result`` < 0."""
        if result == _EAGAIN and timeout == 0:
            result = _ETIMEDOUT  # that attempt was the only one: no waiter needed
        elif result == _EAGAIN:
            result = self._wait(
                Call(
                    fd,
                    True,
                    lambda: try_send(fd, data, size, priority),
                    lambda seconds: timed_send(fd, data, size, priority, seconds),
                    self._is_closing,
                ),
                timeout,
            )
        if result < 0:
            raise self._error(-result, "put", timeout, size)

    # -- waiting and errors -------------------------------------------------

    def _wait(self, call: Call, timeout: Optional[float]) -> int:
        waiting = self._waiting
        waiting.add(call)
        try:
            return self._waiter.complete(call, timeout)
        finally:
            waiting.discard(call)

    def _is_closing(self) -> bool:
        return self._closing

    def _error(
        self, err: int, operation: str, timeout: Optional[float], size: int = 0
    ) -> errors.MessageQueueError:
        name = self._name
        if err == errno.ETIMEDOUT:
            state = "empty" if operation.startswith("get") else "full"
            how_long = (
                f"stayed {state} for {timeout:g} s"
                if timeout
                else (f"was {state} and timeout=0 does not wait")
            )
            return errors.TimedOutError(
                f"{operation}() on queue {name!r} timed out: the queue {how_long}"
            )
        if err == errno.EMSGSIZE and operation == "put":
            return errors.MessageTooLargeError(
                f"message of {size} bytes is larger than queue {name!r} accepts "
                f"(max_message_size={self._size}); nothing was sent"
            )
        return errors.call_error(err, name, operation)

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        """Close this process's descriptor of the queue; calling it again does nothing.

        The queue and its messages stay in the system until :meth:`unlink`.
        Calls waiting on this object in other threads or greenlets end with
        :class:`~posixq.errors.QueueClosedError`. The queue is released at
        once, but its descriptor number stays reserved (on ``/dev/null``)
        until this object is garbage-collected, so that a call still running
        in another thread can never act on a file that reused the number.
        """
        if self._closing:
            return
        self._closing = True
        fd, self._fd = self._fd, -1
        if self._waiting:
            error = errors.QueueClosedError(f"queue {self._name!r} was closed while waiting")
            for call in list(self._waiting):
                if call.cancel is not None:
                    call.cancel(error)
        _lowlevel.retire(fd)

    def unlink(self) -> None:
        """Remove the queue's name from the system.

        Processes that have it open keep using it; its memory is freed when
        the last of them closes it. A new queue of the same name can be
        created at once.
        """
        unlink(self._name)

    def __enter__(self) -> MessageQueue:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Nothing can be running on this object any more: free the number.
        if self._number < 0:
            return
        try:
            if not self._closing:
                warnings.warn(
                    f"unclosed queue {self!r}", ResourceWarning, source=self, stacklevel=2
                )
        finally:  # also where warnings are errors, as Python's own files do
            self._closing = True
            _lowlevel.close(self._number)
            self._number = -1


def unlink(name: str) -> None:
    """Remove queue ``name`` from the system without opening it.

    :raises QueueNotFoundError: no queue has that name.
    """
    _lowlevel.unlink(_arguments.queue_name(name))
