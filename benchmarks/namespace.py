"""Run a scenario group in a private IPC namespace with larger queue limits.

``unshare --ipc`` gives the child its own ``/proc/sys/fs/mqueue``, which
root may raise there without touching the host's. The bytes a queue
reserves are still charged to its owner's ``RLIMIT_MSGQUEUE`` account,
which every root process on the host shares; so the child also moves its
*real* uid to a private one (the effective uid stays 0): its queues are
charged to that account and a large queue here never makes another
process's mq_open fail. Raising RLIMIT_MSGQUEUE itself needs
CAP_SYS_RESOURCE; without it the largest queue is what the limit allows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
from typing import Callable, Optional

from cprogram import CProgram
from harness import HERE, Row, Settings, log, skipped

SYSCTLS = {"msgsize_max": 1 << 20, "msg_max": 1000}
#: The real uid whose RLIMIT_MSGQUEUE account the namespace's queues use.
PRIVATE_UID = 60999
WANTED_MSGQUEUE_BYTES = 4 << 20


def run(
    group: str, settings: Settings, fallback: Optional[Callable[[Settings], list[Row]]] = None
) -> list[Row]:
    """Rows of ``group`` measured in a private namespace, or ``fallback``'s and why not."""
    command = [
        "unshare",
        "--ipc",
        "--",
        sys.executable,
        os.path.join(HERE, "run.py"),
        "--namespace-child",
        group,
        "--rounds",
        str(settings.rounds),
        "--scale",
        str(settings.scale),
        "--c-program",
        settings.c.path or "",
        "--host-ipc-namespace",
        os.readlink("/proc/self/ns/ipc"),
    ]
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=1800)
        failure = "" if result.returncode == 0 else f"exit status {result.returncode}"
    except OSError as error:
        failure = str(error)
    if not failure:
        return [Row(**row) for row in json.loads(result.stdout)]
    why = f"could not measure in a private IPC namespace (unshare --ipc: {failure})"
    log(f"{group}: {why}")
    rows = fallback(settings) if fallback else []
    return [*rows, skipped(f"({group})", "larger limits", "all", why)]


def child(measure: Callable[[Settings], list[Row]], args: argparse.Namespace) -> int:
    """In the namespace: check it is private, raise its limits, measure, print rows as JSON."""
    here = os.readlink("/proc/self/ns/ipc")
    if not args.host_ipc_namespace or here == args.host_ipc_namespace:
        log("refusing to change fs.mqueue: not in a private IPC namespace")
        return 1
    for name, value in SYSCTLS.items():
        with open(f"/proc/sys/fs/mqueue/{name}", "w") as f:
            f.write(str(value))
    # Without CAP_SYS_RESOURCE this fails: the queues must then fit the current limit.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_MSGQUEUE, (WANTED_MSGQUEUE_BYTES,) * 2)
    os.setresuid(PRIVATE_UID, 0, 0)
    c = CProgram(args.c_program) if args.c_program else CProgram()
    settings = Settings(rounds=args.rounds, scale=args.scale, c=c, large=True)
    try:
        rows = measure(settings)
    finally:
        if not args.c_program:
            c.cleanup()
    print(json.dumps([row.as_dict() for row in rows]))
    return 0
