"""--info, --limits and --list: what the command line tells about queues and the host."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Callable, Iterator

import pytest
from support import unique_name

import posixq
from posixq.cli import main
from posixq.limits import queue_cost

DEADLINE = 60
SYSCTLS = ("msg_max", "msgsize_max", "msg_default", "msgsize_default", "queues_max")


def sysctl(name: str) -> int:
    with open(f"/proc/sys/fs/mqueue/{name}") as f:
        return int(f.read())


def run_json(capsys: pytest.CaptureFixture[str], *args: str, status: int = 0) -> Any:
    assert main([*args, "--json"]) == status
    out, err = capsys.readouterr()
    assert err == ""
    return json.loads(out)


# -- --info -------------------------------------------------------------------


def test_info_json_counts_the_messages(
    make_queue: Callable[..., posixq.MessageQueue], capsys: pytest.CaptureFixture[str]
) -> None:
    """--info --json reports the queue's sizes, its message count, cost and owner."""
    mq = make_queue(max_messages=4, max_message_size=48)
    for word in (b"a", b"bb", b"ccc"):
        mq.put(word)
    info = run_json(capsys, "--info", mq.name)
    assert info["name"] == mq.name
    assert (info["current_messages"], info["max_messages"], info["max_message_size"]) == (3, 4, 48)
    assert info["reserved_bytes"] == queue_cost(4, 48)
    assert (info["uid"], info["gid"], info["mode"]) == (os.getuid(), os.getgid(), "0600")
    mq.get()
    assert run_json(capsys, "--info", mq.name)["current_messages"] == 2


def test_info_text(
    make_queue: Callable[..., posixq.MessageQueue], capsys: pytest.CaptureFixture[str]
) -> None:
    """--info prints one "field value" line per attribute."""
    mq = make_queue(max_messages=2, max_message_size=16)
    mq.put(b"x")
    assert main(["--info", mq.name]) == 0
    lines = capsys.readouterr().out.splitlines()
    fields = dict(line.split(None, 1) for line in lines)
    assert fields["name"] == mq.name
    assert (fields["current_messages"], fields["max_messages"]) == ("1", "2")
    assert fields["max_message_size"] == "16"


def test_info_of_a_missing_queue_creates_nothing(
    queue_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--info of a queue that does not exist exits 1 with one line, and does not create it."""
    assert main(["--info", queue_name]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "does not exist" in err
    with pytest.raises(posixq.QueueNotFoundError):
        posixq.unlink(queue_name)


# -- --limits -----------------------------------------------------------------


def test_limits_json_shows_the_hosts_real_values(capsys: pytest.CaptureFixture[str]) -> None:
    """--limits --json reports /proc/sys/fs/mqueue and RLIMIT_MSGQUEUE as they are."""
    report = run_json(capsys, "--limits", "--max-messages", "2", "--max-message-size", "100")
    assert report["sysctls"] == {name: sysctl(name) for name in SYSCTLS}
    soft, hard = resource.getrlimit(resource.RLIMIT_MSGQUEUE)
    unlimited = resource.RLIM_INFINITY
    assert report["rlimit_msgqueue"] == {
        "soft": None if soft == unlimited else soft,
        "hard": None if hard == unlimited else hard,
    }
    assert report["queue"] == {
        "max_messages": 2,
        "max_message_size": 100,
        "reserved_bytes": queue_cost(2, 100),
        "can_create": True,
        "problems": [],
    }


def test_limits_text_shows_the_hosts_real_values(capsys: pytest.CaptureFixture[str]) -> None:
    """--limits prints each fs.mqueue sysctl with its value and the RLIMIT_MSGQUEUE limits."""
    assert main(["--limits"]) == 0
    out = capsys.readouterr().out
    for name in SYSCTLS:
        line = next(line for line in out.splitlines() if f"fs.mqueue.{name} " in line)
        assert line.split()[1] == str(sysctl(name))
    soft, hard = resource.getrlimit(resource.RLIMIT_MSGQUEUE)
    if resource.RLIM_INFINITY not in (soft, hard):
        assert f"soft {soft} bytes, hard {hard} bytes" in out
    assert f"reserves {queue_cost(10, 8096)} bytes" in out
    assert "can be created here" in out


def test_limits_diagnoses_too_many_messages(capsys: pytest.CaptureFixture[str]) -> None:
    """--limits --max-messages over msg_max says it cannot be created, and gives the sysctl."""
    too_many = sysctl("msg_max") + 1
    assert main(["--limits", "--max-messages", str(too_many), "--max-message-size", "8"]) == 1
    out = capsys.readouterr().out
    assert "cannot be created here" in out
    assert f"sysctl -w fs.mqueue.msg_max={too_many}" in out
    assert "msgsize_max=" not in out.split("cannot be created here")[1]


def test_limits_diagnoses_too_large_messages(capsys: pytest.CaptureFixture[str]) -> None:
    """--limits --json with --max-message-size over msgsize_max lists that one problem."""
    too_large = sysctl("msgsize_max") + 1
    report = run_json(capsys, "--limits", "--max-message-size", str(too_large), status=1)
    assert report["queue"]["can_create"] is False
    [problem] = report["queue"]["problems"]
    assert f"sysctl -w fs.mqueue.msgsize_max={too_large}" in problem


def test_limits_diagnoses_the_rlimit() -> None:
    """Under a small soft RLIMIT_MSGQUEUE, --limits gives the ulimit command that fits the queue."""
    hard = resource.getrlimit(resource.RLIMIT_MSGQUEUE)[1]
    need = queue_cost(2, 8096)
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"the hard RLIMIT_MSGQUEUE ({hard}) is below {need} bytes")
    script = 'ulimit -S -q 1000 && exec "$0" -m posixq --limits --max-messages 2'
    done = subprocess.run(
        ["bash", "-c", script, sys.executable],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        cwd="/",
    )
    assert done.returncode == 1
    assert "soft 1000 bytes" in done.stdout
    assert "cannot be created here" in done.stdout
    assert f"the queue needs {need} bytes" in done.stdout
    assert f"ulimit -q {need}" in done.stdout


# -- --list, in a private IPC namespace with its own mqueue filesystem ----------


def mqueue_mounted() -> bool:
    with open("/proc/self/mounts") as f:
        return any(line.split()[2] == "mqueue" for line in f if len(line.split()) > 2)


@pytest.fixture(scope="module")
def namespaces() -> None:
    """Skip unless this process may make private IPC and mount namespaces."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    probe = subprocess.run(
        ["unshare", "--ipc", "--mount", "true"], capture_output=True, text=True, timeout=DEADLINE
    )
    if probe.returncode != 0:
        pytest.skip(f"unshare --ipc --mount is not permitted here: {probe.stderr.strip()}")


@pytest.fixture
def mount_dir(namespaces: None) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as path:
        yield path


def in_namespace(mount_dir: str, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run sh ``script`` in new IPC and mount namespaces with mqueue mounted on ``mount_dir``.

    In the script, "$P" is this Python, "$M" the mount point and $1... are
    ``args``; it runs outside the checkout, whose posixq/ would shadow the
    installed package. Queues made there vanish with the namespace; the
    scripts unlink theirs as well.
    """
    prelude = 'P="$0"; M="$1"; shift; mount -t mqueue none "$M" || exit 99; '
    done = subprocess.run(
        [
            "unshare",
            "--ipc",
            "--mount",
            "sh",
            "-c",
            prelude + script,
            sys.executable,
            mount_dir,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        cwd="/",
    )
    assert done.returncode != 99, done.stderr
    return done


def test_list_finds_a_queue_made_in_the_namespace(mount_dir: str) -> None:
    """--list --json shows a queue created in this IPC namespace, with its sizes and count."""
    name = unique_name("list")
    done = in_namespace(
        mount_dir,
        """
        "$P" -m posixq --create "$1" --max-messages 3 --max-message-size 32 --mode 640 &&
        printf 'ab\\ncde\\n' | "$P" -m posixq --write "$1" &&
        "$P" -m posixq --list --json; status=$?
        "$P" -m posixq --unlink "$1"; exit $status
        """,
        name,
    )
    assert (done.returncode, done.stderr) == (0, "")
    listing = json.loads(done.stdout)
    assert listing["mount"] == mount_dir
    [queue] = [q for q in listing["queues"] if q["name"] == name]
    assert queue == {
        "name": name,
        "current_messages": 2,
        "max_messages": 3,
        "max_message_size": 32,
        "reserved_bytes": queue_cost(3, 32),
        "qsize": queue["qsize"],
        "uid": os.getuid(),
        "gid": os.getgid(),
        "mode": "0640",
        "error": None,
    }
    assert queue["qsize"] >= 5  # the kernel counts the 5 bytes of data, and may add overhead


def test_list_picks_the_mount_of_its_own_namespace(mount_dir: str, tmp_path: Any) -> None:
    """With another namespace's mqueue mounted first, --list shows its own namespace's queues."""
    outer, inner = unique_name("outer"), unique_name("inner")
    done = in_namespace(
        mount_dir,
        """
        "$P" -m posixq --create "$1" --max-messages 1 --max-message-size 8 || exit 1
        unshare --ipc sh -c '
            mount -t mqueue none "$1" || exit 99
            "$0" -m posixq --create "$2" --max-messages 1 --max-message-size 8 &&
            "$0" -m posixq --list --json; status=$?
            "$0" -m posixq --unlink "$2"; exit $status
        ' "$P" "$3" "$2"; status=$?
        "$P" -m posixq --unlink "$1"; exit $status
        """,
        outer,
        inner,
        str(tmp_path),
    )
    assert (done.returncode, done.stderr) == (0, "")
    listing = json.loads(done.stdout)
    assert listing["mount"] == str(tmp_path)
    assert [q["name"] for q in listing["queues"]] == [inner]
    assert listing["queues"][0]["error"] is None


def test_list_text_and_info_in_the_namespace(mount_dir: str) -> None:
    """--list prints a table row per queue; --info finds the queue's QSIZE in the mount."""
    name = unique_name("list")
    done = in_namespace(
        mount_dir,
        """
        echo hello | "$P" -m posixq --write "$1" --max-messages 2 --max-message-size 16 &&
        "$P" -m posixq --list && "$P" -m posixq --info "$1" --json; status=$?
        "$P" -m posixq --unlink "$1" && "$P" -m posixq --list; exit $status
        """,
        name,
    )
    assert (done.returncode, done.stderr) == (0, "")
    table, rest = done.stdout.split("\n{", 1)
    info_json, after = ("{" + rest).rsplit("}", 1)
    lines = table.splitlines()
    assert lines[0] == f"queues in {mount_dir} (the mqueue filesystem):"
    assert lines[1].split() == [
        "NAME",
        "MESSAGES",
        "MAX_MESSAGES",
        "MAX_SIZE",
        "QSIZE",
        "OWNER",
        "MODE",
        "NOTE",
    ]
    [row] = [line.split() for line in lines[2:] if line.split()[0] == name]
    assert row[:4] == [name, "1", "2", "16"]
    assert row[5:] == [f"{os.getuid()}:{os.getgid()}", "0600"]
    info = json.loads(info_json + "}")
    assert info["qsize"] == int(row[4])
    assert after.strip() == f"no queues in {mount_dir} (the mqueue filesystem)"


def test_list_escapes_names_that_are_not_utf8(mount_dir: str) -> None:
    """--list prints a queue whose name holds a byte that is not UTF-8 with that byte escaped."""
    name = unique_name("list") + os.fsdecode(b"-\xff")
    done = in_namespace(
        mount_dir,
        """
        "$P" -m posixq --create "$1" --max-messages 1 --max-message-size 8 &&
        "$P" -m posixq --list; status=$?
        "$P" -m posixq --unlink "$1"; exit $status
        """,
        name,
    )
    assert (done.returncode, done.stderr) == (0, "")
    shown = name.encode(errors="surrogateescape").decode(errors="backslashreplace")
    assert shown.endswith("-\\xff")
    assert [line for line in done.stdout.splitlines() if line.startswith(shown + " ")]


def test_list_says_which_queues_it_cannot_open(mount_dir: str) -> None:
    """--list without the right to open a queue lists it anyway and says why sizes are missing."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv(1) is not installed")
    name = unique_name("list")
    done = in_namespace(
        mount_dir,
        """
        "$P" -m posixq --create "$1" --max-messages 1 --max-message-size 8 --mode 0 &&
        setpriv --bounding-set=-all --inh-caps=-all "$P" -m posixq --list --json; status=$?
        "$P" -m posixq --unlink "$1"; exit $status
        """,
        name,
    )
    if "setpriv:" in done.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {done.stderr.strip()}")
    assert (done.returncode, done.stderr) == (0, "")
    [queue] = [q for q in json.loads(done.stdout)["queues"] if q["name"] == name]
    assert queue["mode"] == "0000"
    assert queue["max_messages"] is None
    assert queue["qsize"] is None
    assert "permission denied" in queue["error"]


def test_list_without_an_mqueue_filesystem_says_how_to_mount_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With no mqueue filesystem mounted, --list exits 1 with the command that mounts one."""
    if mqueue_mounted():
        pytest.skip("an mqueue filesystem is mounted on this host")
    assert main(["--list"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "mount -t mqueue none /dev/mqueue" in err
