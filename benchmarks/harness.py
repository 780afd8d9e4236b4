"""What every scenario shares: queues, rounds, peer processes, statistics, rows.

Fairness on a busy machine comes from three habits kept here:

* every contender runs in every round, and the order rotates from round to
  round, so that a burst of noise lands on all of them alike;
* a ratio is computed inside each round (contender / reference measured
  seconds apart) and the table shows the median of those ratios;
* queues are created by the suite, tiny, unique, and unlinked at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence

import posixq

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "peer.py")


# -- queues -----------------------------------------------------------------


def unique_name(tag: str) -> str:
    """A queue name no other process or run uses."""
    return f"/posixq-bench-{tag}-{os.getpid()}-{secrets.token_hex(4)}"


@contextlib.contextmanager
def temp_queue(tag: str, max_messages: int, max_message_size: int) -> Iterator[str]:
    """Create a queue of exactly these sizes; yield its name; unlink it on exit.

    The suite's own descriptor is closed at once: the contenders open the
    queue by name, each in its own way.
    """
    name = unique_name(tag)
    queue = posixq.MessageQueue(name, max_messages, max_message_size, exclusive=True)
    queue.close()
    try:
        yield name
    finally:
        with contextlib.suppress(FileNotFoundError):
            posixq.unlink(name)


# -- rounds -----------------------------------------------------------------


def rotated(items: Sequence[Any], round_index: int) -> list[Any]:
    """``items`` starting at a different one each round."""
    shift = round_index % len(items) if items else 0
    return list(items[shift:]) + list(items[:shift])


def round_robin(
    contenders: Sequence[str], rounds: int, measure: Callable[[str], Any]
) -> dict[str, list[Any]]:
    """Run ``measure(contender)`` for every contender in every round; rotate the order."""
    samples: dict[str, list[Any]] = {c: [] for c in contenders}
    for r in range(rounds):
        for contender in rotated(contenders, r):
            samples[contender].append(measure(contender))
    return samples


# -- statistics -----------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (the C program computes it the same way)."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, -(-p * len(ordered) // 100)))
    return ordered[int(rank) - 1]


def median_ratio(values: Sequence[float], references: Sequence[float]) -> Optional[float]:
    """Median over rounds of value / reference, both measured in the same round."""
    pairs = [v / r for v, r in zip(values, references) if r]
    return statistics.median(pairs) if pairs else None


# -- peer processes ---------------------------------------------------------------


class Peer:
    """A process that opens its queues, says ``ready``, waits for ``go``, reports JSON."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.fail(f"expected 'ready', got {line!r}")

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def result(self, timeout: float = 300) -> dict[str, Any]:
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.fail(f"no result after {timeout} s")
        if self.process.returncode != 0:
            self.fail(f"exit status {self.process.returncode}: {err.strip()}")
        return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def fail(self, why: str) -> None:
        self.kill()
        err = self.process.stderr.read() if self.process.stderr else ""
        raise RuntimeError(f"{' '.join(self.argv)}: {why}\n{err}")


def python_peer(*args: object) -> list[str]:
    """argv of a Python peer (peer.py) with these arguments."""
    return [sys.executable, PEER, *map(str, args)]


def run_peers(argvs: Sequence[Sequence[str]], timeout: float = 300) -> list[dict[str, Any]]:
    """Start the peers, release them together once all are ready, collect their results."""
    peers: list[Peer] = []
    try:
        for argv in argvs:
            peers.append(Peer(argv))
        for peer in peers:
            peer.wait_ready()
        for peer in peers:
            peer.go()
        return [peer.result(timeout) for peer in peers]
    finally:
        for peer in peers:
            peer.kill()


# -- rows of the table --------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: a contender's median in a scenario, and its ratios."""

    group: str
    scenario: str
    contender: str
    metric: str
    value: Optional[float]
    unit: str
    better: str  # "lower" or "higher"
    vs_ipc: Optional[float] = None  # median of per-round ratios value / posix_ipc's
    vs_c: Optional[float] = None  # median of per-round ratios value / C's
    target: str = ""
    met: Optional[bool] = None
    note: str = ""
    samples: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def skipped(group: str, scenario: str, contender: str, why: str) -> Row:
    return Row(group, scenario, contender, "-", None, "", "", note=f"skipped: {why}")


def rows_for(
    group: str,
    scenario: str,
    metric: str,
    unit: str,
    better: str,
    samples: dict[str, list[float]],
    labels: dict[str, str],
    ipc: Optional[str] = None,
    c: Optional[str] = None,
) -> list[Row]:
    """Rows for every contender of one scenario, with ratios to ``ipc`` and ``c``."""
    rows = []
    for key, values in samples.items():
        if not values:
            continue
        row = Row(
            group,
            scenario,
            labels.get(key, key),
            metric,
            statistics.median(values),
            unit,
            better,
            samples=list(values),
        )
        if samples.get(ipc):
            row.vs_ipc = median_ratio(values, samples[ipc])
        if samples.get(c):
            row.vs_c = median_ratio(values, samples[c])
        rows.append(row)
    return rows


def set_target(
    rows: Sequence[Row], contender: str, scenario: str, metric: str, text: str, check: Callable
) -> None:
    """Mark the row of ``contender`` in ``scenario``/``metric`` with a target and its verdict."""
    for row in rows:
        if row.contender == contender and row.scenario == scenario and row.metric == metric:
            row.target = text
            try:
                row.met = bool(check(row))
            except TypeError:  # a ratio is missing: nothing to judge
                row.met = None


# -- settings of a run ----------------------------------------------------------------


@dataclass
class Settings:
    """How long to measure: ``rounds`` of every contender, counts times ``scale``."""

    rounds: int = 5
    scale: float = 1.0
    c: Any = None  # cprogram.CProgram: .path is None (and .why_not says why) without gcc
    large: bool = False  # in a private IPC namespace with raised limits

    def count(self, n: int, minimum: int = 1) -> int:
        return max(minimum, int(n * self.scale))

    @property
    def short_rounds(self) -> int:
        """Rounds of in-process scenarios: 3 times as many, each a third as long.

        Switching contenders every few tens of milliseconds spreads a burst
        of load from other processes over all of them.
        """
        return 3 * self.rounds


def count_label(n: int) -> str:
    """1M, 200k, 500: how scenario names show counts."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def log(*parts: object) -> None:
    """Progress, on stderr so that stdout holds only the table."""
    print(*parts, file=sys.stderr, flush=True)
