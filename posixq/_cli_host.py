"""What the command line tells about the host: --limits, --list and --info.

With --json, every key is always there; null stands for a value that could
not be read (a queue this user may not open, a sysctl the host hides) and,
for RLIMIT_MSGQUEUE, for no limit.
"""

from __future__ import annotations

import json
import os
import re
import resource
import secrets
import stat
from typing import Any, Optional

from . import errors
from .limits import SYSCTL_DIR, host_limits, queue_cost
from .queue import MessageQueue
from .waiters import SelectWaiter

__all__ = ["HostError", "info", "limits", "list_queues", "mqueue_mounts"]

MOUNT_HELP = (
    "mount it as root: mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue (man 7 mq_overview)"
)

_SYSCTLS = (
    ("msg_max", "the most messages a queue may be created to hold"),
    ("msgsize_max", "the largest max_message_size a queue may be created with, in bytes"),
    ("msg_default", "max_messages of a queue created without sizes"),
    ("msgsize_default", "max_message_size of a queue created without sizes"),
    ("queues_max", "how many queues the host may hold"),
)


class HostError(Exception):
    """The host cannot answer the question asked (e.g. no mqueue filesystem)."""


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2))


def _printable(text: str) -> str:
    """``text`` with bytes that are not UTF-8 (from the file system) escaped."""
    return text.encode(errors="surrogateescape").decode(errors="backslashreplace")


def _table(rows: list[list[str]]) -> None:
    rows = [[_printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def _bytes(value: int) -> Optional[int]:
    return None if value == resource.RLIM_INFINITY else value


def _show(value: Optional[int], unit: str = "") -> str:
    if value is None:
        return "unlimited" if unit else "unknown"
    return f"{value}{unit}"


# -- --limits ---------------------------------------------------------------


def limits(max_messages: int, max_message_size: int, as_json: bool) -> bool:
    """Report the host's limits and whether a queue of these sizes fits; True if it does."""
    host = host_limits()
    cost = queue_cost(max_messages, max_message_size)
    problems = host.problems(max_messages, max_message_size)
    soft, hard = (_bytes(v) for v in host.rlimit_msgqueue)
    if as_json:
        _print_json(
            {
                "sysctls": {name: getattr(host, name) for name, _ in _SYSCTLS},
                "rlimit_msgqueue": {"soft": soft, "hard": hard},
                "queue": {
                    "max_messages": max_messages,
                    "max_message_size": max_message_size,
                    "reserved_bytes": cost,
                    "can_create": not problems,
                    "problems": problems,
                },
            }
        )
        return not problems
    print(f"fs.mqueue sysctls ({SYSCTL_DIR}):")
    _table(
        [
            ["", f"fs.mqueue.{name}", _show(getattr(host, name)), meaning]
            for name, meaning in _SYSCTLS
        ]
    )
    print(
        f"RLIMIT_MSGQUEUE (ulimit -q), bytes all queues of this user may reserve: "
        f"soft {_show(soft, ' bytes')}, hard {_show(hard, ' bytes')}"
    )
    share = "" if soft is None else f", {100 * cost / soft:.1f}% of the soft limit"
    print(
        f"a queue of max_messages={max_messages} and max_message_size={max_message_size} "
        f"reserves {cost} bytes{share}"
    )
    if problems:
        print("such a queue cannot be created here:")
        for problem in problems:
            print(f"  - {problem}")
    else:
        print(
            "such a queue can be created here: it fits every limit above "
            "(the user's other queues count against RLIMIT_MSGQUEUE too)"
        )
    return not problems


# -- the mqueue filesystem ---------------------------------------------------


def mqueue_mounts() -> list[str]:
    """Where filesystems of type mqueue are mounted, as /proc/self/mounts lists them."""
    found = []
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and fields[2] == "mqueue":
                    path = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
                    if path not in found:
                        found.append(path)
    except OSError:
        pass
    return found


def _device(path: str) -> Optional[int]:
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


def _our_mount(mounts: list[str]) -> str:
    """The mount that shows this process's IPC namespace, where several are mounted.

    Each IPC namespace has its own mqueue filesystem; a mount made in
    another namespace (e.g. the host's /dev/mqueue seen from a private
    one) lists queues this process cannot reach. A tiny probe queue, made
    and unlinked at once, tells which filesystem is this namespace's.
    """
    devices: dict[int, str] = {}
    for mount in mounts:
        device = _device(mount)
        if device is not None:
            devices.setdefault(device, mount)
    if len(devices) < 2:
        return mounts[0]
    name = f"/posixq-list-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        probe = MessageQueue(name, 1, 1, exclusive=True, waiter=SelectWaiter())
    except errors.MessageQueueError:
        return mounts[0]
    try:
        ours = os.fstat(probe.fileno()).st_dev
    finally:
        probe.close()
        probe.unlink()
    return devices.get(ours, mounts[0])


def _qsize(path: str) -> Optional[int]:
    """The bytes of messages a queue holds, from its file in the mqueue filesystem."""
    try:
        with open(path) as f:
            match = re.search(r"QSIZE:\s*(\d+)", f.read())
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _open(name: str) -> MessageQueue:
    return MessageQueue(name, create=False, waiter=SelectWaiter())


def _describe(mq: MessageQueue, mount: Optional[str]) -> dict[str, Any]:
    uid, gid = mq.owner
    return {
        "name": mq.name,
        "current_messages": mq.current_messages,
        "max_messages": mq.max_messages,
        "max_message_size": mq.max_message_size,
        "reserved_bytes": queue_cost(mq.max_messages, mq.max_message_size),
        "qsize": None if mount is None else _qsize(os.path.join(mount, mq.name[1:])),
        "uid": uid,
        "gid": gid,
        "mode": f"{mq.mode:04o}",
    }


def _cannot_open(exc: errors.MessageQueueError) -> str:
    if isinstance(exc, errors.QueuePermissionError):
        return "cannot open it to read its sizes: permission denied (it takes read and write)"
    if isinstance(exc, errors.QueueNotFoundError):
        return "not found when opened: unlinked meanwhile, or of another IPC namespace"
    return f"cannot open it: {exc}"


def list_queues(as_json: bool) -> None:
    """Print the queues of the mqueue filesystem, with their sizes where they can be read."""
    mounts = mqueue_mounts()
    if not mounts:
        raise HostError(
            f"cannot list queues: no mqueue filesystem is mounted (/proc/self/mounts "
            f"has none); {MOUNT_HELP}"
        )
    mount = _our_mount(mounts)
    device = _device(mount)
    try:
        entries = sorted(os.listdir(mount))
    except OSError as exc:
        raise HostError(f"cannot list queues in {mount}: {exc.strerror}") from None
    queues = []
    for entry in entries:
        name = "/" + entry
        path = os.path.join(mount, entry)
        try:
            with _open(name) as mq:
                if os.fstat(mq.fileno()).st_dev != device:
                    raise errors.QueueNotFoundError(2, "another namespace's queue", name)
                queue = _describe(mq, mount)
                queue["error"] = None
        except errors.MessageQueueError as exc:
            try:
                st: Optional[os.stat_result] = os.stat(path)
            except OSError:
                st = None
            queue = {
                "name": name,
                "current_messages": None,
                "max_messages": None,
                "max_message_size": None,
                "reserved_bytes": None,
                "qsize": _qsize(path),
                "uid": None if st is None else st.st_uid,
                "gid": None if st is None else st.st_gid,
                "mode": None if st is None else f"{stat.S_IMODE(st.st_mode):04o}",
                "error": _cannot_open(exc),
            }
        queues.append(queue)
    if as_json:
        _print_json({"mount": mount, "queues": queues})
        return
    if not queues:
        print(f"no queues in {mount} (the mqueue filesystem)")
        return
    print(f"queues in {mount} (the mqueue filesystem):")
    rows = [["NAME", "MESSAGES", "MAX_MESSAGES", "MAX_SIZE", "QSIZE", "OWNER", "MODE", "NOTE"]]
    for q in queues:
        owner = "-" if q["uid"] is None else f"{q['uid']}:{q['gid']}"
        cells = [q[k] for k in ("current_messages", "max_messages", "max_message_size", "qsize")]
        rows.append(
            [
                q["name"],
                *("-" if c is None else str(c) for c in cells),
                owner,
                q["mode"] or "-",
                q["error"] or "",
            ]
        )
    _table(rows)


# -- --info -----------------------------------------------------------------


def info(name: str, as_json: bool) -> None:
    """Print one queue's sizes, message count and owner; it must exist."""
    with _open(name) as mq:
        device = os.fstat(mq.fileno()).st_dev
        mount = next((m for m in mqueue_mounts() if _device(m) == device), None)
        queue = _describe(mq, mount)
    if as_json:
        _print_json(queue)
        return
    if queue["qsize"] is None:
        queue["qsize"] = "unknown (no mqueue filesystem of this IPC namespace is mounted)"
    else:
        queue["qsize"] = f"{queue['qsize']} bytes"
    queue["reserved_bytes"] = f"{queue['reserved_bytes']} bytes of RLIMIT_MSGQUEUE"
    _table([[key, str(value)] for key, value in queue.items()])
