"""AsyncMessageQueue between processes: each side runs its own event loop."""

from __future__ import annotations

import asyncio
import subprocess
import time
from typing import Callable

import pytest
from aio_support import SLACK, run
from support import python

from posixq.aio import AsyncMessageQueue

MakeQueue = Callable[..., AsyncMessageQueue]


#: A child that answers each message on argv[1] with the message and "!" on argv[2],
#: until "stop", running the event loop named by argv[3].
ECHO = """
import asyncio, sys
from posixq.aio import AsyncMessageQueue

ping_name, pong_name, loop_name = sys.argv[1:4]

async def main():
    async with AsyncMessageQueue(ping_name, create=False) as ping, \\
            AsyncMessageQueue(pong_name, create=False) as pong:
        await pong.put(b"ready")
        async for message in ping:
            if message == b"stop":
                break
            await pong.put(message + b"!")

if loop_name == "uvloop":
    import uvloop
    loop = uvloop.new_event_loop()
else:
    loop = asyncio.new_event_loop()
try:
    loop.run_until_complete(main())
finally:
    loop.close()
"""


def finish(child: subprocess.Popen[str]) -> str:
    """Wait for ``child``, killing it if it hangs; it must exit cleanly. Returns its output."""
    try:
        out, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
    assert child.returncode == 0, err
    return out


def test_two_processes_ping_pong(loop_name: str, make_aqueue: MakeQueue) -> None:
    """Two processes, each in its own event loop, pass 300 messages back and forth in order."""
    ping = make_aqueue(max_messages=2, max_message_size=32)
    pong = make_aqueue(max_messages=2, max_message_size=32)
    child = python(ECHO, ping.name, pong.name, loop_name)

    async def main() -> list[bytes]:
        assert await pong.get(timeout=30) == b"ready"
        replies = []
        for i in range(300):
            await ping.put(b"%d" % i, timeout=10)
            replies.append(await pong.get(timeout=10))
        await ping.put(b"stop", timeout=10)
        return replies

    try:
        replies = run(loop_name, main)
    finally:
        if child.poll() is None:
            ping.queue.put(b"stop", timeout=1)
        finish(child)
    assert replies == [b"%d!" % i for i in range(300)]


#: A child that waits argv[2] seconds, then puts (or gets, if argv[3] is "get")
#: one message on queue argv[1] and prints the monotonic time of that call.
ACT_LATER = """
import sys, time
from posixq import MessageQueue

name, delay, action = sys.argv[1], float(sys.argv[2]), sys.argv[3]
with MessageQueue(name, create=False) as mq:
    time.sleep(delay)
    if action == "get":
        mq.get(timeout=5)
    else:
        mq.put(b"from another process", timeout=5)
    print(time.monotonic(), flush=True)
"""


@pytest.mark.parametrize("action", ["put", "get"])
def test_waiting_task_is_woken_by_another_process(
    loop_name: str, make_aqueue: MakeQueue, action: str
) -> None:
    """A get() (put()) waiting in asyncio completes soon after another process puts (gets)."""
    mq = make_aqueue()

    async def main() -> float:
        if action == "get":
            for i in range(mq.max_messages):
                await mq.put(b"%d" % i)
            waiting = asyncio.ensure_future(mq.put(b"mine", timeout=30))
        else:
            waiting = asyncio.ensure_future(mq.get(timeout=30))
        child = python(ACT_LATER, mq.name, "0.3", action)
        try:
            await asyncio.sleep(0.1)
            assert not waiting.done()
            result = await waiting
            done_at = time.monotonic()
        finally:
            out = finish(child)
        if action == "put":
            assert result == b"from another process"
        else:
            assert await mq.get_many(mq.max_messages, timeout=0) == [b"1", b"2", b"3", b"mine"]
        return done_at - float(out)

    # The system's monotonic clock is the same in both processes.
    assert run(loop_name, main) < SLACK
