"""A queue opened before os.fork() works on both sides; the child's exit closes only its own."""

from __future__ import annotations

import os

import pytest
from support import python

import posixq

FORKED = """
    import os, sys, time, traceback
    import posixq

    name, how_child_ends = sys.argv[1], sys.argv[2]
    mq = posixq.MessageQueue(name, create=False)
    # Wait once before the fork, so that the waiter (and gevent's hub) is set up.
    try:
        mq.get(timeout=0.01)
    except posixq.TimedOutError:
        pass
    to_parent_r, to_parent_w = os.pipe()
    to_child_r, to_child_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(to_parent_r)
            os.close(to_child_w)
            os.write(to_parent_w, b"ready")
            assert mq.get(timeout=10) == b"to child"  # waits: the parent sends later
            os.write(to_parent_w, b"took")
            time.sleep(0.1)  # the parent waits in get()
            mq.put(b"to parent")
            assert os.read(to_child_r, 4) == b"exit"
            if how_child_ends == "close":
                mq.close()
            status = 0
        except BaseException:
            traceback.print_exc()
        if how_child_ends == "sys.exit":
            sys.exit(status)  # runs the interpreter's shutdown, which collects mq
        os._exit(status)
    os.close(to_parent_w)
    os.close(to_child_r)
    assert os.read(to_parent_r, 5) == b"ready"
    time.sleep(0.1)  # the child waits in get()
    mq.put(b"to child")
    assert os.read(to_parent_r, 4) == b"took"
    got = mq.get(timeout=10)  # waits for the child's answer
    assert got == b"to parent", got
    os.write(to_child_w, b"exit")
    _, status = os.waitpid(pid, 0)
    assert status == 0, status
    # The child's descriptor is gone; the parent's still works, also for waiting.
    mq.put(b"after")
    assert mq.get(timeout=0) == b"after"
    try:
        mq.get(timeout=0.05)
    except posixq.TimedOutError:
        pass
    assert mq.current_messages == 0
    mq.close()
    print("ok")
"""


@pytest.mark.parametrize("how_child_ends", ["_exit", "sys.exit", "close"])
def test_a_queue_opened_before_fork_works_on_both_sides(
    waiter_name: str, queue_name: str, how_child_ends: str
) -> None:
    """Parent and child exchange messages over one inherited queue; the child's exit spares it."""
    with posixq.MessageQueue(queue_name, 2, 32, exclusive=True) as mq:
        child = python(
            FORKED, queue_name, how_child_ends, env={**os.environ, "POSIXQ_WAITER": waiter_name}
        )
        out, err = child.communicate(timeout=60)
        assert (child.returncode, out) == (0, "ok\n"), err
        assert mq.current_messages == 0
