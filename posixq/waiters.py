"""Waiters: how a get or put that cannot complete at once waits for its turn.

A :class:`~posixq.MessageQueue` first makes one non-blocking attempt. Only
when the queue is empty (get) or full (put) does it hand the call to its
waiter, which waits and retries until the call succeeds, fails, or its
timeout passes. One timeout rule holds for every waiter:

* ``None`` waits for as long as it takes;
* ``0`` makes that single attempt and no other;
* more than 0 is the longest wait in seconds, measured on the monotonic
  clock, so that a step of the wall clock neither cuts it short nor
  stretches it.

A wait never lasts longer than :attr:`Waiter.check_interval` at a time,
after which the waiter checks that the queue is still open and that the
deadline has not passed, then waits again. Interrupted system calls are
retried after Python's signal handlers have run, so Ctrl-C ends a wait.

Three waiters are provided:

* :class:`SelectWaiter` (the default) waits with :func:`select.poll`, looked
  up at each wait, so that in a process monkey-patched by gevent it yields
  to the hub.
* :class:`GeventWaiter` waits on a gevent hub watcher, without needing
  monkey-patching.
* :class:`BlockingWaiter` blocks in ``mq_timedreceive``/``mq_timedsend``
  with the GIL released: the fewest system calls, for threads and plain
  scripts. It blocks gevent's hub.

``POSIXQ_WAITER`` (``select``, ``gevent`` or ``blocking``) picks the waiter
of queues created without one.
"""

from __future__ import annotations

import errno
import math
import os
import select
import sys
import warnings
from time import monotonic
from typing import Any, Callable, ClassVar, Optional

from .errors import InvalidArgumentError

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "BlockingWaiter",
    "Call",
    "GeventWaiter",
    "ReadinessWaiter",
    "SelectWaiter",
    "Waiter",
    "default_waiter",
]

ENVIRONMENT_VARIABLE = "POSIXQ_WAITER"

# Results that mean "not yet": wait (if time is left) and try again.
_RETRY = frozenset((-errno.EAGAIN, -errno.EINTR, -errno.ETIMEDOUT))


class Call:
    """A get or put in progress, as its queue hands it to a waiter.

    ``attempt()`` tries once without blocking; ``attempt_for(seconds)``
    tries once, blocking at most ``seconds`` (for blocking descriptors).
    Both return a result ``>= 0`` on success or ``-errno``. A waiter that
    can be woken early sets ``cancel`` while it waits, to a function the
    queue calls with an exception when it is closed.
    """

    __slots__ = ("attempt", "attempt_for", "cancel", "fd", "is_closed", "writing")

    def __init__(
        self,
        fd: int,
        writing: bool,
        attempt: Callable[[], int],
        attempt_for: Callable[[float], int],
        is_closed: Callable[[], bool],
    ) -> None:
        self.fd = fd
        self.writing = writing
        self.attempt = attempt
        self.attempt_for = attempt_for
        self.is_closed = is_closed
        self.cancel: Optional[Callable[[BaseException], None]] = None


class Waiter:
    """Base class of waiters: the shared retry loop and its timeout rule.

    Subclasses implement :meth:`block`; most should derive from
    :class:`ReadinessWaiter` instead and implement only ``wait``.
    """

    #: Whether queues using this waiter open their descriptor in blocking mode.
    blocking: ClassVar[bool] = False
    #: The longest single wait, in seconds, between checks that the queue is open.
    check_interval: float = 0.1
    #: How long the first attempt of a call with no timeout may block, in seconds.
    #: Only a waiter with blocking descriptors can make it more than 0: such a
    #: call is then one system call when the queue is ready within that time.
    first_wait: float = 0.0

    def attach(self, queue: object) -> None:
        """Called when ``queue`` starts using this waiter."""

    def complete(self, call: Call, timeout: Optional[float]) -> int:
        """Finish ``call``, whose first attempt found the queue empty or full.

        Returns the successful result, ``-ETIMEDOUT`` once ``timeout``
        seconds have passed since this method was entered, ``-EBADF`` if
        the queue was closed meanwhile, or the ``-errno`` of a failure.
        """
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            if deadline is None:
                seconds = self.check_interval
            else:
                seconds = deadline - monotonic()
                if seconds <= 0:
                    return -errno.ETIMEDOUT
                seconds = min(seconds, self.check_interval)
            result = self.block(call, seconds)
            if result >= 0 or result not in _RETRY:
                return result
            if call.is_closed():
                return -errno.EBADF

    def block(self, call: Call, seconds: float) -> int:
        """Wait at most ``seconds`` for ``call`` to be possible, and try it once."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReadinessWaiter(Waiter):
    """A waiter that waits for the descriptor to become readable or writable.

    The descriptor is non-blocking; after each wait the call is attempted
    again, and a wake-up that loses the race to another process is simply
    another round.
    """

    def block(self, call: Call, seconds: float) -> int:
        self.wait(call, seconds)
        return call.attempt()

    def wait(self, call: Call, seconds: float) -> None:
        """Return when ``call.fd`` is ready for ``call.writing`` or after ``seconds``."""
        raise NotImplementedError


class SelectWaiter(ReadinessWaiter):
    """Waits with :func:`select.poll`, cooperating with gevent's monkey-patching.

    ``select.poll`` is looked up at every wait, so once gevent has patched
    the ``select`` module the wait yields to gevent's hub instead of
    blocking the process. poll, unlike select, handles descriptors of any
    number.
    """

    def wait(self, call: Call, seconds: float) -> None:
        poller = select.poll()
        poller.register(call.fd, select.POLLOUT if call.writing else select.POLLIN)
        poller.poll(math.ceil(seconds * 1000))


class GeventWaiter(ReadinessWaiter):
    """Waits on a gevent hub watcher: cooperative without monkey-patching.

    Each wait uses its own I/O watcher on the current thread's hub, so any
    number of greenlets can wait on one queue. ``gevent.Timeout`` and
    ``Greenlet.kill`` interrupt a wait without losing a message: nothing
    has been received or sent yet. Closing the queue from another greenlet
    wakes every waiting one with :class:`~posixq.errors.QueueClosedError`.
    """

    def __init__(self) -> None:
        try:
            import gevent
            from gevent.monkey import get_original
        except ImportError:
            raise ImportError("GeventWaiter needs gevent: pip install 'posixq[gevent]'") from None
        self._gevent = gevent
        # The OS thread's id, even where monkey-patching makes threading's name the greenlet.
        self._thread_id: Callable[[], int] = get_original("_thread", "get_ident")

    def wait(self, call: Call, seconds: float) -> None:
        gevent = self._gevent
        hub = gevent.get_hub()
        watcher = hub.loop.io(call.fd, 2 if call.writing else 1)
        thread = self._thread_id()

        def cancel(error: BaseException) -> None:
            if self._thread_id() == thread:
                hub.cancel_wait(watcher, error)

        call.cancel = cancel
        try:
            with gevent.Timeout(seconds, False):
                hub.wait(watcher)
        finally:
            call.cancel = None
            watcher.close()


class BlockingWaiter(Waiter):
    """Blocks in ``mq_timedreceive``/``mq_timedsend``, the GIL released.

    The kernel measures these deadlines on the wall clock, so each one
    covers at most :attr:`check_interval` and is recomputed from the
    monotonic deadline. A forward step of the wall clock ends one such
    slice early and the wait goes on; it never ends the timeout early. A
    backward step while the thread is blocked lengthens that one slice by
    the size of the step: the kernel's timer follows the wall clock and
    nothing in user space can move it. The whole thread blocks, so in a process
    monkey-patched by gevent it stops every greenlet: use
    :class:`SelectWaiter` or :class:`GeventWaiter` there.
    """

    blocking = True

    @property
    def first_wait(self) -> float:  # type: ignore[override]
        return self.check_interval

    def attach(self, queue: object) -> None:
        if _gevent_patched("select") or _gevent_patched("thread"):
            warnings.warn(
                f"{queue!r} uses BlockingWaiter in a process patched by gevent: "
                "each blocked get() or put() stops every greenlet; "
                "use SelectWaiter or GeventWaiter",
                RuntimeWarning,
                stacklevel=3,  # attach() <- MessageQueue.__init__ <- the caller
            )

    def block(self, call: Call, seconds: float) -> int:
        return call.attempt_for(seconds)


def _gevent_patched(module: str) -> bool:
    monkey: Any = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched(module))


_WAITERS: dict[str, Callable[[], Waiter]] = {
    "select": SelectWaiter,
    "gevent": GeventWaiter,
    "blocking": BlockingWaiter,
}


def default_waiter() -> Waiter:
    """The waiter of a queue created without one: ``$POSIXQ_WAITER`` or SelectWaiter."""
    choice = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if not choice:
        return SelectWaiter()
    try:
        return _WAITERS[choice]()
    except KeyError:
        raise InvalidArgumentError(
            f"{ENVIRONMENT_VARIABLE}={choice!r} is not a waiter; use one of: {', '.join(_WAITERS)}"
        ) from None
