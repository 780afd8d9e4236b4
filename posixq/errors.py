"""Exceptions, and the one place where an errno becomes one of them.

Every exception posixq raises derives from :class:`MessageQueueError` and,
where one fits, from the builtin class code already catches: a queue that
does not exist is a :class:`FileNotFoundError`, sizes over the host's limits
are a :class:`ValueError`, and so on.
"""

from __future__ import annotations

import errno
import os
from typing import Optional

from . import limits

__all__ = [
    "ArgumentTypeError",
    "InvalidArgumentError",
    "MessageQueueError",
    "MessageTooLargeError",
    "QueueClosedError",
    "QueueExistsError",
    "QueueLimitError",
    "QueueNotFoundError",
    "QueueOSError",
    "QueuePermissionError",
    "QueueSizeError",
    "TimedOutError",
]


class MessageQueueError(Exception):
    """Base class of every error posixq raises."""


class TimedOutError(MessageQueueError, TimeoutError):
    """The queue stayed empty (get) or full (put) for the whole timeout.

    After :meth:`~posixq.MessageQueue.put_many`, :attr:`sent` says how many
    of the messages were sent before the time ran out (in order, from the
    first); it is None for other calls.
    """

    sent: Optional[int] = None


class QueueClosedError(MessageQueueError, ValueError):
    """The operation was attempted on, or interrupted by, a closed queue."""


class InvalidArgumentError(MessageQueueError, ValueError):
    """An argument has the right type but a value posixq cannot use."""


class QueueSizeError(InvalidArgumentError):
    """The sizes asked for are over the host's limits (fs.mqueue sysctls)."""


class MessageTooLargeError(InvalidArgumentError):
    """A message is larger than the queue's max_message_size."""


class ArgumentTypeError(MessageQueueError, TypeError):
    """An argument has a type posixq does not accept."""


class QueueOSError(MessageQueueError, OSError):
    """A system call on a queue failed; ``errno`` says how."""

    def __str__(self) -> str:
        if self.errno is None:
            return super().__str__()
        return f"[Errno {self.errno}] {self.strerror}"


class QueueNotFoundError(QueueOSError, FileNotFoundError):
    """The queue does not exist (and was not to be created)."""


class QueueExistsError(QueueOSError, FileExistsError):
    """The queue already exists and an exclusive creation was asked."""


class QueuePermissionError(QueueOSError, PermissionError):
    """The queue's owner and mode do not let this process open it."""


class QueueLimitError(QueueOSError):
    """A per-user or per-host resource limit stops the operation."""


_OS_ERRORS: dict[int, type[QueueOSError]] = {
    errno.ENOENT: QueueNotFoundError,
    errno.EEXIST: QueueExistsError,
    errno.EACCES: QueuePermissionError,
    errno.EPERM: QueuePermissionError,
    errno.EMFILE: QueueLimitError,
    errno.ENFILE: QueueLimitError,
    errno.ENOSPC: QueueLimitError,
    errno.ENOMEM: QueueLimitError,
}


def os_error(err: int, message: str, name: Optional[str] = None) -> QueueOSError:
    """The :class:`QueueOSError` subclass that fits ``err``, with ``message``."""
    cls = _OS_ERRORS.get(err, QueueOSError)
    if name is None:
        return cls(err, message)
    return cls(err, message, name)


def open_error(
    err: int,
    name: str,
    *,
    create: bool,
    exclusive: bool,
    max_messages: Optional[int],
    max_message_size: Optional[int],
) -> MessageQueueError:
    """The exception for a failed ``mq_open`` of ``name``, saying what to do."""
    if err == errno.ENOENT:
        return os_error(
            err,
            f"queue {name!r} does not exist; create it first or open it with create=True",
            name,
        )
    if err == errno.EEXIST:
        return os_error(
            err,
            f"queue {name!r} already exists and exclusive=True was asked; "
            f"unlink it first (posixq.unlink({name!r})) or open it without exclusive",
            name,
        )
    if err in (errno.EACCES, errno.EPERM):
        return os_error(
            err,
            f"permission denied for queue {name!r}: it belongs to another user or its "
            f"mode does not let this user read and write it; its owner can widen the "
            f"mode (os.fchmod(mq.fileno(), 0o660) on an open queue, or "
            f"MessageQueue(..., mode=0o660) when creating it) or run this process as "
            f"that user",
            name,
        )
    if err == errno.EINVAL and create:
        return _size_error(name, max_messages, max_message_size)
    if err == errno.EMFILE:
        return _emfile_error(name, max_messages, max_message_size)
    if err == errno.ENFILE:
        return os_error(
            err,
            f"cannot open queue {name!r}: the host's table of open files is full "
            f"(fs.file-max); close unused files or raise fs.file-max",
            name,
        )
    if err == errno.ENOSPC:
        return os_error(
            err,
            f"cannot create queue {name!r}: the host already holds its maximum of "
            f"{limits.read_sysctl('queues_max')} queues (fs.mqueue.queues_max); unlink "
            f"unused queues (python -m posixq --list shows them) or raise the limit "
            f"as root: sysctl -w fs.mqueue.queues_max=<more>",
            name,
        )
    if err == errno.ENOMEM:
        return os_error(err, f"not enough memory to open queue {name!r}", name)
    return os_error(err, f"cannot open queue {name!r}: {os.strerror(err)}", name)


def _size_error(
    name: str, max_messages: Optional[int], max_message_size: Optional[int]
) -> MessageQueueError:
    found = []
    msg_max = limits.read_sysctl("msg_max")
    msgsize_max = limits.read_sysctl("msgsize_max")
    if max_messages is not None and msg_max is not None and max_messages > msg_max:
        found.append(limits.explain_msg_max(max_messages, msg_max))
    if max_message_size is not None and msgsize_max is not None and max_message_size > msgsize_max:
        found.append(limits.explain_msgsize_max(max_message_size, msgsize_max))
    if not found:
        found.append(
            f"the kernel refused max_messages={max_messages} and "
            f"max_message_size={max_message_size} "
            f"(host limits: msg_max={msg_max}, msgsize_max={msgsize_max})"
        )
    return QueueSizeError(f"cannot create queue {name!r}: " + "; ".join(found))


def _emfile_error(
    name: str, max_messages: Optional[int], max_message_size: Optional[int]
) -> MessageQueueError:
    nofile = limits.host_limits().rlimit_nofile[0]
    if limits.open_descriptors() >= nofile:
        return os_error(
            errno.EMFILE,
            f"cannot open queue {name!r}: this process has reached its limit of "
            f"{nofile} open files (RLIMIT_NOFILE, ulimit -n); close unused queues "
            f"and files, or raise the limit (ulimit -n)",
            name,
        )
    if max_messages is None and max_message_size is None:
        max_messages = limits.read_sysctl("msg_default")
        max_message_size = limits.read_sysctl("msgsize_default")
    if max_messages is None or max_message_size is None:
        need = None
        needs = "its size"
    else:
        need = limits.queue_cost(max_messages, max_message_size)
        needs = (
            f"max_messages={max_messages} x max_message_size={max_message_size} takes {need} bytes"
        )
    soft, hard = limits.host_limits().rlimit_msgqueue
    left = limits.remaining_msgqueue_bytes(need)
    if left is None:
        room = "the user's other queues hold the rest"
    else:
        room = f"the user's other queues leave about {left} bytes"
    message = (
        f"cannot create queue {name!r}: {needs} of this user's message queue limit "
        f"(RLIMIT_MSGQUEUE, ulimit -q: {soft} bytes, hard limit {_limit(hard)}), and "
        f"{room}; close and unlink unused queues, ask for smaller sizes, or raise the "
        f"limit (ulimit -q, LimitMSGQUEUE= in a systemd unit, --ulimit msgqueue= for a "
        f"container)"
    )
    return os_error(errno.EMFILE, message, name)


def _limit(value: int) -> str:
    return "unlimited" if value == limits.RLIM_INFINITY else str(value)


def call_error(err: int, name: str, operation: str) -> MessageQueueError:
    """The exception for a failed send, receive or getattr on queue ``name``."""
    if err == errno.EBADF:
        return QueueClosedError(f"queue {name!r} is closed")
    return os_error(err, f"{operation} on queue {name!r} failed: {os.strerror(err)}", name)
