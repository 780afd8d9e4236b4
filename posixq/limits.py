"""The host's limits on POSIX message queues, read when asked.

Linux bounds queues in three places (``man 7 mq_overview``):

* the ``fs.mqueue`` sysctls in ``/proc/sys/fs/mqueue``: the largest
  ``max_messages`` (``msg_max``) and ``max_message_size`` (``msgsize_max``) a
  queue may be created with, the sizes used when none are given
  (``msg_default``, ``msgsize_default``) and how many queues the host may hold
  (``queues_max``);
* ``RLIMIT_MSGQUEUE`` (``ulimit -q``): how many bytes all the queues of one
  user may reserve, counted at creation with :func:`queue_cost`;
* ``RLIMIT_NOFILE``: each open queue is a file descriptor.
"""

from __future__ import annotations

import errno
import os
import resource
import sys
from typing import NamedTuple, Optional

from ._posixq_cffi import lib

__all__ = [
    "SYSCTL_DIR",
    "HostLimits",
    "host_limits",
    "open_descriptors",
    "queue_cost",
    "read_sysctl",
    "remaining_msgqueue_bytes",
]

SYSCTL_DIR = "/proc/sys/fs/mqueue"
RLIM_INFINITY = resource.RLIM_INFINITY

# Bookkeeping the kernel charges per message slot on 64-bit Linux: one
# struct msg_msg and, for up to MQ_PRIO_MAX slots, one priority tree node
# (ipc/mqueue.c, mqueue_get_inode).
_MSG_HEADER_BYTES = 48
_TREE_NODE_BYTES = 48
_MQ_PRIO_MAX = 32768


def queue_cost(max_messages: int, max_message_size: int) -> int:
    """Bytes a queue of these sizes reserves against ``RLIMIT_MSGQUEUE``."""
    overhead = max_messages * _MSG_HEADER_BYTES
    overhead += min(max_messages, _MQ_PRIO_MAX) * _TREE_NODE_BYTES
    return max_messages * max_message_size + overhead


def read_sysctl(name: str) -> Optional[int]:
    """The value of ``fs.mqueue.<name>``, or None where it cannot be read."""
    try:
        with open(os.path.join(SYSCTL_DIR, name)) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


class HostLimits(NamedTuple):
    """A snapshot of the limits that apply to this process's queues.

    Any value the host does not expose is None.
    """

    msg_max: Optional[int]
    msgsize_max: Optional[int]
    msg_default: Optional[int]
    msgsize_default: Optional[int]
    queues_max: Optional[int]
    rlimit_msgqueue: tuple[int, int]
    rlimit_nofile: tuple[int, int]

    def problems(self, max_messages: int, max_message_size: int) -> list[str]:
        """Why a queue of these sizes cannot be created here, each with its fix.

        An empty list means the sizes fit every limit this snapshot knows;
        the user's other queues still count against ``RLIMIT_MSGQUEUE``.
        """
        found = []
        if self.msg_max is not None and max_messages > self.msg_max:
            found.append(explain_msg_max(max_messages, self.msg_max))
        if self.msgsize_max is not None and max_message_size > self.msgsize_max:
            found.append(explain_msgsize_max(max_message_size, self.msgsize_max))
        soft = self.rlimit_msgqueue[0]
        need = queue_cost(max_messages, max_message_size)
        if soft != resource.RLIM_INFINITY and need > soft:
            found.append(explain_rlimit(need, soft, self.rlimit_msgqueue[1]))
        return found


def host_limits() -> HostLimits:
    """Read the limits now in force for this process."""
    return HostLimits(
        msg_max=read_sysctl("msg_max"),
        msgsize_max=read_sysctl("msgsize_max"),
        msg_default=read_sysctl("msg_default"),
        msgsize_default=read_sysctl("msgsize_default"),
        queues_max=read_sysctl("queues_max"),
        rlimit_msgqueue=resource.getrlimit(resource.RLIMIT_MSGQUEUE),
        rlimit_nofile=resource.getrlimit(resource.RLIMIT_NOFILE),
    )


def explain_msg_max(asked: int, limit: int) -> str:
    return (
        f"max_messages={asked} is over the host's limit of {limit} "
        f"(fs.mqueue.msg_max); ask for at most {limit}, or raise the limit as "
        f"root: sysctl -w fs.mqueue.msg_max={asked}"
    )


def explain_msgsize_max(asked: int, limit: int) -> str:
    return (
        f"max_message_size={asked} is over the host's limit of {limit} bytes "
        f"(fs.mqueue.msgsize_max); ask for at most {limit}, or raise the limit "
        f"as root: sysctl -w fs.mqueue.msgsize_max={asked}"
    )


def explain_rlimit(need: int, soft: int, hard: int) -> str:
    fix = (
        f"ulimit -q {need}"
        if hard == resource.RLIM_INFINITY or need <= hard
        else (
            f"raise the hard limit as root (e.g. LimitMSGQUEUE={need} in a systemd unit, "
            f"--ulimit msgqueue={need} for a container)"
        )
    )
    return (
        f"the queue needs {need} bytes of the per-user message queue limit "
        f"(RLIMIT_MSGQUEUE, ulimit -q), which is {soft} bytes; use smaller "
        f"sizes, or {fix}"
    )


def open_descriptors() -> int:
    """How many descriptors this process has open (``sys.maxsize`` if none is left)."""
    try:
        return len(os.listdir("/proc/self/fd")) - 1
    except OSError as exc:
        return sys.maxsize if exc.errno == errno.EMFILE else 0


def remaining_msgqueue_bytes(upper: Optional[int] = None) -> Optional[int]:
    """About how many bytes of ``RLIMIT_MSGQUEUE`` this user has left.

    The kernel does not publish a user's usage, so this creates and at once
    unlinks a few tiny probe queues, halving the size each time. The answer
    is exact to a few dozen bytes, and capped by ``upper`` (by default the
    largest queue the host allows). None if it cannot be measured.
    """
    msg_max = read_sysctl("msg_max") or 10
    msgsize_max = read_sysctl("msgsize_max") or 8192
    largest = queue_cost(msg_max, msgsize_max)
    upper = largest if upper is None else min(upper, largest)
    name = f"/posixq-probe-{os.getpid()}-{os.urandom(4).hex()}".encode()
    per_slot = _MSG_HEADER_BYTES + _TREE_NODE_BYTES

    def fits(cost: int) -> Optional[bool]:
        slots = max(1, min(msg_max, -(-cost // (msgsize_max + per_slot))))
        size = max(1, cost // slots - per_slot)  # the smallest queue there is, at least
        flags = lib.O_RDWR | lib.O_CREAT | lib.O_EXCL
        fd = lib.posixq_open(name, flags, 0o600, slots, size)
        if fd < 0:
            return False if fd == -errno.EMFILE else None
        lib.posixq_close(fd)
        lib.posixq_unlink(name)
        return True

    low, high = 0, upper
    while high - low > per_slot:
        middle = (low + high) // 2
        answer = fits(middle)
        if answer is None:
            return None
        if answer:
            low = middle
        else:
            high = middle
    return low
