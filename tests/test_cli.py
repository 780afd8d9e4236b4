"""The command line as users drive it: pipes, framings, exit statuses, signals."""

from __future__ import annotations

import io
import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator

import pytest

import posixq
from posixq.cli import main

#: How long any one command may take on a loaded machine before the test fails.
DEADLINE = 60
#: How far past its timeout a command may end: generous, for loaded machines.
SLACK = 10.0

#: Where commands run: outside the checkout, whose posixq/ would shadow the installed one.
OUTSIDE = "/"


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "posixq", *args]


def cli(*args: str, input: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m posixq args...`` with ``input`` piped to it; wait for it."""
    return subprocess.run(
        command(*args), input=input, capture_output=True, timeout=DEADLINE, cwd=OUTSIDE
    )


#: Processes start() began; each test's teardown kills those still running.
STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _kill_leftovers() -> Iterator[None]:
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
        process.communicate()


def start(*args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start ``python -m posixq args...`` with its stdout and stderr piped."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    process = subprocess.Popen(command(*args), cwd=OUTSIDE, **kwargs)
    STARTED.append(process)
    return process


def shell(script: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run bash ``script``, where "$0" is this Python and $1... are ``args``."""
    return subprocess.run(
        ["bash", "-c", script, sys.executable, *args],
        capture_output=True,
        timeout=DEADLINE,
        cwd=OUTSIDE,
    )


def one_line(stderr: bytes) -> str:
    """``stderr`` as its single line, failing if it holds more or a traceback."""
    text = stderr.decode()
    assert "Traceback" not in text
    assert text.endswith("\n")
    assert text.count("\n") == 1, text
    return text


def wait_until_blocked(process: subprocess.Popen[bytes]) -> None:
    """Give ``process`` time to start and block on its queue (it must not have ended)."""
    time.sleep(1.0)
    assert process.poll() is None, process.communicate()


# -- baseplate's documented examples ------------------------------------------


def test_baseplate_write_example(make_queue: Callable[..., posixq.MessageQueue]) -> None:
    """`echo hello! | python -m posixq --write /queue` sends "hello!" without its newline."""
    mq = make_queue()
    done = shell('echo hello! | "$0" -m posixq --write "$1"', mq.name)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert mq.get(timeout=0) == b"hello!"
    assert mq.current_messages == 0


def test_baseplate_read_example(make_queue: Callable[..., posixq.MessageQueue]) -> None:
    """`python -m posixq --read /queue` prints each message as it comes, and goes on."""
    mq = make_queue()
    reader = start("--read", mq.name)
    try:
        assert reader.stdout is not None
        mq.put(b"first")
        assert reader.stdout.readline() == b"first\n"
        mq.put("second")
        assert reader.stdout.readline() == b"second\n"
        time.sleep(0.5)
        assert reader.poll() is None
    finally:
        reader.send_signal(signal.SIGINT)
        _, stderr = reader.communicate(timeout=DEADLINE)
    assert (reader.returncode, stderr) == (130, b"")
    assert mq.current_messages == 0


def test_create_makes_the_queue_with_the_sizes_given(queue_name: str) -> None:
    """--create makes the queue with --max-messages and --max-message-size, then exits."""
    done = cli("--create", queue_name, "--max-messages", "3", "--max-message-size", "40")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    with posixq.MessageQueue(queue_name, create=False) as mq:
        assert (mq.max_messages, mq.max_message_size, mq.current_messages) == (3, 40, 0)


def test_create_leaves_an_existing_queue_as_it_is(
    make_queue: Callable[..., posixq.MessageQueue],
) -> None:
    """--create of a queue that exists keeps its sizes and its messages."""
    mq = make_queue(max_messages=2, max_message_size=16)
    mq.put(b"kept")
    assert main(["--create", mq.name, "--max-messages", "3"]) == 0
    assert (mq.current_messages, mq.get(timeout=0)) == (1, b"kept")
    with posixq.MessageQueue(mq.name, create=False) as again:
        assert (again.max_messages, again.max_message_size) == (2, 16)


def test_posixq_script_is_installed() -> None:
    """The `posixq` console script runs the same command line."""
    script = shutil.which("posixq", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the posixq script is not installed next to this Python")
    done = subprocess.run([script, "--help"], capture_output=True, timeout=DEADLINE, cwd=OUTSIDE)
    assert done.returncode == 0
    assert b"--read" in done.stdout
    assert b"exit status" in done.stdout


def test_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    """--help exits 0 and lists every exit status the command uses."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for status in ("0 ", "1 ", "2 ", "3 ", "130 ", "141 ", "143 "):
        assert f"\n  {status}" in out


# -- reading and writing ----------------------------------------------------


@pytest.mark.slow
def test_a_thousand_lines_pass_in_order_between_parallel_processes(queue_name: str) -> None:
    """1000 lines piped into --write arrive in order at a --read --count 1000 running alongside."""
    sizes = ["--max-messages", "10", "--max-message-size", "64"]
    lines = [b"line %04d %s" % (i, b"x" * (i % 40)) for i in range(1000)]
    consumer = start("--read", queue_name, "--count", "1000", *sizes)
    producer = start("--write", queue_name, *sizes, stdin=subprocess.PIPE)
    feeder = threading.Thread(target=producer.communicate, args=(b"\n".join(lines) + b"\n",))
    feeder.start()
    out, err = consumer.communicate(timeout=DEADLINE * 2)
    feeder.join(DEADLINE)
    assert producer.wait(DEADLINE) == 0
    assert (consumer.returncode, err) == (0, b"")
    assert out.split(b"\n") == [*lines, b""]


def test_count_stops_after_that_many_messages(
    make_queue: Callable[..., posixq.MessageQueue], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """--read --count 2 takes two messages and leaves the others in the queue."""
    mq = make_queue()
    for word in (b"one", b"two", b"three"):
        mq.put(word)
    assert main(["--read", mq.name, "--count", "2"]) == 0
    assert capsysbinary.readouterr() == (b"one\ntwo\n", b"")
    assert mq.get(timeout=0) == b"three"


def test_write_sends_one_message_per_line(
    make_queue: Callable[..., posixq.MessageQueue], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--write sends each line without its end (\\n or \\r\\n), empty lines too."""
    mq = make_queue()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a\r\n\nb\xff\nlast")))
    assert main(["--write", mq.name]) == 0
    assert mq.get_many(4, timeout=0) == [b"a", b"", b"b\xff", b"last"]


def test_text_mode_escapes_bytes_that_are_not_utf8(
    make_queue: Callable[..., posixq.MessageQueue], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """--read prints UTF-8 as it is and escapes other bytes as \\xNN."""
    mq = make_queue()
    mq.put("café ✓")
    mq.put(b"\xff\xfeok")
    assert main(["--read", mq.name, "--count", "2"]) == 0
    assert capsysbinary.readouterr().out == "café ✓\n\\xff\\xfeok\n".encode()


def test_priorities_are_sent_and_shown(
    make_queue: Callable[..., posixq.MessageQueue],
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """--priority sends at that priority; --with-priority shows it, highest read first."""
    mq = make_queue()
    mq.put(b"low", priority=1)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"high\n")))
    assert main(["--write", mq.name, "--priority", "7"]) == 0
    assert main(["--read", mq.name, "--count", "2", "--with-priority"]) == 0
    assert capsysbinary.readouterr().out == b"7\thigh\n1\tlow\n"


def test_with_priority_on_write_takes_each_priority_from_the_input(
    make_queue: Callable[..., posixq.MessageQueue], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--write --with-priority reads "PRIORITY<tab>message" and sends at that priority."""
    mq = make_queue()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"2\tb\t2\n9\ta\n0\t\n")))
    assert main(["--write", mq.name, "--with-priority"]) == 0
    got = [mq.get_with_priority(timeout=0) for _ in range(3)]
    assert got == [(b"a", 9), (b"b\t2", 2), (b"", 0)]


ALL_BYTES = bytes(range(256))
PAYLOADS = [ALL_BYTES, b"", b"\0", b"\n\n", b"\r\n\0\xff" * 8, ALL_BYTES[::-1]]


def length_frame(payload: bytes, priority: int, with_priority: bool) -> bytes:
    """``payload`` as --framing length carries it."""
    if with_priority:
        return struct.pack(">II", priority, len(payload)) + payload
    return struct.pack(">I", len(payload)) + payload


@pytest.mark.parametrize("with_priority", [False, True])
def test_length_framing_round_trips_any_bytes(queue_name: str, with_priority: bool) -> None:
    """Every byte value, NULs, newlines and empty messages survive --framing length both ways."""
    sizes = ["--max-messages", "10", "--max-message-size", "256"]
    options = ["--framing", "length", *(["--with-priority"] if with_priority else [])]
    data = b"".join(length_frame(p, i, with_priority) for i, p in enumerate(PAYLOADS))
    priorities_seen = sorted(range(len(PAYLOADS)), reverse=with_priority)
    written = cli("--write", queue_name, *sizes, *options, input=data)
    assert (written.returncode, written.stderr) == (0, b"")
    read = cli("--read", queue_name, "--count", str(len(PAYLOADS)), *options)
    assert (read.returncode, read.stderr) == (0, b"")
    expected = [PAYLOADS[i] for i in priorities_seen] if with_priority else PAYLOADS
    stream = io.BytesIO(read.stdout)
    for i, payload in enumerate(expected):
        if with_priority:
            priority, length = struct.unpack(">II", stream.read(8))
            assert priority == priorities_seen[i]
        else:
            (length,) = struct.unpack(">I", stream.read(4))
        assert stream.read(length) == payload
    assert stream.read() == b""


def test_nul_framing_round_trips_bytes_without_nul(queue_name: str) -> None:
    """-0 carries messages holding newlines and any byte but NUL, each ended by a NUL."""
    payloads = [p.replace(b"\0", b"") for p in PAYLOADS]
    data = b"\0".join(payloads) + b"\0"
    sizes = ["--max-messages", "10", "--max-message-size", "256"]
    assert cli("--write", queue_name, "-0", *sizes, input=data).returncode == 0
    read = cli("--read", queue_name, "--count", str(len(payloads)), "--framing", "nul")
    assert (read.returncode, read.stdout, read.stderr) == (0, data, b"")


def test_whole_framing_sends_stdin_as_one_message(queue_name: str) -> None:
    """--framing whole sends all of stdin, every byte value, as one message and reads it back."""
    data = ALL_BYTES + b"\n" + ALL_BYTES
    sizes = ["--max-messages", "1", "--max-message-size", str(len(data))]
    assert cli("--write", queue_name, "--framing", "whole", *sizes, input=data).returncode == 0
    read = cli("--read", queue_name, "--count", "1", "--framing", "whole")
    assert (read.returncode, read.stdout, read.stderr) == (0, data, b"")


# -- timeouts, signals and closed pipes ----------------------------------------


def test_read_timeout_ends_with_its_own_status(
    make_queue: Callable[..., posixq.MessageQueue],
) -> None:
    """--read --timeout 0.5 on an empty queue exits 3, not before 0.5 s, with one line."""
    mq = make_queue()
    begin = time.monotonic()
    done = cli("--read", mq.name, "--timeout", "0.5")
    elapsed = time.monotonic() - begin
    assert done.returncode == 3
    assert 0.5 < elapsed < 0.5 + SLACK
    assert "--timeout 0.5" in one_line(done.stderr)


def test_read_timeout_zero_drains_the_queue(
    make_queue: Callable[..., posixq.MessageQueue], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """--read --timeout 0 writes every message the queue holds, then exits 3."""
    mq = make_queue()
    mq.put(b"a")
    mq.put(b"b")
    assert main(["--read", mq.name, "--timeout", "0"]) == 3
    out, err = capsysbinary.readouterr()
    assert out == b"a\nb\n"
    assert b"was empty" in err


@pytest.mark.slow
def test_read_timeout_counts_from_the_last_message(
    make_queue: Callable[..., posixq.MessageQueue],
) -> None:
    """--read --timeout 2 keeps reading while messages come more often, for longer than 2 s."""
    mq = make_queue()
    reader = start("--read", mq.name, "--timeout", "2")
    begin = time.monotonic()
    for i in range(8):
        time.sleep(0.4)
        mq.put(b"%d" % i)
    out, err = reader.communicate(timeout=DEADLINE)
    assert time.monotonic() - begin > 3.2 + 2
    assert out == b"".join(b"%d\n" % i for i in range(8))
    assert reader.returncode == 3
    assert "stayed empty for 2 s" in one_line(err)


def test_write_timeout_on_a_full_queue(make_queue: Callable[..., posixq.MessageQueue]) -> None:
    """--write --timeout gives up on a full queue with status 3, saying how many were sent."""
    mq = make_queue(max_messages=1, max_message_size=16)
    done = cli("--write", mq.name, "--timeout", "0.3", input=b"fits\nstuck\n")
    assert done.returncode == 3
    assert f"(1 message before it went to {mq.name})" in one_line(done.stderr)
    assert mq.get(timeout=0) == b"fits"


@pytest.mark.parametrize("waiter", ["select", "blocking", "gevent"])
def test_ctrl_c_ends_a_blocked_read_quietly(
    make_queue: Callable[..., posixq.MessageQueue], waiter: str
) -> None:
    """SIGINT to --read waiting on an empty queue exits 130 with nothing on stderr."""
    if waiter == "gevent":
        pytest.importorskip("gevent", reason="--waiter gevent needs gevent")
    mq = make_queue()
    reader = start("--read", mq.name, "--waiter", waiter)
    wait_until_blocked(reader)
    reader.send_signal(signal.SIGINT)
    out, err = reader.communicate(timeout=DEADLINE)
    assert (reader.returncode, out, err) == (130, b"", b"")
    mq.put(b"after")
    assert mq.get(timeout=0) == b"after"


def test_sigterm_ends_a_blocked_read_quietly(
    make_queue: Callable[..., posixq.MessageQueue],
) -> None:
    """SIGTERM to --read waiting on an empty queue exits 143 with nothing on stderr."""
    mq = make_queue()
    reader = start("--read", mq.name)
    wait_until_blocked(reader)
    reader.terminate()
    out, err = reader.communicate(timeout=DEADLINE)
    assert (reader.returncode, out, err) == (143, b"", b"")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_loses_no_message(
    make_queue: Callable[..., posixq.MessageQueue], signum: int
) -> None:
    """A signal to --read stuck writing to a full pipe lets it finish that message, then exit.

    Every message sent is then either in what --read wrote or still in the
    queue, in order: none was taken and dropped.
    """
    mq = make_queue(max_messages=4, max_message_size=64)
    reader = start("--read", mq.name)
    assert reader.stdout is not None
    sent: list[bytes] = []
    try:
        while True:  # until the pipe and then the queue are full
            message = b"%05d %s" % (len(sent), b"m" * 54)
            mq.put(message, timeout=1.0)
            sent.append(message)
    except posixq.TimedOutError:
        pass
    assert len(sent) > 100
    reader.send_signal(signum)
    time.sleep(1.0)
    assert reader.poll() is None  # still writing out the message it holds
    out, err = reader.communicate(timeout=DEADLINE)
    assert (reader.returncode, err) == (128 + signum, b"")
    left = mq.get_many(mq.max_messages, timeout=0)
    assert out.splitlines() + left == sent


def test_ctrl_c_ends_a_blocked_write_quietly(
    make_queue: Callable[..., posixq.MessageQueue],
) -> None:
    """SIGINT to --write waiting on a full queue exits 130 with nothing on stderr."""
    mq = make_queue(max_messages=1, max_message_size=16)
    mq.put(b"full")
    writer = start("--write", mq.name, stdin=subprocess.PIPE)
    assert writer.stdin is not None
    writer.stdin.write(b"blocked\n")
    writer.stdin.flush()
    wait_until_blocked(writer)
    writer.send_signal(signal.SIGINT)
    out, err = writer.communicate(timeout=DEADLINE)
    assert (writer.returncode, out, err) == (130, b"", b"")
    assert mq.get_many(2, timeout=0) == [b"full"]


def test_read_into_head_ends_quietly(make_queue: Callable[..., posixq.MessageQueue]) -> None:
    """`--read | head -1` prints one message and both processes end, without a traceback."""
    mq = make_queue()
    for word in (b"first", b"second", b"third"):
        mq.put(word)
    script = '"$0" -m posixq --read "$1" | head -1; echo "status ${PIPESTATUS[0]}"'
    done = shell(script, mq.name)
    assert done.stdout == b"first\nstatus 141\n"
    assert b"Traceback" not in done.stderr
    assert b"Exception ignored" not in done.stderr


def test_a_message_taken_when_stdout_breaks_goes_to_stderr(
    make_queue: Callable[..., posixq.MessageQueue],
) -> None:
    """A message --read took but could not write to a closed pipe is shown, escaped, on stderr."""
    mq = make_queue()
    mq.put(b"lost\n\xff")
    mq.put(b"stays")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        reader = start("--read", mq.name, stdout=write_end)
    finally:
        os.close(write_end)
    _, err = reader.communicate(timeout=DEADLINE)
    assert reader.returncode == 141
    line = one_line(err)
    assert mq.name in line
    assert line.endswith(": lost\\n\\xff\n")
    assert mq.get_many(4, timeout=0) == [b"stays"]


def test_read_ends_when_its_reader_leaves_while_it_waits(
    make_queue: Callable[..., posixq.MessageQueue],
) -> None:
    """--read waiting on an empty queue notices its stdout reader is gone and exits 141 quietly."""
    mq = make_queue()
    reader = start("--read", mq.name)
    assert reader.stdout is not None
    wait_until_blocked(reader)
    reader.stdout.close()
    _, err = reader.communicate(timeout=DEADLINE)
    assert (reader.returncode, err) == (141, b"")
    mq.put(b"still here")
    assert mq.get(timeout=0) == b"still here"


# -- errors: one clear line and the documented status ----------------------------


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    assert out == ""
    return status, one_line(err.encode())


def test_missing_queue_with_no_create(capsys: pytest.CaptureFixture[str], queue_name: str) -> None:
    """--read --no-create of a queue that does not exist exits 1, names it, creates nothing."""
    status, line = run_main(capsys, "--read", queue_name, "--no-create", "--timeout", "0")
    assert status == 1
    assert f"queue {queue_name!r} does not exist" in line
    with pytest.raises(posixq.QueueNotFoundError):
        posixq.unlink(queue_name)


def test_sizes_over_the_host_limit(capsys: pytest.CaptureFixture[str], queue_name: str) -> None:
    """--create over fs.mqueue.msg_max exits 1 with the sysctl command that would allow it."""
    with open("/proc/sys/fs/mqueue/msg_max") as f:
        too_many = int(f.read()) + 1
    status, line = run_main(
        capsys, "--create", queue_name, "--max-messages", str(too_many), "--max-message-size", "8"
    )
    assert status == 1
    assert f"sysctl -w fs.mqueue.msg_max={too_many}" in line


def test_permission_denied(make_queue: Callable[..., posixq.MessageQueue]) -> None:
    """--read of a queue whose mode shuts this user out exits 1 with the library's explanation."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv(1) is not installed")
    mq = make_queue(mode=0)
    # Without capabilities, not even root may open a queue of mode 0000.
    done = shell(
        'exec setpriv --bounding-set=-all --inh-caps=-all "$0" -m posixq --read "$1" --timeout 0',
        mq.name,
    )
    if done.stderr.startswith(b"setpriv:"):
        pytest.skip(f"setpriv cannot drop capabilities here: {done.stderr.decode().strip()}")
    assert done.returncode == 1
    assert f"permission denied for queue {mq.name!r}" in one_line(done.stderr)


def test_message_too_large(
    make_queue: Callable[..., posixq.MessageQueue],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A line longer than the queue accepts stops --write with status 1 and the sizes."""
    mq = make_queue(max_messages=4, max_message_size=8)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"ok\n123456789\nnot sent\n")))
    status, line = run_main(capsys, "--write", mq.name)
    assert status == 1
    assert "message of 9 bytes" in line
    assert "max_message_size=8" in line
    assert f"(1 message before it went to {mq.name})" in line
    assert mq.get_many(4, timeout=0) == [b"ok"]


@pytest.mark.parametrize(
    ("options", "data", "words"),
    [
        (["--framing", "length"], b"\0\0\0\x05abc", "ended inside message 1: 3 of its 5"),
        (["--framing", "length"], b"\0\0", "inside the header of message 1"),
        (["--framing", "length"], b"\x7f\0\0\0abc", "more than the queue accepts"),
        (["--with-priority"], b"5\tok\nno priority\n", "message 2 of stdin does not start"),
    ],
)
def test_malformed_input(
    make_queue: Callable[..., posixq.MessageQueue],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    data: bytes,
    words: str,
) -> None:
    """Input that does not follow the framing asked for stops --write with status 1."""
    mq = make_queue()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status, line = run_main(capsys, "--write", mq.name, *options)
    assert status == 1
    assert words in line


@pytest.mark.parametrize(("action", "stream"), [("--write", "stdin"), ("--read", "stdout")])
def test_closed_stdin_or_stdout(queue_name: str, action: str, stream: str) -> None:
    """--write without stdin, or --read without stdout, exits 1 saying so and creates nothing."""
    close = "<&-" if stream == "stdin" else ">&-"
    done = shell(f'exec "$0" -m posixq {action} "$1" {close}', queue_name)
    assert done.returncode == 1
    assert f"{stream} is closed" in one_line(done.stderr)
    with pytest.raises(posixq.QueueNotFoundError):
        posixq.unlink(queue_name)


def test_unlink(
    make_queue: Callable[..., posixq.MessageQueue], capsys: pytest.CaptureFixture[str]
) -> None:
    """--unlink removes the queue; a second --unlink exits 1 saying it does not exist."""
    mq = make_queue()
    assert main(["--unlink", mq.name]) == 0
    with pytest.raises(posixq.QueueNotFoundError):
        posixq.MessageQueue(mq.name, create=False)
    status, line = run_main(capsys, "--unlink", mq.name)
    assert status == 1
    assert "does not exist" in line


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--read"], "--read needs the name of a queue"),
        (["--read", "jobs"], "must start with a slash"),
        (["--read", "/a", "--write"], "not allowed with argument"),
        (["/a"], "one of the arguments"),
        (["--list", "/a"], "--list takes no queue name"),
        (["--write", "/a", "--count", "3"], "--count applies only to --read"),
        (["--info", "/a", "--max-messages", "3"], "--max-messages applies only to"),
        (["--read", "/a", "--json"], "--json applies only to"),
        (["--read", "/a", "--count", "0"], "must be at least 1"),
        (["--read", "/a", "--timeout=-1"], "must be 0 or more seconds"),
        (["--write", "/a", "--priority", "99999"], "must be from 0 to"),
        (["--write", "/a", "--priority", "1", "--with-priority"], "cannot be used together"),
        (["--read", "/a", "--framing", "xml"], "invalid choice"),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str], words: str) -> None:
    """A wrong command line exits 2 with one line saying what is wrong, touching no queue."""
    status, line = run_main(capsys, *args)
    assert status == 2
    assert words in line
    assert "--help" in line


def test_usage_error_in_a_real_process() -> None:
    """Run as a program, a usage error exits 2 with one line on stderr and nothing on stdout."""
    done = cli("--read", "no-slash")
    assert (done.returncode, done.stdout) == (2, b"")
    line = one_line(done.stderr)
    assert line.startswith("python -m posixq: argument QUEUE: queue name 'no-slash' must start")
    assert line.endswith("(see python -m posixq --help)\n")


def test_waiter_gevent_without_gevent(
    queue_name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--waiter gevent where gevent cannot be imported exits 1 saying how to install it."""
    monkeypatch.setitem(sys.modules, "gevent", None)
    status, line = run_main(capsys, "--read", queue_name, "--waiter", "gevent")
    assert status == 1
    assert "pip install 'posixq[gevent]'" in line


def test_unknown_waiter_in_the_environment(
    queue_name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown $POSIXQ_WAITER makes --read exit 1 naming the waiters there are."""
    monkeypatch.setenv("POSIXQ_WAITER", "nope")
    status, line = run_main(capsys, "--read", queue_name, "--timeout", "0")
    assert status == 1
    assert "POSIXQ_WAITER='nope' is not a waiter" in line
    assert "select, gevent, blocking" in line
