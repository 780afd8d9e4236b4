"""gevent: waits that never block the hub, and interruptions that lose no message.

Each scenario runs in its own process, since monkey-patching cannot be undone:
``patched-select`` is a monkey-patched process using the default waiter
(SelectWaiter), ``plain-gevent`` an unpatched one using GeventWaiter, and
``patched-gevent`` a patched one using GeventWaiter.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from support import python

pytest.importorskip("gevent", reason="the gevent scenarios need gevent")

PROLOGUE = """
import json, sys, time
name, mode = sys.argv[1], sys.argv[2]
if mode.startswith("patched"):
    from gevent import monkey
    monkey.patch_all()
import gevent, posixq
from posixq.waiters import GeventWaiter

def open_queue(max_messages=1):
    waiter = GeventWaiter() if mode.endswith("gevent") else None
    return posixq.MessageQueue(name, max_messages, 16, waiter=waiter)

def report(**values):
    print(json.dumps(values))

def drain(mq):
    messages = []
    while mq.current_messages:
        messages.append(mq.get(timeout=0))
    return messages
"""

ALL_MODES = ["patched-select", "plain-gevent", "patched-gevent"]


def run(script: str, queue_name: str, mode: str, tmp_path: Any, *args: str) -> dict[str, Any]:
    """Run PROLOGUE + ``script`` in a new process; what it reported."""
    env = {key: value for key, value in os.environ.items() if key != "POSIXQ_WAITER"}
    child = python(PROLOGUE + script, queue_name, mode, *args, cwd=tmp_path, env=env)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert not err, err
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


TICKER = """
reader, writer = open_queue(), open_queue()
ticks = []

def ticker():
    while True:
        ticks.append(time.monotonic())
        gevent.sleep(0.01)

def put_later():
    gevent.sleep(0.5)
    writer.put(b"hello")

def get():
    start = time.monotonic()
    message = reader.get(timeout=1)
    return message, start, time.monotonic()

ticking = gevent.spawn(ticker)
gevent.sleep(0.05)
getter, putter = gevent.spawn(get), gevent.spawn(put_later)
message, start, end = getter.get()
ticking.kill()
during = [tick for tick in ticks if start <= tick <= end]
gaps = [b - a for a, b in zip(during, during[1:])]
report(waiter=type(reader.waiter).__name__, message=message.decode(),
       elapsed=end - start, ticks=len(during), max_gap=max(gaps))
reader.close()
writer.close()
"""


@pytest.mark.parametrize(
    ("mode", "waiter"), [("patched-select", "SelectWaiter"), ("plain-gevent", "GeventWaiter")]
)
def test_hub_keeps_running_while_a_greenlet_waits(
    queue_name: str, tmp_path: Any, mode: str, waiter: str
) -> None:
    """While one greenlet waits in get(timeout=1) and another puts after 0.5 s, a
    ticker greenlet keeps ticking every 10 ms: the wait never blocks the hub."""
    result = run(TICKER, queue_name, mode, tmp_path)
    assert result["waiter"] == waiter
    assert result["message"] == "hello"
    assert 0.45 <= result["elapsed"] < 0.7
    assert result["ticks"] >= 25
    assert result["max_gap"] < 0.06


BLOCKING_WARNS = """
import warnings
from posixq.waiters import BlockingWaiter, SelectWaiter
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    blocking = posixq.MessageQueue(name, 1, 16, waiter=BlockingWaiter())
    selecting = posixq.MessageQueue(name, 1, 16, waiter=SelectWaiter())
    cooperative = open_queue()
report(warnings=[(w.category.__name__, str(w.message), w.filename) for w in caught])
for mq in (blocking, selecting, cooperative):
    mq.close()
"""


def test_blocking_waiter_in_a_patched_process_warns(queue_name: str, tmp_path: Any) -> None:
    """BlockingWaiter in a monkey-patched process emits one RuntimeWarning, pointing at
    the line that created the queue; the cooperative waiters emit none."""
    (warning,) = run(BLOCKING_WARNS, queue_name, "patched-gevent", tmp_path)["warnings"]
    category, message, filename = warning
    assert category == "RuntimeWarning"
    assert "BlockingWaiter" in message
    assert queue_name in message
    assert filename == "<string>"  # the script, not posixq's own code


LOSE_NOTHING = """
reader, writer = open_queue(10), open_queue(10)
sent, received, unsent = [], [], []

# get() interrupted by gevent.Timeout, with a message arriving about then.
for i in range(20):
    message = b"timeout %d" % i
    gevent.spawn_later(0.018 + 0.0002 * i, lambda m=message: (writer.put(m), sent.append(m)))
    with gevent.Timeout(0.02, False):
        received.append(reader.get())
    gevent.sleep(0.01)
    received.extend(drain(reader))

# get() killed just after a message was put, before it could run again.
for i in range(10):
    getter = gevent.spawn(lambda: received.append(reader.get()))
    gevent.sleep(0.02)
    writer.put(b"kill %d" % i)
    sent.append(b"kill %d" % i)
    getter.kill()
    received.extend(drain(reader))

# put() on a full queue, interrupted by a Timeout or killed just after room was made.
for i in range(10):
    writer.put_many([b"fill"] * (10 - writer.current_messages))
    with gevent.Timeout(0.02, False):
        writer.put(b"timed out %d" % i)
        sent.append(b"timed out %d" % i)
    message = b"killed %d" % i
    putter = gevent.spawn(lambda m=message: (writer.put(m), sent.append(m)))
    gevent.sleep(0.02)
    reader.get()  # room for one
    putter.kill()
    received.extend(m for m in drain(reader) if m != b"fill")

writer.put(b"still usable")
report(sent=sorted(m.decode() for m in sent), received=sorted(m.decode() for m in received),
       after=reader.get(timeout=1).decode(), left=reader.current_messages)
reader.close()
writer.close()
"""


@pytest.mark.parametrize("mode", ALL_MODES)
def test_timeout_and_kill_lose_no_message(queue_name: str, tmp_path: Any, mode: str) -> None:
    """gevent.Timeout or Greenlet.kill during get() or put() loses no message: every
    message sent is received exactly once, a put that was interrupted sent nothing,
    and the queue stays usable."""
    result = run(LOSE_NOTHING, queue_name, mode, tmp_path)
    assert result["received"] == result["sent"]
    assert result["after"] == "still usable"
    assert result["left"] == 0


CLOSE_WAKES = """
import os
reader = open_queue()
reader.waiter.check_interval = float(sys.argv[3])
fd = reader.fileno()
outcome = []

def get():
    try:
        reader.get()
    except Exception as error:
        outcome.append((error, time.monotonic()))

getter = gevent.spawn(get)
gevent.sleep(0.1)
start = time.monotonic()
reader.close()
getter.join(10)
error, end = outcome[0]
gevent.sleep(0.05)  # the hub still runs: no watcher was left on the closed descriptor
try:
    still_open = name in os.readlink("/proc/self/fd/%d" % fd)
except OSError:
    still_open = False
report(error=type(error).__name__, message=str(error), elapsed=end - start, still_open=still_open)
"""


@pytest.mark.parametrize(
    ("mode", "check_interval", "within"),
    [
        # GeventWaiter is woken by close() itself, however long its check_interval.
        ("plain-gevent", 5.0, 0.5),
        ("patched-gevent", 5.0, 0.5),
        # SelectWaiter notices the close at its next check.
        ("patched-select", 0.1, 0.3),
    ],
)
def test_close_from_another_greenlet_wakes_a_waiting_get(
    queue_name: str, tmp_path: Any, mode: str, check_interval: float, within: float
) -> None:
    """close() from one greenlet ends another's waiting get() with QueueClosedError
    promptly, and the process no longer holds the queue through that descriptor."""
    result = run(CLOSE_WAKES, queue_name, mode, tmp_path, str(check_interval))
    assert result["error"] == "QueueClosedError"
    assert queue_name in result["message"]
    assert result["elapsed"] < within
    assert not result["still_open"]
