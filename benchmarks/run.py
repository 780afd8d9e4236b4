"""Run the benchmark suite and print one table: posixq beside posix_ipc and C.

    python benchmarks/run.py            # the whole suite (a few minutes)
    python benchmarks/run.py --quick    # a tenth of the iterations, 3 rounds
    python benchmarks/run.py --only pairs batch

Run it through ``tox -e bench`` so that posixq is the installed wheel and
posix_ipc and gevent are there. Results also go to benchmarks/results/
(latest.json with every sample, latest.md with the table).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from typing import Any, Callable, Optional, Sequence

import aio_bench
import batch
import footprint
import msgsize
import namespace
import pairs
import streaming
import timeouts
from cprogram import CProgram
from harness import HERE, Row, Settings, log

import posixq

#: What runs in a private IPC namespace (namespace.py), by the name the child is given.
IN_NAMESPACE = {"batch": batch.run_large, "msgsize": msgsize.run}
#: Scenario groups, in table order.
GROUPS: dict[str, Callable[[Settings], list[Row]]] = {
    "pairs": pairs.run,
    "stream": streaming.run_stream,
    "pingpong": streaming.run_pingpong,
    "batch": lambda s: batch.run(s) + namespace.run("batch", s),
    "timeouts": timeouts.run,
    "msgsize": lambda s: namespace.run("msgsize", s, fallback=msgsize.run),
    "footprint": footprint.run,
    "aio": aio_bench.run,
}
RESULTS = os.path.join(HERE, "results")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--only", nargs="+", choices=list(GROUPS), default=list(GROUPS))
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every contender")
    parser.add_argument("--scale", type=float, default=1.0, help="iteration counts times this")
    parser.add_argument("--quick", action="store_true", help="--scale 0.1 --rounds 3")
    parser.add_argument("--json", default=os.path.join(RESULTS, "latest.json"))
    parser.add_argument("--markdown", default=os.path.join(RESULTS, "latest.md"))
    parser.add_argument("--namespace-child", help=argparse.SUPPRESS)
    parser.add_argument("--c-program", help=argparse.SUPPRESS)
    parser.add_argument("--host-ipc-namespace", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.scale, args.rounds = 0.1, 3

    if args.namespace_child:  # inside `unshare --ipc`: raise the limits, run, print rows
        return namespace.child(IN_NAMESPACE[args.namespace_child], args)

    check_installed()
    c = CProgram()
    settings = Settings(rounds=args.rounds, scale=args.scale, c=c)
    started = datetime.datetime.now(datetime.timezone.utc)
    machine = describe_machine()
    rows: list[Row] = []
    try:
        for group in args.only:
            rows += GROUPS[group](settings)
    finally:
        c.cleanup()
    machine["load average at end"] = load_average()
    machine["duration"] = f"{(datetime.datetime.now(datetime.timezone.utc) - started).seconds} s"

    options = " ".join(sys.argv[1:] if argv is None else argv)
    if os.environ.get("TOX_ENV_NAME") == "bench":
        command = "tox -e bench" + (f" -- {options}" if options else "")
    else:
        command = f"python benchmarks/run.py {options}".rstrip()
    text = format_table(rows)
    print(text)
    print("\n".join(["", *notes(rows)]))
    print(format_targets(rows))
    os.makedirs(RESULTS, exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(
            {
                "command": command,
                "machine": machine,
                "settings": {"rounds": args.rounds, "scale": args.scale},
                "rows": [r.as_dict() for r in rows],
            },
            f,
            indent=1,
        )
    with open(args.markdown, "w") as f:
        f.write(format_markdown(rows, command, machine))
    log(f"wrote {args.json} and {args.markdown}")
    return 0


def check_installed() -> None:
    """The suite measures the installed posixq, never a source tree beside it."""
    log(f"posixq {posixq.__version__} from {os.path.dirname(posixq.__file__)}")


# -- the machine ----------------------------------------------------------------------


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def memory() -> str:
    with open("/proc/meminfo") as f:
        total = int(f.readline().split()[1])
    return f"{total / (1 << 20):.1f} GiB"


def describe_machine() -> dict[str, Any]:
    def cpu() -> str:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        return platform.processor()

    def version(module: str) -> str:
        try:
            return str(__import__(module).__version__)
        except (ImportError, AttributeError):
            try:
                return str(__import__(module).VERSION)
            except (ImportError, AttributeError):
                return "not installed"

    def sysctl(name: str) -> str:
        with open(f"/proc/sys/fs/mqueue/{name}") as f:
            return f.read().strip()

    commit = subprocess.run(
        ["git", "-C", HERE, "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu()}, {os.cpu_count()} cores",
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "posixq": f"{posixq.__version__} (commit {commit or 'unknown'})",
        "posix_ipc": version("posix_ipc"),
        "gevent": version("gevent"),
        "cffi": version("cffi"),
        "fs.mqueue": f"msg_max={sysctl('msg_max')} msgsize_max={sysctl('msgsize_max')}",
        "memory": memory(),
        "load average at start": load_average(),
    }


# -- the table --------------------------------------------------------------------------

COLUMNS = ("group", "scenario", "contender", "metric", "median", "x posix_ipc", "x C", "target")


def _number(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _verdict(row: Row) -> str:
    if not row.target:
        return ""
    return f"{row.target}: " + {True: "met", False: "MISSED", None: "?"}[row.met]


def table_cells(rows: Sequence[Row]) -> list[tuple[str, ...]]:
    cells = []
    for row in rows:
        if row.value is None:
            median = row.note
        else:
            arrow = "v" if row.better == "lower" else "^"
            median = f"{_number(row.value)} {row.unit} {arrow}"
        cells.append(
            (
                row.group,
                row.scenario,
                row.contender,
                row.metric,
                median,
                _ratio(row.vs_ipc),
                _ratio(row.vs_c),
                _verdict(row),
            )
        )
    return cells


def format_table(rows: Sequence[Row]) -> str:
    cells = [COLUMNS, *table_cells(rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = []
    previous = None
    for index, line in enumerate(cells):
        if index > 1 and line[:2] != previous:
            lines.append("")
        previous = line[:2]
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def notes(rows: Sequence[Row]) -> list[str]:
    """Notes of measured rows (skipped rows show theirs in the table)."""
    seen: list[str] = []
    for row in rows:
        if row.note and row.value is not None and row.note not in seen:
            seen.append(row.note)
    return [
        f"Note ({row_group}): {note}" for note, row_group in ((n, _group_of(rows, n)) for n in seen)
    ]


def _group_of(rows: Sequence[Row], note: str) -> str:
    return next(f"{r.group}, {r.scenario}" for r in rows if r.note == note)


def format_targets(rows: Sequence[Row]) -> str:
    targeted = [r for r in rows if r.target]
    met = sum(1 for r in targeted if r.met)
    lines = [f"\nTargets of the performance issue: {met} of {len(targeted)} met"]
    for r in targeted:
        lines.append(
            f"  {_verdict(r):<32} {r.scenario} / {r.contender} / {r.metric}: {_target_measure(r)}"
        )
    return "\n".join(lines)


def _target_measure(row: Row) -> str:
    """What a target was judged on: the ratio to posix_ipc if it has one, else the value."""
    if row.vs_ipc is not None:
        measured = f"{_ratio(row.vs_ipc)} posix_ipc"
        return measured + (f", {_ratio(row.vs_c)} C" if "C" in row.target else "")
    return f"{_number(row.value)} {row.unit}"


def format_markdown(rows: Sequence[Row], command: str, machine: dict[str, Any]) -> str:
    header = "| " + " | ".join(COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    body = [
        "| " + " | ".join(c.replace("|", "/") for c in line) + " |" for line in table_cells(rows)
    ]
    targeted = [r for r in rows if r.target]
    met = sum(1 for r in targeted if r.met)
    parts = [
        "# Benchmark results",
        "",
        f"Produced by `{command}` (see benchmarks/README.md for how to read it).",
        "",
        *[f"- {key}: {value}" for key, value in machine.items()],
        "",
        "`v`: lower is better, `^`: higher is better. Ratios are medians of per-round ratios "
        "(the contender's value over posix_ipc's or C's in the same round). A load average "
        "above the core count means other processes competed for the CPUs during the run.",
        "",
        header,
        rule,
        *body,
        "",
        *[f"- {note}" for note in notes(rows)],
        "",
        f"Targets met: {met} of {len(targeted)}.",
        "",
        *[
            f"- {_verdict(r)}: {r.scenario} / {r.contender} / {r.metric} ({_target_measure(r)})"
            for r in targeted
        ],
        "",
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
