"""Queue names: checked before any system call, with an error saying what is wrong."""

from __future__ import annotations

import contextlib

import pytest
from support import HANDED_OUT, unique_name, unlink_quietly

import posixq
import posixq._lowlevel
from posixq import MessageQueue, MessageQueueError

BAD_NAMES = {
    "no leading slash": ("jobs", "must start with a slash"),
    "empty": ("", "must start with a slash"),
    "slash alone": ("/", "at least one character"),
    "second slash": ("/jobs/today", "only its first slash"),
    "double slash": ("//jobs", "only its first slash"),
    "trailing slash": ("/jobs/", "only its first slash"),
    "NUL": ("/jo\0bs", "NUL"),
    "256 bytes": ("/" + "x" * 256, "256 bytes"),
    "256 bytes in 128 characters": ("/" + "é" * 128, "256 bytes"),
    "dot": ("/.", "not a valid queue name"),
    "dot dot": ("/..", "not a valid queue name"),
}

NOT_STR = {"bytes": b"/jobs", "None": None, "int": 5, "list": ["/jobs"]}


def _no_call(*args: object, **kwargs: object) -> None:
    raise AssertionError("a queue was opened or unlinked before the name was checked")


@pytest.fixture
def no_system_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if posixq goes as far as opening or unlinking a queue."""
    monkeypatch.setattr(posixq._lowlevel, "open_queue", _no_call)
    monkeypatch.setattr(posixq._lowlevel, "unlink", _no_call)


@contextlib.contextmanager
def long_name(length: int, filler: str = "x"):
    """A unique name of exactly ``length`` bytes after its slash, unlinked afterwards."""
    base = unique_name("long")
    need, width = length + 1 - len(base.encode()), len(filler.encode())
    name = base + "x" * (need % width) + filler * (need // width)
    assert len(name.encode()) - 1 == length
    HANDED_OUT.append(name)
    try:
        yield name
    finally:
        unlink_quietly(name)


@pytest.mark.usefixtures("no_system_calls")
@pytest.mark.parametrize(("name", "says"), BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_bad_name_is_a_value_error(name, says) -> None:
    """Opening a queue with a bad name is a ValueError that says what is wrong."""
    with pytest.raises(ValueError, match=says) as caught:
        MessageQueue(name, 1, 1)
    assert isinstance(caught.value, MessageQueueError)


@pytest.mark.usefixtures("no_system_calls")
@pytest.mark.parametrize(("name", "says"), BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_unlink_checks_the_name_too(name, says) -> None:
    """posixq.unlink() checks the name the same way, before any system call."""
    with pytest.raises(ValueError, match=says) as caught:
        posixq.unlink(name)
    assert isinstance(caught.value, MessageQueueError)


@pytest.mark.usefixtures("no_system_calls")
@pytest.mark.parametrize("name", NOT_STR.values(), ids=NOT_STR.keys())
def test_name_of_another_type_is_a_type_error(name) -> None:
    """A name that is not a str is a TypeError asking for one."""
    with pytest.raises(TypeError, match="must be a str") as caught:
        MessageQueue(name, 1, 1)
    assert isinstance(caught.value, MessageQueueError)


def test_no_slash_error_suggests_the_fix() -> None:
    """The error for a name without its slash shows the name with one."""
    with pytest.raises(ValueError, match="'/jobs'"):
        MessageQueue("jobs", 1, 1)


@pytest.mark.parametrize("filler", ["x", "é"], ids=["ASCII", "two-byte characters"])
def test_255_byte_name_works(filler) -> None:
    """A name of exactly 255 bytes after its slash is a working queue."""
    with long_name(255, filler) as name, MessageQueue(name, 1, 8) as mq:
        mq.put(b"ok")
        with MessageQueue(name, create=False) as other:
            assert other.get(timeout=0) == b"ok"
        assert mq.name == name


def test_non_ascii_name_works() -> None:
    """A name of any Unicode characters is a queue that other opens find by name."""
    name = unique_name("очередь-☃-キュー")
    try:
        with MessageQueue(name, 1, 8) as mq:
            assert mq.name == name
            mq.put(b"hi")
            with MessageQueue(name, create=False) as again:
                assert again.get(timeout=0) == b"hi"
        posixq.unlink(name)
        with pytest.raises(FileNotFoundError):
            MessageQueue(name, create=False)
    finally:
        unlink_quietly(name)
