"""The thin layer over the compiled module: C results become Python values.

Everything that touches ``ffi`` or ``lib`` lives here. Calls that set up or
inspect a queue raise through :mod:`posixq.errors`; the per-message calls
(``try_receive``, ``try_send``, the timed and batch variants) are the C
functions themselves, returning a count or ``-errno``, because they run on
the hot path and their callers must tell "would block" from failure anyway.
"""

from __future__ import annotations

import errno
import os
from typing import Any, Callable, NamedTuple, Optional

try:
    from ._posixq_cffi import ffi, lib
except ImportError as exc:  # pragma: no cover - depends on how Python was started
    raise ImportError(
        f"posixq's compiled extension is missing from {os.path.dirname(__file__)}: this is "
        f"posixq's source tree, which Python imports first when started inside the "
        f"checkout; run from another directory (or with python -I), or build it in place "
        f"with pip install -e ."
    ) from exc

from . import errors  # after the extension: its absence is the error to report

__all__ = [
    "NULL",
    "Attributes",
    "Batch",
    "SendBatch",
    "attributes",
    "close",
    "new_priority",
    "new_receive_buffer",
    "open_queue",
    "readable",
    "receive_within",
    "reserve_placeholder",
    "retire",
    "send_within",
    "timed_receive",
    "timed_send",
    "try_receive",
    "try_send",
    "unlink",
    "unpack",
    "writable",
]

NULL: Any = ffi.NULL
unpack: Callable[[Any, int], bytes] = ffi.unpack
# Receive buffers are written by the kernel before they are read: no need to zero them.
_allocate = ffi.new_allocator(should_clear_after_alloc=False)

#: One non-blocking attempt: length (receive), 0 (send) or -errno (-EAGAIN: would block).
try_receive: Callable[[int, Any, int, Any], int] = lib.posixq_try_receive
try_send: Callable[[int, Any, int, int], int] = lib.posixq_try_send
#: The first attempt of a call: a try, or on a blocking descriptor a wait of up to
#: ``seconds`` (if > 0); -EAGAIN if the queue stayed empty or full.
receive_within: Callable[[int, Any, int, Any, float], int] = lib.posixq_receive_within
send_within: Callable[[int, Any, int, int, float], int] = lib.posixq_send_within
#: One attempt that may block for at most ``seconds``: -ETIMEDOUT when they pass.
timed_receive: Callable[[int, Any, int, Any, float], int] = lib.posixq_timed_receive
timed_send: Callable[[int, Any, int, int, float], int] = lib.posixq_timed_send
try_receive_many = lib.posixq_try_receive_many
try_send_many = lib.posixq_try_send_many


class Attributes(NamedTuple):
    max_messages: int
    max_message_size: int
    current_messages: int


def open_queue(
    name: bytes,
    *,
    create: bool,
    exclusive: bool,
    nonblocking: bool,
    mode: int,
    max_messages: Optional[int],
    max_message_size: Optional[int],
) -> tuple[int, bool]:
    """Open queue ``name``, creating it if asked; returns (descriptor, created).

    A queue this call creates gets exactly ``mode``, whatever the umask.
    """
    flags = lib.O_RDWR | (lib.O_NONBLOCK if nonblocking else 0)
    while True:
        if create:
            fd = lib.posixq_open(
                name,
                flags | lib.O_CREAT | lib.O_EXCL,
                mode,
                max_messages or 0,
                max_message_size or 0,
            )
            if fd >= 0:
                err = -lib.posixq_fchmod(fd, mode)
                if err:
                    lib.posixq_close(fd)
                    lib.posixq_unlink(name)
                    raise errors.os_error(
                        err, f"cannot set mode {mode:#o} on queue {os.fsdecode(name)!r}"
                    )
                return fd, True
            if fd != -errno.EEXIST or exclusive:
                break
        fd = lib.posixq_open(name, flags, 0, 0, 0)
        # Unlinked between the two calls: try to create it again.
        if fd >= 0 or not (create and fd == -errno.ENOENT):
            break
    if fd < 0:
        raise errors.open_error(
            -fd,
            os.fsdecode(name),
            create=create,
            exclusive=exclusive,
            max_messages=max_messages,
            max_message_size=max_message_size,
        )
    return fd, False


def close(fd: int) -> None:
    """Close descriptor ``fd``, whatever it refers to now."""
    lib.posixq_close(fd)


_placeholder: list[int] = []


def reserve_placeholder(name: str) -> None:
    """Open, once per process, the file that retire() puts behind closed numbers.

    Fails as opening queue ``name`` would where no descriptor is left.
    """
    if not _placeholder:
        try:
            fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise errors.open_error(
                exc.errno or errno.EMFILE,
                name,
                create=False,
                exclusive=False,
                max_messages=None,
                max_message_size=None,
            ) from None
        _placeholder.append(fd)
        if len(_placeholder) > 1:  # another thread got there first
            os.close(_placeholder.pop())


def retire(fd: int) -> None:
    """Release the queue behind ``fd`` but keep the number, now on /dev/null.

    Until close(fd), the number cannot be handed to another file, and any
    mq_* call still made on it fails with EBADF (it is no queue).
    """
    os.dup2(_placeholder[0], fd, inheritable=False)


def unlink(name: bytes) -> None:
    err = -lib.posixq_unlink(name)
    if err:
        text = os.fsdecode(name)
        if err == errno.ENOENT:
            raise errors.os_error(err, f"queue {text!r} does not exist (nothing to unlink)", text)
        if err == errno.EACCES:
            raise errors.os_error(
                err, f"permission denied to unlink queue {text!r}: only its owner or root may", text
            )
        raise errors.os_error(err, f"cannot unlink queue {text!r}", text)


def attributes(fd: int, name: str) -> Attributes:
    attr = ffi.new("struct mq_attr *")
    err = -lib.posixq_getattr(fd, attr)
    if err:
        raise errors.call_error(err, name, "mq_getattr")
    return Attributes(attr.mq_maxmsg, attr.mq_msgsize, attr.mq_curmsgs)


def new_receive_buffer(size: int) -> tuple[Any, Any]:
    """A buffer of ``size`` bytes and a view of it: ``view[:n]`` is its first n bytes.

    Slicing the view copies the bytes out a little faster than unpack().
    """
    buffer = _allocate("char[]", size)
    return buffer, ffi.buffer(buffer)


class Batch:
    """Receive slots for up to ``capacity`` messages of ``size`` bytes each."""

    def __init__(self, capacity: int, size: int) -> None:
        self.capacity = capacity
        self._size = size
        self.first = _allocate("char[]", capacity * size)  # slot 0
        self._view = ffi.buffer(self.first)
        self._lengths = ffi.new("size_t[]", capacity)
        self._priorities = ffi.new("unsigned int[]", capacity)
        self._error = ffi.new("int *")

    @property
    def error(self) -> int:
        """-errno of the attempt that ended the last :meth:`receive` (-EAGAIN: queue empty)."""
        return int(self._error[0])

    def receive(self, fd: int, count: int) -> int:
        """Take up to ``count`` queued messages without waiting; return how many."""
        count = min(count, self.capacity)
        return int(
            try_receive_many(
                fd, self.first, self._size, count, self._lengths, self._priorities, self._error
            )
        )

    def message(self, length: int) -> bytes:
        """The message of ``length`` bytes in slot 0."""
        return self._view[:length]  # type: ignore[no-any-return]

    def messages(self, count: int) -> list[bytes]:
        """The messages the last :meth:`receive` put in the first ``count`` slots."""
        view, size = self._view, self._size
        lengths: list[int] = unpack(self._lengths, count)  # type: ignore[assignment]
        return [view[i * size : i * size + length] for i, length in enumerate(lengths)]


class SendBatch:
    """Messages to send in order at one priority, copied into one buffer."""

    def __init__(self, messages: list[Any], priority: int) -> None:
        self._data = b"".join(messages)  # no buffer export outlives this line
        self._sizes = [len(m) for m in messages]
        self._lengths = ffi.new("size_t[]", self._sizes)
        self._priority = priority
        self._error = ffi.new("int *")
        self._offset = 0
        #: How many messages have been sent, the first ones in order.
        self.sent = 0

    @property
    def error(self) -> int:
        """-errno of the attempt that ended the last :meth:`send` (-EAGAIN: queue full)."""
        return int(self._error[0])

    @property
    def done(self) -> bool:
        return self.sent == len(self._sizes)

    def send(self, fd: int) -> None:
        """Send the messages not yet sent, without waiting, until one would block."""
        start = self.sent
        sent = try_send_many(
            fd,
            self._data,
            self._offset,
            self._lengths + start,
            len(self._sizes) - start,
            self._priority,
            self._error,
        )
        self._advance(start + sent)

    def next_message(self) -> bytes:
        """The first message not yet sent (a copy)."""
        start = self._offset
        return self._data[start : start + self._sizes[self.sent]]

    def _advance(self, sent: int) -> None:
        self._offset += sum(self._sizes[self.sent : sent])
        self.sent = sent

    def skip(self) -> None:
        """Count the first message not yet sent as sent (it was sent another way)."""
        self._advance(self.sent + 1)


def new_priority() -> Any:
    """A cell the kernel writes a received message's priority into."""
    return ffi.new("unsigned int *")


def readable(data: Any) -> Any:
    """A pointer to a read-only buffer (memoryview), valid while ``data`` lives.

    Use it as a context manager, so that the export ends before the caller
    returns or raises: where the export outlives the call, a traceback
    kept in a reference cycle holds both the memoryview and its export, and
    the garbage collector crashes Python before 3.12.7 when it breaks the
    cycle (CPython gh-77894). The same holds for :func:`writable`.
    """
    return ffi.from_buffer(data)


def writable(buffer: object) -> Any:
    """A pointer into a caller's writable buffer, or a TypeError saying why not."""
    try:
        return ffi.from_buffer(buffer, require_writable=True)
    except (TypeError, BufferError) as exc:  # BufferError: a read-only or strided view
        raise errors.ArgumentTypeError(
            f"buffer must be a writable, contiguous bytes-like object (bytearray, "
            f"memoryview, array, numpy array), not {type(buffer).__name__} ({exc})"
        ) from None
