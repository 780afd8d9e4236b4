"""Who can open a queue: mode bits, other users, groups, squatted names, escaping names."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import unlink_quietly

import posixq

NOBODY = 65534


def need_root_and(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root, to act as another user or make namespaces")
    for tool in tools:
        if not shutil.which(tool):
            pytest.skip(f"needs {tool}")


# Becomes uid and gid 65534, as setpriv --reuid --regid does, once posixq and the
# modules the code needs are imported: the Python under test may live where that user
# cannot read (tox's 0700 work dir, a pyenv prefix under /root).
BECOME_NOBODY = """
    import json, os, stat, sys  # everything the code needs, while it can still be read
    import posixq
    import posixq.limits  # loaded by the first open or error otherwise

    os.setgroups([int(g) for g in os.environ["NOBODY_GROUPS"].split(",") if g])
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)
    with open("/proc/self/status") as status:
        assert "CapEff:\t0000000000000000" in status.read(), "still privileged"
"""


def as_nobody(code: str, *args: str, groups: tuple[int, ...] = ()) -> dict[str, str]:
    """Run ``code`` as uid and gid 65534 in ``groups``, without privileges; return its JSON."""
    need_root_and()
    child = subprocess.run(
        [sys.executable, "-I", "-c", textwrap.dedent(BECOME_NOBODY) + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
        env={**os.environ, "NOBODY_GROUPS": ",".join(map(str, groups))},
    )
    assert child.returncode == 0, child.stderr
    result: dict[str, str] = json.loads(child.stdout)
    return result


TRY_EVERYTHING = """
    import json, os, sys
    import posixq

    name = sys.argv[1]
    results = {"uid": str(os.getuid())}
    attempts = {
        "open": lambda: posixq.MessageQueue(name, create=False).close(),
        "open or create": lambda: posixq.MessageQueue(name, 1, 16).close(),
        "unlink": lambda: posixq.unlink(name),
        "round trip": lambda: round_trip(name),
    }

    def round_trip(name):
        with posixq.MessageQueue(name, create=False) as mq:
            mq.put(b"from nobody")
            return mq.get(timeout=0)

    for what, attempt in attempts.items():
        if what == "unlink" and len(sys.argv) > 2:
            continue  # a member may not remove the owner's queue either; left to the owner
        try:
            results[what] = repr(attempt())
        except posixq.MessageQueueError as exc:
            results[what] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(results))
"""


def test_default_mode_keeps_another_user_out(queue_name: str) -> None:
    """A queue made with the default mode cannot be opened or unlinked by another user."""
    with posixq.MessageQueue(queue_name, 1, 16, exclusive=True) as mq:
        mq.put(b"secret")
        info = os.fstat(mq.fileno())  # the owner and mode, straight from the descriptor
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o600)
        results = as_nobody(TRY_EVERYTHING, queue_name)
        assert results["uid"] == str(NOBODY)
        for what in ("open", "open or create", "unlink", "round trip"):
            assert results[what].startswith("QueuePermissionError: [Errno 13]"), results[what]
            assert queue_name in results[what]
        assert "mode=0o660" in results["open"]  # says how the owner can let others in
        assert "only its owner" in results["unlink"]
        assert mq.get(timeout=0) == b"secret"
        os.fchmod(mq.fileno(), 0o666)  # the fix the message offers, on the open queue
        assert as_nobody(TRY_EVERYTHING, queue_name, "no unlink")["round trip"] == "b'from nobody'"


def test_mode_0o660_lets_the_group_in_and_no_one_else(queue_name: str) -> None:
    """With mode=0o660 a member of the queue's group can use it; a user outside it cannot."""
    with posixq.MessageQueue(queue_name, 1, 16, mode=0o660, exclusive=True) as mq:
        info = os.fstat(mq.fileno())
        assert stat.S_IMODE(info.st_mode) == 0o660
        member = as_nobody(TRY_EVERYTHING, queue_name, "member", groups=(info.st_gid,))
        assert member["open"] == "None"
        assert member["round trip"] == "b'from nobody'"
        outsider = as_nobody(TRY_EVERYTHING, queue_name)
        assert outsider["open"].startswith("QueuePermissionError")
        assert outsider["round trip"].startswith("QueuePermissionError")
        assert mq.current_messages == 0


SQUAT = """
    import json, sys
    import posixq

    name, what = sys.argv[1], sys.argv[2]
    if what == "squat":  # create the name first, open to all, and go away
        posixq.MessageQueue(name, 2, 32, mode=0o666, exclusive=True).close()
        print(json.dumps({}))
    else:  # come back and read what the victim sent
        with posixq.MessageQueue(name, create=False) as mq:
            print(json.dumps({"read": mq.get(timeout=0).decode()}))
"""


def test_a_squatted_name_is_detected_by_exclusive_or_by_the_owner(queue_name: str) -> None:
    """If another user made the name first, exclusive=True fails, and fstat shows the owner."""
    try:
        as_nobody(SQUAT, queue_name, "squat")
        with pytest.raises(posixq.QueueExistsError, match="already exists"):
            posixq.MessageQueue(queue_name, 2, 32, exclusive=True)
        # Without exclusive=True the victim opens the squatter's queue...
        with posixq.MessageQueue(queue_name, 2, 32) as mq:
            assert not mq.created
            # ...which the owner of its descriptor tells apart from its own.
            assert os.fstat(mq.fileno()).st_uid == NOBODY
            mq.put(b"meant for my own processes")
            assert as_nobody(SQUAT, queue_name, "read") == {"read": "meant for my own processes"}
    finally:
        unlink_quietly(queue_name)


ESCAPES = """
    import json, os, sys
    import posixq

    mount = sys.argv[1]
    os.umask(0o077)  # the mode given is applied exactly, whatever the umask
    names = ["/plain", "/...", "/.hidden", "/ space", "/new\\nline", "/back\\\\slash",
             "/%2e%2e", "/\\u00e9t\\u00e9", "/\\udcff", "/" + "x" * 255]
    rejected = ["/a/b", "/../etc/passwd", "/..", "/.", "//", "/a\\0b", "relative",
                "/" + "x" * 256, "/\\ud800"]
    results = {"made": {}, "rejected": {}}
    for i, name in enumerate(names):
        mode = [0o600, 0o660, 0o644, 0o000][i % 4]
        with posixq.MessageQueue(name, 1, 8, mode=mode, exclusive=True):
            pass
        results["made"][repr(name)] = oct(mode)
    for name in rejected:
        try:
            posixq.MessageQueue(name, 1, 8)
            results["rejected"][repr(name)] = "accepted!"
        except posixq.InvalidArgumentError as exc:
            results["rejected"][repr(name)] = "InvalidArgumentError"
    with posixq.MessageQueue("/default", 1, 8):
        pass
    entries = {}
    for entry in os.listdir(os.fsencode(mount)):
        info = os.lstat(os.path.join(os.fsencode(mount), entry))
        mode = oct(stat.S_IMODE(info.st_mode))
        entries[repr(os.fsdecode(b"/" + entry))] = [mode, stat.S_ISREG(info.st_mode)]
    results["entries"] = entries
    print(json.dumps(results))
""".replace("import json, os, sys", "import json, os, stat, sys")


def test_names_map_to_one_entry_each_with_the_mode_asked(tmp_path: Path) -> None:
    """Seen in a private mqueue mount, each name is one file directly in it, with the exact mode."""
    need_root_and("unshare")
    mount = tmp_path / "mqueue"
    mount.mkdir()
    mount_then_run = 'mount -t mqueue none "$0" && exec "$@"'
    child = subprocess.run(
        [
            *["unshare", "--ipc", "--mount", "sh", "-c", mount_then_run, str(mount)],
            *[sys.executable, "-I", "-c", textwrap.dedent(ESCAPES), str(mount)],
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    if child.returncode != 0 and "unshare" in child.stderr and "ermission" in child.stderr:
        pytest.skip(f"cannot make a private IPC and mount namespace: {child.stderr.strip()}")
    assert child.returncode == 0, child.stderr
    results = json.loads(child.stdout)
    assert set(results["rejected"].values()) == {"InvalidArgumentError"}
    expected = {name: [mode, True] for name, mode in results["made"].items()}
    expected["'/default'"] = ["0o600", True]
    assert results["entries"] == expected
    # Nothing was made anywhere else: not in the working directory, not in the mount point
    # as seen from outside the namespace.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mqueue"]
    assert list(mount.iterdir()) == []
