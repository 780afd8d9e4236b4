"""Timeout accuracy: how late get(timeout=0.01) returns on an empty queue.

The Python contenders take one sample each in turn, so that a burst of
load delays them all alike; the C program (a bare mq_timedreceive with a
10 ms deadline: what the scheduler alone adds) takes its share in a block
after every round. The overshoot is the time past the 10 ms asked for;
the GeventWaiter waits on gevent's hub (no monkey-patching).
"""

from __future__ import annotations

from time import perf_counter_ns

from contenders import LABELS, POSIXQ, open_handle, runnable, timeout_errors
from harness import Row, Settings, log, percentile, rotated, run_peers, set_target, temp_queue

GROUP = "5 timeouts"
TIMEOUT = 0.01
CONTENDERS = (*POSIXQ, "posix_ipc", "baseplate", "c")


def run(settings: Settings) -> list[Row]:
    scenario = f"get(timeout={TIMEOUT}) on an empty queue"
    contenders, rows = runnable(CONTENDERS, settings, GROUP, scenario)
    python = [k for k in contenders if k != "c"]
    per_round = max(1, settings.count(200, 20) // settings.rounds)
    errors = timeout_errors()
    log(f"timeouts: {len(contenders)} contenders x {per_round * settings.rounds} of {TIMEOUT} s")
    overshoots: dict[str, list[float]] = {k: [] for k in contenders}
    with temp_queue("timeout", 1, 64) as name:
        handles = {k: open_handle(k, name) for k in python}
        try:
            for r in range(settings.rounds):
                for i in range(per_round):
                    for kind in rotated(python, r * per_round + i):
                        get_timeout = handles[kind].get_timeout
                        start = perf_counter_ns()
                        try:
                            get_timeout(TIMEOUT)
                        except errors:
                            pass
                        else:
                            raise RuntimeError(f"{kind}: get() on an empty queue returned")
                        late = (perf_counter_ns() - start) / 1e6 - TIMEOUT * 1e3
                        overshoots[kind].append(late)
                if "c" in contenders:
                    argv = settings.c.argv("timeout", name, per_round, int(TIMEOUT * 1000))
                    [result] = run_peers([argv])
                    overshoots["c"] += [ns / 1e6 for ns in result["overshoot_ns"]]
        finally:
            for h in handles.values():
                h.close()
    for kind, values in overshoots.items():
        for metric, value in (
            ("p50", percentile(values, 50)),
            ("p99", percentile(values, 99)),
            ("max", max(values)),
        ):
            rows.append(
                Row(GROUP, scenario, LABELS[kind], f"overshoot {metric}", value, "ms", "lower")
            )
        rows[-1].samples = values
    for kind in POSIXQ:
        set_target(rows, LABELS[kind], scenario, "overshoot p99", "<2 ms", lambda r: r.value < 2)
    return rows
