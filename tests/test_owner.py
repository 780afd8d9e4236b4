"""A queue reports its owner and mode, so that code can refuse one it did not expect."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support import unique_name, unlink_quietly

import posixq


def test_owner_and_mode_of_a_new_queue(make_queue) -> None:  # type: ignore[no-untyped-def]
    """A queue this process creates is owned by its uid and gid, with the mode asked for."""
    mq = make_queue(mode=0o640)
    assert mq.owner == (os.getuid(), os.getgid())
    assert mq.mode == 0o640


def test_owner_reveals_a_queue_created_by_another_user() -> None:
    """A queue another user created first reports that user as its owner."""
    if os.getuid() != 0:
        pytest.skip("needs root, to create a queue as another user")
    name = unique_name("owner")
    # The child drops to uid/gid 65534 once posixq is imported (its files may
    # not be readable by that user), then creates the queue.
    create = """
import os, sys
import posixq
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
posixq.MessageQueue(sys.argv[1], 1, 8, mode=0o666).close()
"""
    try:
        subprocess.run(
            [sys.executable, "-I", "-c", create, name], check=True, capture_output=True, cwd="/"
        )
        with posixq.MessageQueue(name, 1, 8) as mq:
            assert not mq.created
            assert mq.owner == (65534, 65534)
            assert mq.mode == 0o666
    finally:
        unlink_quietly(name)


def test_owner_of_a_closed_queue_is_an_error(make_queue) -> None:  # type: ignore[no-untyped-def]
    """Asking a closed queue for its owner raises QueueClosedError."""
    mq = make_queue()
    mq.close()
    with pytest.raises(posixq.QueueClosedError):
        mq.owner  # noqa: B018
