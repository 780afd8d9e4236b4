"""Choosing a waiter, and the retry loop that every waiter shares."""

from __future__ import annotations

import select
import threading
import time
from typing import Any, Callable

import pytest
from support import WAITERS, python

import posixq
from posixq.waiters import BlockingWaiter, SelectWaiter

MakeQueue = Callable[..., posixq.MessageQueue]


# -- POSIXQ_WAITER ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "  "])
def test_default_is_select(
    make_queue: MakeQueue, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A queue created without a waiter uses SelectWaiter when POSIXQ_WAITER is unset or empty."""
    monkeypatch.delenv("POSIXQ_WAITER", raising=False)
    assert type(make_queue().waiter) is SelectWaiter
    monkeypatch.setenv("POSIXQ_WAITER", value)
    assert type(make_queue().waiter) is SelectWaiter


@pytest.mark.parametrize("value", ["select", "gevent", "blocking", " Blocking "])
def test_environment_picks_the_default(
    make_queue: MakeQueue, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """POSIXQ_WAITER=select|gevent|blocking (any case) picks the waiter of new queues."""
    expected = type(WAITERS[value.strip().lower()]())  # skips gevent when not installed
    monkeypatch.setenv("POSIXQ_WAITER", value)
    mq = make_queue()
    assert type(mq.waiter) is expected
    mq.put(b"m")
    assert mq.get(timeout=1) == b"m"


def test_environment_with_an_unknown_waiter_is_a_clear_error(
    queue_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown POSIXQ_WAITER is a ValueError naming the variable and the choices,
    raised before any queue is created."""
    monkeypatch.setenv("POSIXQ_WAITER", "epoll")
    with pytest.raises(ValueError, match="POSIXQ_WAITER") as caught:
        posixq.MessageQueue(queue_name, 1, 8)
    assert isinstance(caught.value, posixq.MessageQueueError)
    for word in ("epoll", "select", "gevent", "blocking"):
        assert word in str(caught.value)
    with pytest.raises(FileNotFoundError):
        posixq.MessageQueue(queue_name, create=False, waiter=SelectWaiter())


def test_an_explicit_waiter_wins_over_the_environment(
    make_queue: MakeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiter passed to MessageQueue is used whatever POSIXQ_WAITER says."""
    monkeypatch.setenv("POSIXQ_WAITER", "not-a-waiter")
    assert type(make_queue(waiter=BlockingWaiter()).waiter) is BlockingWaiter


def test_importing_posixq_does_not_import_gevent(tmp_path: Any) -> None:
    """gevent stays optional: importing posixq and its waiters leaves it unimported."""
    child = python(
        "import sys, posixq, posixq.waiters; print('gevent' in sys.modules)", cwd=tmp_path
    )
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert out.strip() == "False"


def test_select_waiter_looks_up_poll_at_each_wait(
    make_queue: MakeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SelectWaiter waits with select.poll as the module holds it at the time of the
    wait (so gevent's monkey-patching applies), never with select.select."""
    polls = []
    real_poll = select.poll

    def spy() -> Any:
        polls.append(1)
        return real_poll()

    def forbidden(*args: object) -> None:
        raise AssertionError("select.select cannot wait on descriptors >= 1024")

    mq = make_queue(waiter=SelectWaiter())
    monkeypatch.setattr(select, "poll", spy)
    monkeypatch.setattr(select, "select", forbidden)
    with pytest.raises(posixq.TimedOutError):
        mq.get(timeout=0.05)
    assert polls


# -- a wake-up lost to another consumer ----------------------------------------------


def consume(mq: posixq.MessageQueue, timeout: float, results: list[Any]) -> None:
    """Append (what get(timeout) returned or raised, seconds it took) to results."""
    start = time.monotonic()
    try:
        outcome: object = mq.get(timeout=timeout)
    except Exception as exc:
        outcome = exc
    results.append((outcome, time.monotonic() - start))


def race(make_queue: MakeQueue, waiter_name: str, messages: list[tuple[float, bytes]]) -> list[Any]:
    """Two consumers wait with get(timeout=1) on one empty queue, through two
    descriptors, while ``messages`` are put at the given times; their outcomes."""
    first = make_queue(waiter=WAITERS[waiter_name]())
    second = make_queue(first.name, waiter=WAITERS[waiter_name]())
    results: list[Any] = []
    threads = [
        threading.Thread(target=consume, args=(mq, 1.0, results), daemon=True)
        for mq in (first, second)
    ]
    for thread in threads:
        thread.start()
    start = time.monotonic()
    for at, message in messages:
        time.sleep(max(0.0, at - (time.monotonic() - start)))
        first.put(message)
    for thread in threads:
        thread.join(5)
    assert len(results) == 2, "a consumer is still waiting"
    return sorted(results, key=lambda result: result[1])


def test_loser_of_a_race_keeps_waiting_for_the_next_message(
    make_queue: MakeQueue, waiter_name: str
) -> None:
    """Of two consumers woken by one message, the one that finds the queue empty again
    waits on and takes the next message."""
    (winner, _), (loser, waited) = race(make_queue, waiter_name, [(0.2, b"one"), (0.5, b"two")])
    assert (winner, loser) == (b"one", b"two")
    assert waited >= 0.45


def test_loser_of_a_race_times_out_no_sooner_than_its_timeout(
    make_queue: MakeQueue, waiter_name: str
) -> None:
    """Of two consumers woken by one message, the one that finds the queue empty again
    raises TimedOutError only once its whole timeout has passed."""
    (winner, _), (loser, waited) = race(make_queue, waiter_name, [(0.2, b"one")])
    assert winner == b"one"
    assert isinstance(loser, posixq.TimedOutError)
    assert 1.0 <= waited < 1.25
