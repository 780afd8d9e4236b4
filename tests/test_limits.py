"""The host's limits on queues: what posixq.limits reports, and the errors when one is hit.

Limits are lowered only in child processes: RLIMIT_* with resource.setrlimit,
fs.mqueue sysctls in a private IPC namespace. Tests that count the bytes a
queue charges against RLIMIT_MSGQUEUE run in a private user namespace too,
because that count is kept per user and namespace, and every process of
this user on the host (other test runs included) adds to it.
"""

from __future__ import annotations

import errno
import json
import re
import resource
import subprocess
import sys
import textwrap

import pytest

from posixq.limits import SYSCTL_DIR, host_limits, queue_cost

USER_AND_IPC = ("unshare", "--user", "--map-root-user", "--ipc")
IPC_ONLY = ("unshare", "--ipc")

# Prints, as JSON, what a failed or successful MessageQueue(...) gave.
PRELUDE = """
    import errno, json, os, resource, sys
    import posixq

    def sysctl(name, value):
        with open(f"/proc/sys/fs/mqueue/{name}", "w") as f:
            f.write(str(value))

    def attempt(name, *sizes):
        try:
            mq = posixq.MessageQueue(name, *sizes)
        except Exception as exc:
            return {"error": type(exc).__name__, "errno": getattr(exc, "errno", None),
                    "is_oserror": isinstance(exc, OSError),
                    "is_limit": isinstance(exc, posixq.QueueLimitError),
                    "is_base": isinstance(exc, posixq.MessageQueueError),
                    "text": str(exc)}
        sizes = [mq.max_messages, mq.max_message_size]
        mq.close()
        posixq.unlink(name)
        return {"sizes": sizes}
"""


def _works(command: tuple[str, ...]) -> bool:
    try:
        return subprocess.run([*command, "true"], capture_output=True).returncode == 0
    except OSError:  # no unshare on this machine
        return False


def run_child(code: str, *args: str, namespace: tuple[str, ...] = (), tmp_path) -> object:
    """Run PRELUDE + ``code`` in a child Python (inside ``namespace``); return its JSON."""
    source = textwrap.dedent(PRELUDE) + textwrap.dedent(code)
    done = subprocess.run(
        [*namespace, sys.executable, "-c", source, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def private_user() -> tuple[str, ...]:
    """A fresh user and IPC namespace: this child's queues are the only ones it counts."""
    if not _works(USER_AND_IPC):
        pytest.skip(f"cannot run {' '.join(USER_AND_IPC)} here (user namespaces unavailable)")
    return USER_AND_IPC


@pytest.fixture
def private_ipc() -> tuple[str, ...]:
    """A fresh IPC namespace whose fs.mqueue sysctls the child may change."""
    for command in (USER_AND_IPC, IPC_ONLY):
        if _works(command):
            return command
    pytest.skip("cannot make a private IPC namespace here (unshare --ipc needs root)")


def test_host_limits_reports_proc_and_rlimits() -> None:
    """host_limits() gives the fs.mqueue sysctls and the process's two rlimits."""
    limits = host_limits()
    for name in ("msg_max", "msgsize_max", "msg_default", "msgsize_default", "queues_max"):
        with open(f"{SYSCTL_DIR}/{name}") as f:
            assert getattr(limits, name) == int(f.read()), name
    assert limits.rlimit_msgqueue == resource.getrlimit(resource.RLIMIT_MSGQUEUE)
    assert limits.rlimit_nofile == resource.getrlimit(resource.RLIMIT_NOFILE)


SIZES = [(1, 1), (1, 8192), (3, 100), (10, 1), (10, 8192), (7, 1000)]


def test_queue_cost_is_what_the_kernel_charges(private_user, tmp_path) -> None:
    """A queue of n x s fits in an RLIMIT_MSGQUEUE of queue_cost(n, s), not in one byte less."""
    results = run_child(
        """
        cases = json.loads(sys.argv[1])
        hard = resource.getrlimit(resource.RLIMIT_MSGQUEUE)[1]
        found = []
        for n, s, cost in cases:
            resource.setrlimit(resource.RLIMIT_MSGQUEUE, (cost, hard))
            fits = attempt("/q", n, s)
            resource.setrlimit(resource.RLIMIT_MSGQUEUE, (cost - 1, hard))
            found.append([fits, attempt("/q", n, s)])
        print(json.dumps(found))
        """,
        json.dumps([(n, s, queue_cost(n, s)) for n, s in SIZES]),
        namespace=private_user,
        tmp_path=tmp_path,
    )
    for (n, s), (fits, over) in zip(SIZES, results):
        assert fits == {"sizes": [n, s]}, (n, s)
        assert over["errno"] == errno.EMFILE, (n, s, over)


def test_rlimit_msgqueue_error_says_what_is_needed_and_left(private_user, tmp_path) -> None:
    """EMFILE from RLIMIT_MSGQUEUE names the bytes needed, about what is left, and ulimit -q."""
    limit, held, asked = 4096, (2, 1000), (4, 1000)
    result = run_child(
        """
        limit = int(sys.argv[1])
        resource.setrlimit(resource.RLIMIT_MSGQUEUE, (limit, limit))
        held = posixq.MessageQueue("/held", 2, 1000)
        print(json.dumps(attempt("/asked", 4, 1000)))
        """,
        str(limit),
        namespace=private_user,
        tmp_path=tmp_path,
    )
    assert result["errno"] == errno.EMFILE
    assert result["is_limit"]
    assert result["is_oserror"]
    assert result["is_base"]
    text = result["text"]
    assert "'/asked'" in text
    assert f"{queue_cost(*asked)} bytes" in text
    assert "ulimit -q" in text
    left = int(re.search(r"leave (?:about )?(\d+) bytes", text).group(1))
    really_left = limit - queue_cost(*held)
    assert really_left - 200 <= left <= really_left, text


def test_rlimit_nofile_error_names_open_files(queue_name, tmp_path) -> None:
    """EMFILE because every descriptor is in use says so, and names ulimit -n."""
    result = run_child(
        """
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (32, hard))
        files = []
        try:
            while True:
                files.append(os.open("/dev/null", os.O_RDONLY))
        except OSError as exc:
            assert exc.errno == errno.EMFILE
        print(json.dumps(attempt(sys.argv[1], 1, 8)))
        """,
        queue_name,
        tmp_path=tmp_path,
    )
    assert result["errno"] == errno.EMFILE
    assert result["is_limit"]
    assert result["is_oserror"]
    assert "open files" in result["text"]
    assert "ulimit -n" in result["text"]
    assert queue_name in result["text"]


def test_queues_max_error_names_it(private_ipc, tmp_path) -> None:
    """ENOSPC, when the namespace already holds queues_max queues, names queues_max."""
    result = run_child(
        """
        sysctl("queues_max", 1)
        first = posixq.MessageQueue("/first", 1, 1)
        print(json.dumps(attempt("/second", 1, 1)))
        """,
        namespace=private_ipc,
        tmp_path=tmp_path,
    )
    if "sizes" in result:
        pytest.skip("this process has CAP_SYS_RESOURCE, which lifts fs.mqueue.queues_max")
    assert result["errno"] == errno.ENOSPC
    assert result["is_limit"]
    assert result["is_oserror"]
    assert "fs.mqueue.queues_max" in result["text"]
    assert "'/second'" in result["text"]


def test_raised_msg_max_lets_a_bigger_queue_be_created(private_ipc, tmp_path) -> None:
    """Raising msg_max and msgsize_max in the namespace allows bigger queues, and the
    error for one still bigger names the raised limit read at run time."""
    result = run_child(
        """
        before = attempt("/big", 20, 16384)
        sysctl("msg_max", 20)
        sysctl("msgsize_max", 16384)
        after = attempt("/big", 20, 16384)
        beyond = attempt("/bigger", 21, 1)
        print(json.dumps([before, after, beyond]))
        """,
        namespace=private_ipc,
        tmp_path=tmp_path,
    )
    before, after, beyond = result
    if "sizes" in before:
        pytest.skip("this process has CAP_SYS_RESOURCE, which lifts fs.mqueue.msg_max")
    assert before["error"] == "QueueSizeError"
    assert after == {"sizes": [20, 16384]}
    assert beyond["error"] == "QueueSizeError"
    assert "max_messages=21" in beyond["text"]
    assert re.search(r"\b20\b", beyond["text"])
