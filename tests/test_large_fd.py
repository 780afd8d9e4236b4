"""Descriptors numbered 1024 and up, which select() cannot wait on, work with every waiter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import python

#: Exit status of the script when the process may not open enough files.
CANNOT = 77

LARGE_FD = """
import json, os, resource, sys, threading, time, posixq
from posixq import waiters

name, waiter_name, cannot = sys.argv[1], sys.argv[2], int(sys.argv[3])
cls = {"select": waiters.SelectWaiter, "gevent": waiters.GeventWaiter,
       "blocking": waiters.BlockingWaiter}[waiter_name]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = 2048
if soft < want:
    if hard != resource.RLIM_INFINITY and hard < want:
        sys.exit(cannot)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
files = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
mq = posixq.MessageQueue(name, 1, 8, waiter=cls())
fd = mq.fileno()

start = time.monotonic()
try:
    mq.get(timeout=0.1)
except posixq.TimedOutError:
    pass
empty_wait = time.monotonic() - start

threading.Timer(0.2, mq.put, [b"high"]).start()
received = mq.get(timeout=5).decode()

mq.put(b"full")
threading.Timer(0.2, mq.get).start()
start = time.monotonic()
mq.put(b"room", timeout=5)
full_wait = time.monotonic() - start
left = mq.get(timeout=0).decode()
mq.close()
print(json.dumps({"fd": fd, "empty_wait": empty_wait, "received": received,
                  "full_wait": full_wait, "left": left}))
"""


def test_waits_on_a_descriptor_above_1024(queue_name: str, waiter_name: str, tmp_path: Any) -> None:
    """With 1100 files open, a queue's descriptor is >= 1024, and get() and put() still
    wait, time out and deliver with each waiter (poll, not select)."""
    child = python(LARGE_FD, queue_name, waiter_name, str(CANNOT), cwd=tmp_path)
    out, err = child.communicate(timeout=60)
    if child.returncode == CANNOT:
        pytest.skip("RLIMIT_NOFILE's hard limit is below 2048 files")
    assert child.returncode == 0, err
    result = json.loads(out)
    assert result["fd"] >= 1024
    assert result["empty_wait"] >= 0.1
    assert result["received"] == "high"
    assert result["full_wait"] >= 0.15
    assert result["left"] == "room"
