"""The contenders, opened on an existing queue by name, behind one small interface.

* ``select``, ``gevent``, ``blocking``: posixq with SelectWaiter (the
  default), GeventWaiter (on gevent's hub, no monkey-patching) and
  BlockingWaiter;
* ``posix_ipc``: the C extension posix_ipc, blocking descriptor, as most
  code uses it;
* ``baseplate``: baseplate.lib.message_queue's wrapper around posix_ipc,
  reproduced below: a non-blocking descriptor, and on ``BusyError`` a
  ``select()`` on the descriptor before trying again;
* ``cffi``: posixq's own C helpers called straight through cffi from a
  one-line Python function, without MessageQueue: the floor of any
  cffi-based get/put, to tell the binding's cost from the methods' cost;
* ``c``: the C program mqbench.c (see cprogram.py), not opened here.
"""

from __future__ import annotations

import importlib.util
import select
import time
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Optional

from harness import Row, Settings, skipped

from posixq import MessageQueue, TimedOutError
from posixq.waiters import BlockingWaiter, SelectWaiter, Waiter

try:
    import posix_ipc
except ImportError:  # the suite reports its rows as skipped
    posix_ipc = None


POSIXQ = ("select", "gevent", "blocking")
LABELS = {
    "select": "posixq default (SelectWaiter)",
    "gevent": "posixq GeventWaiter",
    "blocking": "posixq BlockingWaiter",
    "batch": "posixq get_many/put_many",
    "posix_ipc": "posix_ipc",
    "baseplate": "posix_ipc + select (baseplate)",
    "cffi": "cffi floor (posixq's helpers, raw)",
    "c": "C (mqbench.c)",
}


class Handle(NamedTuple):
    """What the scenarios call: put(message), get(), get_timeout(seconds), close()."""

    put: Callable[[bytes], Any]
    get: Callable[[], Any]
    get_timeout: Callable[[float], Any]  # raises one of TIMEOUT_ERRORS when it expires
    close: Callable[[], None]
    queue: Any


def available(kind: str) -> Optional[str]:
    """None if ``kind`` can run here, else why not."""
    if kind in ("posix_ipc", "baseplate") and posix_ipc is None:
        return "posix_ipc is not installed (pip install posix_ipc)"
    if kind == "cffi":
        from posixq import _posixq_cffi

        if not all(hasattr(_posixq_cffi.lib, f) for f in ("posixq_try_send", "posixq_try_receive")):
            return "posixq's compiled module no longer has posixq_try_send/posixq_try_receive"
    if kind == "gevent" and importlib.util.find_spec("gevent") is None:
        return "gevent is not installed"  # imported only where used: it is large
    return None


def runnable(
    kinds: Iterable[str], settings: Settings, group: str, scenario: str
) -> tuple[list[str], list[Row]]:
    """The contenders of ``kinds`` that can run here, and rows saying why the others cannot."""
    ok, rows = [], []
    for kind in kinds:
        why = settings.c.why_not if kind == "c" and not settings.c.path else available(kind)
        if why:
            rows.append(skipped(group, scenario, LABELS[kind], why))
        else:
            ok.append(kind)
    return ok, rows


def waiter(kind: str) -> Waiter:
    if kind == "select":
        return SelectWaiter()
    if kind == "blocking":
        return BlockingWaiter()
    if kind == "gevent":
        from posixq.waiters import GeventWaiter

        return GeventWaiter()
    raise ValueError(kind)


def open_handle(kind: str, name: str) -> Handle:
    """Open the existing queue ``name`` the way contender ``kind`` does."""
    if kind in POSIXQ:
        q = MessageQueue(name, create=False, waiter=waiter(kind))
        get = q.get
        return Handle(q.put, get, get, q.close, q)
    if kind == "posix_ipc":
        p = posix_ipc.MessageQueue(name)
        return Handle(p.send, p.receive, p.receive, p.close, p)
    if kind == "baseplate":
        b = BaseplateStyleQueue(name)
        return Handle(b.put, b.get, b.get, b.close, b)
    if kind == "cffi":
        return raw_cffi_handle(name)
    raise ValueError(kind)


def raw_cffi_handle(name: str) -> Handle:
    """put/get as one cffi call each (plus ffi.unpack), on posixq's non-blocking descriptor."""
    from posixq._posixq_cffi import ffi, lib

    q = MessageQueue(name, create=False, waiter=SelectWaiter())
    fd, size = q.fileno(), q.max_message_size
    buf, null, unpack = ffi.new("char[]", size), ffi.NULL, ffi.unpack
    try_send, try_receive = lib.posixq_try_send, lib.posixq_try_receive

    def put(message: bytes) -> int:
        return try_send(fd, message, len(message), 0)  # type: ignore[no-any-return]

    def get() -> bytes:
        return unpack(buf, try_receive(fd, buf, size, null))  # type: ignore[no-any-return]

    def get_timeout(seconds: float) -> bytes:
        raise NotImplementedError("the cffi floor never waits")

    return Handle(put, get, get_timeout, q.close, q)


def timeout_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [TimedOutError, BaseplateTimedOut]
    if posix_ipc is not None:
        errors.append(posix_ipc.BusyError)
    return tuple(errors)


# -- baseplate's wrapper, in a few lines ---------------------------------------


class BaseplateTimedOut(Exception):
    pass


def _attempts(budget: Optional[float]) -> Iterator[Optional[float]]:
    """baseplate.lib.retry.RetryPolicy.new(budget=...): the time left before each attempt."""
    if budget is None:
        while True:
            yield None
    start = time.time()
    yield budget
    while True:
        remaining = budget - (time.time() - start)
        if remaining <= 0:
            return
        yield remaining


class BaseplateStyleQueue:
    """baseplate.lib.message_queue.MessageQueue's get/put over posix_ipc.

    baseplate builds a small RetryPolicy object per call; the generator
    above does the same work with fewer objects, so this is, if anything,
    a little faster than baseplate itself.
    """

    def __init__(self, name: str) -> None:
        self.queue = posix_ipc.MessageQueue(name)
        self.queue.block = False

    def get(self, timeout: Optional[float] = None) -> bytes:
        for remaining in _attempts(timeout):
            try:
                message, _ = self.queue.receive()
                return message  # type: ignore[no-any-return]
            except posix_ipc.SignalError:
                continue
            except posix_ipc.BusyError:
                select.select([self.queue.mqd], [], [], remaining)
        raise BaseplateTimedOut

    def put(self, message: bytes, timeout: Optional[float] = None) -> None:
        for remaining in _attempts(timeout):
            try:
                return self.queue.send(message)  # type: ignore[no-any-return]
            except posix_ipc.SignalError:
                continue
            except posix_ipc.BusyError:
                select.select([], [self.queue.mqd], [], remaining)
        raise BaseplateTimedOut

    def close(self) -> None:
        self.queue.close()
