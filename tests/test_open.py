"""Opening and creating queues: sizes, modes, create/exclusive, and errors that say what to do."""

from __future__ import annotations

import contextlib
import errno
import os
import stat

import pytest

import posixq._lowlevel
from posixq import MessageQueue, MessageQueueError, MessageTooLargeError


def sysctl(name: str) -> int:
    with open(f"/proc/sys/fs/mqueue/{name}") as f:
        return int(f.read())


def may_exceed_sysctls() -> bool:
    """Whether this process has CAP_SYS_RESOURCE, which lifts msg_max and msgsize_max."""
    with open("/proc/self/status") as f:
        caps = next(line for line in f if line.startswith("CapEff:"))
    return bool(int(caps.split()[1], 16) & (1 << 24))


needs_sysctl_limits = pytest.mark.skipif(
    may_exceed_sysctls(),
    reason="this process has CAP_SYS_RESOURCE: the kernel lets it exceed fs.mqueue limits",
)


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(mq: MessageQueue) -> int:
    return stat.S_IMODE(os.fstat(mq.fileno()).st_mode)


def assert_absent(name: str) -> None:
    with pytest.raises(FileNotFoundError):
        MessageQueue(name, create=False)


class TestCreateOrOpen:
    def test_creates_when_absent_opens_when_present(self, make_queue, queue_name) -> None:
        """The first open creates the queue; the next one opens the same queue."""
        first = make_queue(queue_name)
        second = make_queue(queue_name)
        assert first.created
        assert not second.created
        first.put(b"shared")
        assert second.get(timeout=0) == b"shared"

    def test_attaching_with_other_sizes_reports_the_real_ones(self, make_queue, queue_name) -> None:
        """An existing queue opened with other sizes keeps and reports its own sizes."""
        owner = make_queue(queue_name, max_messages=2, max_message_size=16)
        owner.put(b"y" * 16)
        other = make_queue(queue_name, max_messages=4, max_message_size=64)
        assert (other.max_messages, other.max_message_size) == (2, 16)
        assert other.get(timeout=0) == b"y" * 16
        with pytest.raises(MessageTooLargeError, match="max_message_size=16"):
            other.put(b"z" * 17)

    def test_attaching_with_sizes_over_the_host_limits(self, make_queue, queue_name) -> None:
        """Sizes asked when opening an existing queue do not matter, even impossible ones."""
        make_queue(queue_name, max_messages=2, max_message_size=16).put(b"a")
        other = make_queue(
            queue_name,
            max_messages=sysctl("msg_max") + 1,
            max_message_size=sysctl("msgsize_max") + 1,
        )
        assert (other.max_messages, other.max_message_size) == (2, 16)
        assert other.get(timeout=0) == b"a"

    def test_attaching_without_sizes(self, make_queue, queue_name) -> None:
        """Opening without sizes reports the existing queue's sizes, not the defaults."""
        make_queue(queue_name, max_messages=3, max_message_size=20)
        other = make_queue(queue_name, max_messages=None, max_message_size=None, create=False)
        assert (other.max_messages, other.max_message_size) == (3, 20)

    def test_create_false_on_missing_queue(self, queue_name) -> None:
        """create=False on a missing queue is a FileNotFoundError naming it; nothing is created."""
        with pytest.raises(FileNotFoundError) as caught:
            MessageQueue(queue_name, 1, 1, create=False)
        assert isinstance(caught.value, MessageQueueError)
        assert caught.value.errno == errno.ENOENT
        assert queue_name in str(caught.value)
        assert_absent(queue_name)

    def test_exclusive_on_existing_queue(self, make_queue, queue_name) -> None:
        """exclusive=True on an existing queue is a FileExistsError naming it."""
        make_queue(queue_name)
        with pytest.raises(FileExistsError) as caught:
            MessageQueue(queue_name, 4, 64, exclusive=True)
        assert isinstance(caught.value, MessageQueueError)
        assert caught.value.errno == errno.EEXIST
        assert queue_name in str(caught.value)

    def test_exclusive_creates_when_absent(self, make_queue) -> None:
        """exclusive=True creates a queue that does not exist."""
        assert make_queue(exclusive=True).created


class TestDefaultSizes:
    def test_no_sizes_take_the_host_defaults(self, make_queue) -> None:
        """Sizes left as None are fs.mqueue.msg_default and msgsize_default."""
        mq = make_queue(max_messages=None, max_message_size=None)
        assert mq.max_messages == sysctl("msg_default")
        assert mq.max_message_size == sysctl("msgsize_default")

    def test_one_size_given(self, make_queue) -> None:
        """A size left as None takes its default while the other is as given."""
        assert make_queue(max_messages=2, max_message_size=None).max_message_size == sysctl(
            "msgsize_default"
        )
        assert make_queue(max_messages=None, max_message_size=8).max_messages == sysctl(
            "msg_default"
        )


class TestMode:
    @pytest.mark.parametrize("mask", [0o022, 0o077, 0o000])
    def test_default_mode_is_owner_only(self, make_queue, mask) -> None:
        """A queue is created 0o600 unless told otherwise: other users cannot read it."""
        with umask(mask):
            mq = make_queue()
        assert mode_of(mq) == 0o600

    @pytest.mark.parametrize("mode", [0o666, 0o640, 0o620, 0o400])
    @pytest.mark.parametrize("mask", [0o022, 0o077])
    def test_explicit_mode_is_applied_exactly(self, make_queue, mode, mask) -> None:
        """An explicit mode is the queue's mode whatever the umask."""
        with umask(mask):
            mq = make_queue(mode=mode)
        assert mode_of(mq) == mode

    def test_opening_keeps_the_existing_mode(self, make_queue, queue_name) -> None:
        """The mode of an existing queue is not changed by opening it."""
        make_queue(queue_name, mode=0o640)
        assert mode_of(make_queue(queue_name, mode=0o666)) == 0o640

    @pytest.mark.parametrize(
        ("mode", "error"), [(-1, ValueError), (0o1000, ValueError), ("0o600", TypeError)]
    )
    def test_bad_mode(self, queue_name, mode, error) -> None:
        """A mode outside 0..0o777 or not an int is refused; nothing is created."""
        with pytest.raises(error, match="mode") as caught:
            MessageQueue(queue_name, 1, 1, mode=mode)
        assert isinstance(caught.value, MessageQueueError)
        assert_absent(queue_name)


@needs_sysctl_limits
class TestOverTheHostLimits:
    def test_baseplate_gotcha(self, queue_name) -> None:
        """baseplate's gotcha, max_messages=11 over msg_max=10, names the limit and its fix."""
        if sysctl("msg_max") != 10:
            pytest.skip(f"the host's msg_max is {sysctl('msg_max')}, not Linux's default 10")
        with pytest.raises(ValueError, match="max_messages=11") as caught:
            MessageQueue(queue_name, max_messages=11, max_message_size=8096)
        assert isinstance(caught.value, MessageQueueError)
        text = str(caught.value)
        assert "max_messages=11" in text
        assert "10" in text
        assert "fs.mqueue.msg_max" in text
        assert "sysctl -w fs.mqueue.msg_max=11" in text
        assert "Invalid parameter" not in text
        assert_absent(queue_name)

    def test_max_message_size_over_msgsize_max(self, queue_name) -> None:
        """max_message_size over msgsize_max names both values and how to raise the limit."""
        limit = sysctl("msgsize_max")
        with pytest.raises(ValueError, match="msgsize_max") as caught:
            MessageQueue(queue_name, max_messages=1, max_message_size=limit + 1)
        assert isinstance(caught.value, MessageQueueError)
        text = str(caught.value)
        assert f"max_message_size={limit + 1}" in text
        assert str(limit) in text
        assert f"sysctl -w fs.mqueue.msgsize_max={limit + 1}" in text
        assert_absent(queue_name)

    def test_both_over(self, queue_name) -> None:
        """When both sizes are over their limits, the error names both."""
        with pytest.raises(ValueError, match="msg_max") as caught:
            MessageQueue(queue_name, sysctl("msg_max") + 1, sysctl("msgsize_max") + 1)
        assert "fs.mqueue.msg_max" in str(caught.value)
        assert "fs.mqueue.msgsize_max" in str(caught.value)


BAD_SIZES = {
    "zero": (0, ValueError),
    "negative": (-1, ValueError),
    "huge": (2**63, ValueError),
    "bool": (True, TypeError),
    "float": (4.0, TypeError),
    "str": ("4", TypeError),
}


@pytest.mark.parametrize("parameter", ["max_messages", "max_message_size"])
@pytest.mark.parametrize(("value", "error"), BAD_SIZES.values(), ids=BAD_SIZES.keys())
def test_bad_size_is_refused_before_any_system_call(
    queue_name, monkeypatch, parameter, value, error
) -> None:
    """A size that is not a positive int is refused, naming the parameter; nothing is created."""

    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("mq_open was called before the sizes were checked")

    monkeypatch.setattr(posixq._lowlevel, "open_queue", no_open)
    sizes = {"max_messages": 2, "max_message_size": 8, parameter: value}
    with pytest.raises(error, match=parameter) as caught:
        MessageQueue(queue_name, **sizes)
    assert isinstance(caught.value, MessageQueueError)
    monkeypatch.undo()
    assert_absent(queue_name)
