"""Helpers the tests share: unique queue names, waiters by name, subprocesses."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import uuid
from typing import Callable

import pytest

import posixq
from posixq.waiters import BlockingWaiter, SelectWaiter, Waiter

#: Every name unique_name() gave out; the session checks none is left behind.
HANDED_OUT: list[str] = []


def unique_name(prefix: str = "t") -> str:
    """A queue name no other test, process or run uses."""
    name = f"/posixq-{prefix}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    HANDED_OUT.append(name)
    return name


def unlink_quietly(name: str) -> None:
    """Unlink ``name`` if it exists."""
    with contextlib.suppress(FileNotFoundError):
        posixq.unlink(name)


def _gevent_waiter() -> Waiter:
    pytest.importorskip("gevent", reason="GeventWaiter needs gevent (pip install posixq[gevent])")
    from posixq.waiters import GeventWaiter

    return GeventWaiter()


#: Every waiter, by name, for tests that run one scenario against each.
WAITERS: dict[str, Callable[[], Waiter]] = {
    "select": SelectWaiter,
    "gevent": _gevent_waiter,
    "blocking": BlockingWaiter,
}


def python(code: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    """Start ``python -c code args...`` with text pipes; the caller waits for it."""
    return subprocess.Popen(
        # -I: the child imports the installed posixq, never the source tree in its cwd.
        [sys.executable, "-I", "-c", textwrap.dedent(code), *args],
        stdin=kwargs.pop("stdin", subprocess.PIPE),  # type: ignore[arg-type]
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )
