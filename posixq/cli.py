"""The command line: ``python -m posixq`` and the ``posixq`` script.

It reads and writes queues from shell pipelines, creates, inspects and
removes them, lists those of the host and explains the host's limits. The
options baseplate's ``python -m baseplate.lib.message_queue`` takes
(``--read``, ``--write``, ``--create``, ``--max-messages``,
``--max-message-size`` and the queue's name) work the same way here.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import sys
from time import monotonic
from types import FrameType
from typing import Any, Optional, Sequence

from . import errors
from ._cli_args import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    parse,
)
from ._cli_framing import FramingError, encode, escape, read_frames
from ._cli_host import HostError, info, limits, list_queues
from .queue import MessageQueue, unlink
from .waiters import BlockingWaiter, SelectWaiter, Waiter, default_waiter

__all__ = ["main", "run"]

# While --read waits, how often it checks that stdout's reader is still there.
_WATCH_SECONDS = 0.25


def _waiter(name: Optional[str]) -> Waiter:
    if name == "gevent":
        from .waiters import GeventWaiter

        return GeventWaiter()
    if name == "blocking":
        return BlockingWaiter()
    return SelectWaiter() if name == "select" else default_waiter()


def _say(message: object) -> None:
    print(f"posixq: {message}", file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _lost(queue: str, message: bytes, priority: int, why: str) -> None:
    _say(
        f"{why}; this message (priority {priority}, {len(message)} bytes) was taken "
        f"off {queue} and may not have reached stdout: {escape(message)}"
    )


class _Interrupt:
    """While --read runs, a first SIGINT or SIGTERM ends it between messages, a second at once.

    The first signal closes the queue, which ends a get() waiting for a
    message; a message already taken is written out first. A signal the
    process was started to ignore stays ignored.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, mq: MessageQueue) -> None:
        self.signum = 0
        self._mq = mq
        self._previous: dict[int, Any] = {}

    @property
    def status(self) -> int:
        """The exit status after the signal: 128 + its number."""
        return 128 + (self.signum or signal.SIGINT)

    def __enter__(self) -> _Interrupt:
        for signum in self.SIGNALS:
            if signal.getsignal(signum) == signal.SIG_IGN:
                continue
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: signals are not ours to handle
                break
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.signum:
            raise KeyboardInterrupt
        self.signum = signum
        self._mq.close()  # a get() waiting now ends with QueueClosedError


def _reader_gone(fd: int) -> bool:
    """Whether ``fd`` is a pipe, socket or terminal whose other end has gone."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _take(mq: MessageQueue, timeout: Optional[float], watched: Optional[int]) -> tuple[bytes, int]:
    """The next message and its priority.

    While it waits, it checks every so often that the reader of stdout
    (``watched``) is still there, and raises BrokenPipeError if it is not.
    """
    deadline = None if timeout is None else monotonic() + timeout
    while True:
        wait = timeout
        if watched is not None:
            wait = _WATCH_SECONDS if deadline is None else max(0.0, deadline - monotonic())
            wait = min(wait, _WATCH_SECONDS)
        try:
            return mq.get_with_priority(wait)
        except errors.TimedOutError:
            if deadline is not None and monotonic() >= deadline:
                how_long = f"stayed empty for {timeout:g} s" if timeout else "was empty"
                raise errors.TimedOutError(
                    f"queue {mq.name!r} {how_long} (--timeout {timeout:g})"
                ) from None
            if watched is not None and _reader_gone(watched):
                raise BrokenPipeError from None


def _read(args: argparse.Namespace, mq: MessageQueue) -> int:
    out = sys.stdout.buffer
    try:
        watched: Optional[int] = out.fileno()
    except (OSError, ValueError):  # not a real file (e.g. captured by a test)
        watched = None
    taken = 0
    with _Interrupt(mq) as interrupt:
        try:
            while args.count is None or taken < args.count:
                try:
                    message, priority = _take(mq, args.timeout, watched)
                except errors.QueueClosedError:
                    if interrupt.signum:
                        return interrupt.status
                    raise
                try:
                    out.write(encode(message, priority, args.framing, args.with_priority))
                    out.flush()
                except BrokenPipeError:
                    _lost(mq.name, message, priority, "stdout was closed")
                    _silence_stdout()
                    return EXIT_BROKEN_PIPE
                except KeyboardInterrupt:
                    _lost(mq.name, message, priority, "interrupted while writing it out")
                    return interrupt.status
                except OSError as exc:
                    _lost(mq.name, message, priority, f"cannot write to stdout: {exc.strerror}")
                    return EXIT_ERROR
                taken += 1
                if interrupt.signum:
                    return interrupt.status
        except KeyboardInterrupt:
            return interrupt.status
    return EXIT_OK


def _write(args: argparse.Namespace, mq: MessageQueue) -> int:
    sent = 0
    frames = read_frames(sys.stdin.buffer, args.framing, args.with_priority, mq.max_message_size)
    try:
        for message, priority in frames:
            if priority is None:
                priority = args.priority or 0
            mq.put(message, args.timeout, priority=priority)
            sent += 1
    except (errors.MessageQueueError, FramingError) as exc:
        if sent:
            _say(f"{exc} ({sent} message{'s' if sent > 1 else ''} before it went to {mq.name})")
        else:
            _say(exc)
        return EXIT_TIMEOUT if isinstance(exc, errors.TimedOutError) else EXIT_ERROR
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    action = args.action
    if action == "limits":
        fits = limits(args.max_messages, args.max_message_size, args.json)
        return EXIT_OK if fits else EXIT_ERROR
    if action == "list":
        list_queues(args.json)
        return EXIT_OK
    if action == "info":
        info(args.queue, args.json)
        return EXIT_OK
    if action == "unlink":
        unlink(args.queue)
        return EXIT_OK
    if action == "read" and sys.stdout is None:
        raise HostError("stdout is closed: there is nowhere to write the messages")
    if action == "write" and sys.stdin is None:
        raise HostError("stdin is closed: there are no messages to send")
    waiter = _waiter(args.waiter) if action != "create" else SelectWaiter()
    sizes = int(args.max_messages), int(args.max_message_size)
    create = not args.no_create
    with MessageQueue(args.queue, *sizes, waiter=waiter, mode=int(args.mode), create=create) as mq:
        if action == "read":
            return _read(args, mq)
        if action == "write":
            return _write(args, mq)
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with ``argv`` (by default ``sys.argv[1:]``); return the exit status."""
    try:
        args = parse(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _run(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except errors.TimedOutError as exc:
        _say(exc)
        return EXIT_TIMEOUT
    except (errors.MessageQueueError, HostError, ImportError, OSError) as exc:
        _say(exc)
        return EXIT_ERROR


def run() -> None:
    """The ``posixq`` console script."""
    sys.exit(main())
