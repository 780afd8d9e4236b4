"""Bad input from hypothesis: a documented error or success, never a crash, hang or torn message."""

from __future__ import annotations

import array
import contextlib
import ctypes
import math
import os
import stat
from collections import Counter
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support import HANDED_OUT, python, unique_name, unlink_quietly

import posixq
import posixq.waiters

PRIORITY_MAX = os.sysconf("SC_MQ_PRIO_MAX")
SIZE = 16  # the fuzzed queue's max_message_size
SLOTS = 4
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: How many cases each test tried, printed after the module's tests (pytest -s shows it).
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print(f"\nfuzz cases tried: {dict(TRIED)}, {sum(TRIED.values())} in all")


# Exceptions a rejected argument may raise; every one is a MessageQueueError.
REJECTED = (posixq.ArgumentTypeError, posixq.InvalidArgumentError)


def outcome(call: Callable[[], Any]) -> tuple[Any, posixq.MessageQueueError | None]:
    """What ``call`` returned, or the posixq error it raised; any other exception fails the test."""
    try:
        return call(), None
    except posixq.MessageQueueError as exc:
        return None, exc


class NoBuffer:
    """An object with __bytes__ but no buffer protocol: not a message."""

    def __bytes__(self) -> bytes:
        return b"no"


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.builds(object),
    st.builds(NoBuffer),
    st.lists(st.integers(0, 255), max_size=4),
)


def valid_name(name: object) -> bool:
    """The documented rule: a slash, then 1 to 255 bytes, none a slash or NUL, not . or .."""
    if not isinstance(name, str) or not name.startswith("/"):
        return False
    rest = name[1:]
    if not rest or "/" in rest or "\0" in rest or rest in (".", ".."):
        return False
    try:
        return len(os.fsencode(rest)) <= 255
    except UnicodeEncodeError:
        return False


names = st.one_of(
    st.text(max_size=300),
    st.text(max_size=300).map(lambda s: "/" + s),
    st.text(st.characters(blacklist_characters="/\0"), min_size=1, max_size=300).map(
        lambda s: "/posixq-fuzz-absent-" + s
    ),
    st.sampled_from(["/", "//", "/.", "/..", "/a/b", "/a\0b", "a", "", "/\udcff", "/\ud800"]),
    anything,
)


@FUZZ
@given(name=names)
@example(name="/" + "x" * 255)
@example(name="/" + "x" * 256)
@example(name="/" + "é" * 128)
def test_names_are_checked_before_the_system_sees_them(name: object) -> None:
    """Any name opens an existing queue or fails with QueueNotFoundError or a rejection."""
    TRIED["names"] += 1
    try:
        mq = posixq.MessageQueue(name, create=False)  # type: ignore[arg-type]
    except posixq.QueueNotFoundError:
        assert valid_name(name)
    except posixq.QueuePermissionError:
        assert valid_name(name)  # someone else's queue on this host
    except REJECTED:
        assert not valid_name(name)
    else:
        mq.close()  # someone else's queue on this host: leave it alone
        assert valid_name(name)
    with contextlib.suppress(posixq.QueueNotFoundError, posixq.QueuePermissionError, *REJECTED):
        if not valid_name(name):
            posixq.unlink(name)  # type: ignore[arg-type]
            raise AssertionError(f"unlink accepted {name!r}")


@FUZZ
@given(suffix=st.text(st.characters(blacklist_characters="/\0"), min_size=1, max_size=250))
@example(suffix="." * 250)
@example(suffix=" \n\t\\%2e%2e")
def test_every_valid_name_makes_a_queue_of_its_own(suffix: str) -> None:
    """A valid name creates one queue, found by that name only, and unlink removes it."""
    TRIED["created names"] += 1
    prefix = unique_name("fz")
    name = prefix + suffix
    try:
        encoded = os.fsencode(name)
    except UnicodeEncodeError:
        return  # rejected before the system; covered above
    name = os.fsdecode(encoded[:256])  # at most 255 bytes after the slash
    if not valid_name(name):
        return
    HANDED_OUT.append(name)
    try:
        with posixq.MessageQueue(name, 1, 8, exclusive=True) as mq:
            mq.put(b"mine")
            with posixq.MessageQueue(name, create=False) as again:
                assert again.get(timeout=0) == b"mine"
            with pytest.raises(posixq.QueueNotFoundError):
                posixq.MessageQueue(prefix + "-other", create=False)
        posixq.unlink(name)
        with pytest.raises(posixq.QueueNotFoundError):
            posixq.unlink(name)
    finally:
        unlink_quietly(name)


def size_rule(value: object) -> type[BaseException] | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return posixq.ArgumentTypeError
    if value < 1 or value > 2**31 - 1:
        return posixq.InvalidArgumentError
    return None


# Sizes that fit (tiny), that no kernel accepts, and that are not sizes at all. Sizes in
# between could reserve much of the host's shared RLIMIT_MSGQUEUE, so they are left out.
max_messages_values = st.one_of(
    st.integers(1, 8),
    st.integers(65537, 2**31 - 1),
    st.integers(max_value=0),
    st.integers(min_value=2**31),
    st.none(),
    anything,
)
max_message_size_values = st.one_of(
    st.integers(1, 64),
    st.integers(16 * 2**20 + 1, 2**40),
    st.integers(max_value=0),
    anything.filter(lambda v: v is not None),
)


@FUZZ
@given(max_messages=max_messages_values, max_message_size=max_message_size_values)
@example(max_messages=1, max_message_size=16 * 2**20)  # over RLIMIT_MSGQUEUE for anyone
@example(max_messages=0, max_message_size=0)
@example(max_messages=10**5000, max_message_size=1)  # too long to print: still a clear error
@example(max_messages=1, max_message_size=-(10**5000))
@example(max_messages=True, max_message_size=1)
@example(max_messages=1.0, max_message_size=1)
@example(max_messages="1", max_message_size=1)
def test_sizes_are_checked_or_refused_with_the_limit_named(
    max_messages: object, max_message_size: object
) -> None:
    """Sizes create a queue of exactly those sizes, or fail with a documented error."""
    TRIED["sizes"] += 1
    name = unique_name("fz")
    expected = size_rule(max_messages) or size_rule(max_message_size)
    try:
        mq, error = outcome(
            lambda: posixq.MessageQueue(name, max_messages, max_message_size, exclusive=True)  # type: ignore[arg-type]
        )
    finally:
        unlink_quietly(name)
    if isinstance(error, (posixq.QueueSizeError, posixq.QueueLimitError)):
        assert expected is None
        assert "fs.mqueue" in str(error) or "RLIMIT_MSGQUEUE" in str(error)
    elif error is not None:
        assert expected is not None
        assert isinstance(error, expected)
    else:
        assert isinstance(mq, posixq.MessageQueue)
        with mq:
            assert expected is None
            assert mq.max_message_size == max_message_size
            if max_messages is not None:
                assert mq.max_messages == max_messages


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[posixq.MessageQueue]:
    """One queue for the argument fuzzers: each case refills it with the same two messages."""
    name = unique_name("fz")
    with posixq.MessageQueue(name, SLOTS, SIZE, exclusive=True) as mq:
        yield mq
    unlink_quietly(name)


BEFORE = [(b"first", 7), (b"second", 0)]


def refill(mq: posixq.MessageQueue) -> None:
    while mq.current_messages:
        mq.get(timeout=0)
    for data, priority in BEFORE:
        mq.put(data, priority=priority)


def contents(mq: posixq.MessageQueue) -> list[tuple[bytes, int]]:
    return [mq.get_with_priority(timeout=0) for _ in range(mq.current_messages)]


def timeout_rule(value: object) -> type[BaseException] | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return posixq.ArgumentTypeError
    if (isinstance(value, float) and math.isnan(value)) or value < 0:
        return posixq.InvalidArgumentError
    return None


timeouts = st.one_of(
    st.floats(),
    st.integers(),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0, -1, 10**400, -(10**400), -(10**5000)]),
    anything,
)

CALLS: dict[str, Callable[[posixq.MessageQueue, Any], object]] = {
    "get": lambda mq, t: mq.get(timeout=t),
    "get_with_priority": lambda mq, t: mq.get_with_priority(timeout=t),
    "get_into": lambda mq, t: mq.get_into(bytearray(SIZE), timeout=t),
    "get_many": lambda mq, t: mq.get_many(1, timeout=t),
    "put": lambda mq, t: mq.put(b"third", timeout=t, priority=3),
    "put_many": lambda mq, t: mq.put_many([b"third"], timeout=t, priority=3),
}
# What the queue holds after each call succeeds: none of them has to wait.
AFTER = {
    "put": [(b"first", 7), (b"third", 3), (b"second", 0)],
    "put_many": [(b"first", 7), (b"third", 3), (b"second", 0)],
}


@FUZZ
@given(call=st.sampled_from(sorted(CALLS)), timeout=timeouts)
def test_timeouts_are_checked_before_the_queue_is_touched(
    fuzzed: posixq.MessageQueue, call: str, timeout: object
) -> None:
    """A bad timeout is rejected with the queue unchanged; a good one lets the call complete."""
    TRIED["timeouts"] += 1
    refill(fuzzed)
    expected = timeout_rule(timeout)
    _, error = outcome(lambda: CALLS[call](fuzzed, timeout))
    if error is not None:
        assert isinstance(error, expected or ()), error
        assert contents(fuzzed) == BEFORE
    else:
        assert expected is None
        assert contents(fuzzed) == AFTER.get(call, BEFORE[1:])


def as_bytes(message: object) -> bytes | type[BaseException]:
    """The bytes put() should send for ``message``, or the error it should raise."""
    if isinstance(message, str):
        try:
            return message.encode()
        except UnicodeEncodeError:
            return posixq.InvalidArgumentError
    try:
        return memoryview(message).tobytes()  # type: ignore[arg-type]
    except TypeError:
        return posixq.ArgumentTypeError


def array_of(typecode: str) -> st.SearchStrategy[array.array[Any]]:
    values = st.floats(width=32) if typecode in "fd" else st.integers(0, 100)
    return st.lists(values, max_size=6).map(lambda v: array.array(typecode, v))


buffers = st.one_of(
    st.binary(max_size=2 * SIZE),
    st.binary(max_size=2 * SIZE).map(bytearray),
    st.binary(max_size=4 * SIZE).map(lambda b: memoryview(b)[::2]),  # not contiguous
    st.binary(max_size=4 * SIZE).map(lambda b: memoryview(b)[::-3]),
    st.binary(min_size=12, max_size=12).map(lambda b: memoryview(b).cast("B", (3, 4))),
    st.binary(max_size=8).map(lambda b: memoryview(b).toreadonly()),
    st.sampled_from("bBhHiIlLqQfd").flatmap(array_of),
    st.integers(0, 2**31 - 1).map(ctypes.c_int),
)
messages = st.one_of(st.text(max_size=2 * SIZE), buffers, anything)
priorities = st.one_of(
    st.integers(0, PRIORITY_MAX - 1),
    st.sampled_from([-1, PRIORITY_MAX, PRIORITY_MAX + 1, 2**32, 2**64, 10**5000, -(10**5000)]),
    anything,
)


def priority_rule(value: object) -> type[BaseException] | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return posixq.ArgumentTypeError
    if not 0 <= value < PRIORITY_MAX:
        return posixq.InvalidArgumentError
    return None


@FUZZ
@given(message=messages, priority=priorities, many=st.booleans())
@example(message="\ud800", priority=0, many=False)
@example(message="é" * 8, priority=0, many=False)
@example(message="é" * 9, priority=0, many=True)
def test_messages_are_sent_whole_or_not_at_all(
    fuzzed: posixq.MessageQueue, message: object, priority: object, many: bool
) -> None:
    """A message is queued byte for byte at its priority, or rejected with the queue unchanged."""
    TRIED["messages"] += 1
    refill(fuzzed)
    data = as_bytes(message)
    expected: type[BaseException] | None
    if isinstance(data, type):
        expected = data
    elif len(data) > SIZE:
        expected = posixq.MessageTooLargeError
    else:
        expected = priority_rule(priority)
    if many:
        _, error = outcome(lambda: fuzzed.put_many([b"ok", message], timeout=0, priority=priority))  # type: ignore[list-item,arg-type]
    else:
        _, error = outcome(lambda: fuzzed.put(message, timeout=0, priority=priority))  # type: ignore[arg-type]
    if error is not None:
        assert expected is not None, error
        # A message that is too large and a bad priority: either error may come first.
        assert isinstance(error, expected) or (
            isinstance(error, REJECTED) and priority_rule(priority) is not None
        )
        assert contents(fuzzed) == BEFORE
    else:
        assert expected is None
        assert isinstance(data, bytes)
        sent = [(b"ok", priority), (data, priority)] if many else [(data, priority)]
        after = sorted(BEFORE + sent, key=lambda m: -m[1])  # stable: FIFO within a priority
        assert contents(fuzzed) == after


@FUZZ
@given(buffer=st.one_of(buffers, anything, st.integers(0, 64).map(bytearray)))
def test_receive_buffers_are_checked_before_a_message_is_taken(
    fuzzed: posixq.MessageQueue, buffer: object
) -> None:
    """get_into() fills a big enough writable buffer, or refuses it and takes nothing."""
    TRIED["buffers"] += 1
    refill(fuzzed)
    result, error = outcome(lambda: fuzzed.get_into(buffer, timeout=0))
    if error is not None:
        assert isinstance(error, REJECTED), error
        assert contents(fuzzed) == BEFORE
    else:
        assert isinstance(result, tuple)
        length, priority = result
        view = memoryview(buffer).cast("B")  # type: ignore[arg-type]
        assert view.nbytes >= SIZE
        assert not view.readonly
        assert (view[:length].tobytes(), priority) == BEFORE[0]
        assert contents(fuzzed) == BEFORE[1:]


def batch_rule(values: object) -> type[BaseException] | list[bytes]:
    """What put_many() should send for ``values``, or the error it should raise."""
    if isinstance(values, (str, bytes, bytearray, memoryview)):
        return posixq.ArgumentTypeError  # a single message, not a batch
    try:
        items = list(values)  # type: ignore[call-overload]
    except TypeError:
        return posixq.ArgumentTypeError
    datas = [as_bytes(m) for m in items]
    for data in datas:
        if isinstance(data, type):
            return data
    if any(len(d) > SIZE for d in datas):  # type: ignore[arg-type]
        return posixq.MessageTooLargeError
    return datas  # type: ignore[return-value]


@FUZZ
@given(values=st.one_of(anything, messages, st.lists(messages, max_size=2), st.tuples(messages)))
def test_batches_are_sent_whole_or_not_at_all(fuzzed: posixq.MessageQueue, values: object) -> None:
    """put_many() queues every message of a batch, or refuses it and queues none."""
    TRIED["batches"] += 1
    refill(fuzzed)
    expected = batch_rule(values)
    _, error = outcome(lambda: fuzzed.put_many(values, timeout=0, priority=3))  # type: ignore[arg-type]
    if error is not None:
        assert isinstance(expected, type), error
        assert isinstance(error, expected), error
        assert contents(fuzzed) == BEFORE
    else:
        assert isinstance(expected, list)
        assert contents(fuzzed) == [BEFORE[0], *((d, 3) for d in expected), BEFORE[1]]


def count_rule(value: object) -> type[BaseException] | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return posixq.ArgumentTypeError
    return posixq.InvalidArgumentError if value < 1 else None


@FUZZ
@given(max_count=st.one_of(st.integers(), st.sampled_from([0, 1, 2, 3, 10**5000]), anything))
def test_batch_counts_are_checked_before_a_message_is_taken(
    fuzzed: posixq.MessageQueue, max_count: object
) -> None:
    """get_many() takes up to max_count messages in order, or refuses the count and takes none."""
    TRIED["counts"] += 1
    refill(fuzzed)
    expected = count_rule(max_count)
    result, error = outcome(lambda: fuzzed.get_many(max_count, timeout=0))  # type: ignore[arg-type]
    if error is not None:
        assert isinstance(error, expected or ()), error
        assert contents(fuzzed) == BEFORE
    else:
        assert expected is None
        taken = min(max_count, len(BEFORE))  # type: ignore[call-overload]
        assert result == [data for data, _ in BEFORE[:taken]]
        assert contents(fuzzed) == BEFORE[taken:]


def mode_rule(value: object) -> type[BaseException] | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return posixq.ArgumentTypeError
    return None if 0 <= value <= 0o777 else posixq.InvalidArgumentError


@FUZZ
@given(
    mode=st.one_of(st.integers(-1, 0o1000), st.integers(), anything),
    waiter=st.one_of(st.none(), anything, st.just(posixq.waiters.SelectWaiter)),
)
def test_modes_and_waiters_are_checked_before_anything_is_created(
    mode: object, waiter: object
) -> None:
    """A bad mode or waiter creates nothing; a good mode is the queue's exact mode."""
    TRIED["modes and waiters"] += 1
    name = unique_name("fz")
    expected = mode_rule(mode)
    if expected is None and waiter is not None:
        expected = posixq.ArgumentTypeError  # a waiter class, or not a waiter at all
    try:
        mq, error = outcome(
            lambda: posixq.MessageQueue(name, 1, 8, mode=mode, waiter=waiter, exclusive=True)  # type: ignore[arg-type]
        )
        if error is not None:
            assert isinstance(error, expected or ()), error
            with pytest.raises(posixq.QueueNotFoundError):
                posixq.unlink(name)  # nothing was created
        else:
            with mq:
                assert expected is None
                assert stat.S_IMODE(os.fstat(mq.fileno()).st_mode) == mode
    finally:
        unlink_quietly(name)


CYCLES = """
    import gc, sys
    import posixq

    mq = posixq.MessageQueue(sys.argv[1], create=False)  # 1 message of 16 bytes, full
    calls = [
        lambda: mq.put(bytearray(17)),
        lambda: mq.put(bytearray(3), timeout=0),
        lambda: mq.put(memoryview(bytearray(3)), priority=-1),
        lambda: mq.put_many([memoryview(bytearray(3))], timeout=0),
        lambda: mq.get_into(memoryview(bytearray(8))),
    ]
    for _ in range(20):
        for call in calls:
            try:
                call()
            except posixq.MessageQueueError as exc:
                errors = [exc]
                errors.append(errors)  # a cycle, like an error kept by a logger or a test
            del errors
        gc.collect()
    print("ok")
"""


def test_errors_kept_in_reference_cycles_are_collected_safely(queue_name: str) -> None:
    """Errors of calls given memoryviews may sit in reference cycles: the GC frees them safely."""
    with posixq.MessageQueue(queue_name, 1, 16, exclusive=True) as mq:
        mq.put(b"full")
        child = python(CYCLES, queue_name)
        out, err = child.communicate(timeout=60)
    assert (child.returncode, out) == (0, "ok\n"), err
