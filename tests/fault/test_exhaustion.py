"""Each limit a queue can hit ends in QueueLimitError or QueueSizeError naming it and its fix."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from support import unique_name, unlink_quietly

# Creates tiny queues named PREFIX-0, PREFIX-1... until one fails; prints each name
# as soon as it exists (so the test can unlink them whatever happens), then the error.
UNTIL_IT_FAILS = """
    import json, resource, sys
    import posixq

    prefix, limit, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    which, _, soft = limit.partition("=")
    if which in ("nofile", "msgqueue"):
        resource_id = getattr(resource, "RLIMIT_" + which.upper())
        resource.setrlimit(resource_id, (int(soft), resource.getrlimit(resource_id)[1]))
    made = []
    try:
        for i in range(200):
            made.append(posixq.MessageQueue(f"{prefix}-{i}", 2, size, exclusive=True))
            print(made[-1].name, flush=True)
        error = None
    except posixq.MessageQueueError as exc:
        error = exc
    # Once one queue is closed and unlinked, there is room for the next again.
    if made:
        made.pop().close()
        posixq.unlink(f"{prefix}-{len(made)}")
        made.append(posixq.MessageQueue(f"{prefix}-again", 2, size, exclusive=True))
        print(made[-1].name, flush=True)
    for mq in made:
        mq.close()
        mq.unlink()
    print(json.dumps({
        "created": len(made),
        "type": type(error).__name__,
        "errno": getattr(error, "errno", None),
        "oserror": isinstance(error, OSError),
        "message": str(error),
    }))
"""


def until_it_fails(*command: str, limit: str, size: int = 16) -> dict[str, object]:
    """Run UNTIL_IT_FAILS under ``command`` and return its report; unlinks whatever it left."""
    prefix = unique_name("ex")
    code = textwrap.dedent(UNTIL_IT_FAILS)
    child = subprocess.run(
        [*command, sys.executable, "-I", "-c", code, prefix, limit, str(size)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = child.stdout.splitlines()
    for name in lines:
        if name.startswith("/"):
            unlink_quietly(name)  # queues of the host's namespace, if the child died early
    assert child.returncode == 0, child.stderr
    result: dict[str, object] = json.loads(lines[-1])
    return result


def test_rlimit_msgqueue_exhausted_names_the_limit_and_its_fix() -> None:
    """Past RLIMIT_MSGQUEUE, creation fails with QueueLimitError (EMFILE) saying ulimit -q."""
    report = until_it_fails(limit="msgqueue=4000", size=256)
    assert report["type"] == "QueueLimitError"
    assert report["oserror"]
    assert report["errno"] == errno.EMFILE
    message = str(report["message"])
    assert "RLIMIT_MSGQUEUE" in message
    assert "ulimit -q" in message
    assert "4000 bytes" in message
    assert "max_messages=2 x max_message_size=256" in message


def test_rlimit_nofile_exhausted_names_the_limit_and_its_fix() -> None:
    """Past RLIMIT_NOFILE, opening fails with QueueLimitError (EMFILE) saying ulimit -n."""
    report = until_it_fails(limit="nofile=24")
    assert report["type"] == "QueueLimitError"
    assert report["errno"] == errno.EMFILE
    message = str(report["message"])
    assert "RLIMIT_NOFILE" in message
    assert "ulimit -n" in message
    assert "24 open files" in message
    assert 0 < int(report["created"]) < 24  # type: ignore[call-overload]


NO_DESCRIPTOR_LEFT = """
    import json, os, sys
    import posixq

    held = []
    try:
        while True:
            held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    try:
        posixq.MessageQueue(sys.argv[1], 2, 16, exclusive=True)
    except posixq.MessageQueueError as exc:
        print(json.dumps({"type": type(exc).__name__, "errno": exc.errno, "message": str(exc)}))
"""


def test_no_descriptor_left_before_the_first_queue_is_a_queue_limit_error() -> None:
    """A process out of descriptors before its first queue gets QueueLimitError, not OSError."""
    name = unique_name("ex")
    code = "import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (32, 4096))\n"
    try:
        child = subprocess.run(
            [sys.executable, "-I", "-c", code + textwrap.dedent(NO_DESCRIPTOR_LEFT), name],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        unlink_quietly(name)
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert report["type"] == "QueueLimitError"
    assert report["errno"] == errno.EMFILE
    assert "ulimit -n" in report["message"]
    assert name in report["message"]


def need_a_private_namespace() -> None:
    """Skip the test where this process cannot make a private IPC namespace of its own."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        pytest.skip("needs root, unshare and setpriv for a private IPC namespace")
    if subprocess.run(["unshare", "--ipc", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare --ipc is not permitted here")


def in_private_namespace(sysctls: dict[str, int]) -> list[str]:
    """A command prefix: a private IPC namespace with these fs.mqueue sysctls, run as root
    without CAP_SYS_RESOURCE (which would let it past them)."""
    need_a_private_namespace()
    writes = " && ".join(f"echo {v} > /proc/sys/fs/mqueue/{k}" for k, v in sysctls.items())
    return [
        "unshare",
        "--ipc",
        "sh",
        "-c",
        f'{writes} && exec setpriv --inh-caps=-sys_resource --bounding-set=-sys_resource "$@"',
        "sh",
    ]


def test_queues_max_reached_names_the_sysctl() -> None:
    """With fs.mqueue.queues_max=3, the 4th queue fails with QueueLimitError (ENOSPC) naming it."""
    report = until_it_fails(*in_private_namespace({"queues_max": 3}), limit="none")
    assert report["type"] == "QueueLimitError"
    assert report["errno"] == errno.ENOSPC
    assert report["created"] == 3
    message = str(report["message"])
    assert "fs.mqueue.queues_max" in message
    assert "maximum of 3 queues" in message


SIZES = """
    import json, sys
    import posixq

    results = {}
    for sizes in [(4, 256), (5, 64), (2, 257), (9, 300)]:
        name = f"{sys.argv[1]}-{sizes[0]}-{sizes[1]}"
        try:
            posixq.MessageQueue(name, *sizes, exclusive=True).close()
            posixq.unlink(name)
            results[str(sizes)] = "created"
        except posixq.QueueSizeError as exc:
            results[str(sizes)] = str(exc)
    print(json.dumps(results))
"""


def test_sizes_over_msg_max_and_msgsize_max_name_the_sysctls() -> None:
    """Sizes over fs.mqueue.msg_max or msgsize_max fail with QueueSizeError naming each limit."""
    command = in_private_namespace({"msg_max": 4, "msgsize_max": 256})
    child = subprocess.run(
        [*command, sys.executable, "-I", "-c", textwrap.dedent(SIZES), unique_name("ex")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    results = json.loads(child.stdout)
    assert results["(4, 256)"] == "created"
    assert "max_messages=5 is over the host's limit of 4 (fs.mqueue.msg_max)" in results["(5, 64)"]
    assert "sysctl -w fs.mqueue.msg_max=5" in results["(5, 64)"]
    too_big = results["(2, 257)"]
    assert "max_message_size=257 is over the host's limit of 256 bytes" in too_big
    assert "fs.mqueue.msgsize_max" in too_big
    both = results["(9, 300)"]
    assert "fs.mqueue.msg_max" in both
    assert "fs.mqueue.msgsize_max" in both
