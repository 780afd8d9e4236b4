"""The command line's arguments: how they parse, which go together, and --help."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, NoReturn, Optional, Sequence

from . import __version__, _arguments, errors
from ._cli_framing import FRAMINGS

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "parse",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
EXIT_TERMINATED = 143

EPILOG = f"""\
exit status:
  {EXIT_OK}    success
  {EXIT_ERROR}    an error, told in one line on stderr; for --limits, a queue of
       the sizes given cannot be created on this host
  {EXIT_USAGE}    the command line is wrong
  {EXIT_TIMEOUT}    --timeout passed: no message came (--read), or the queue
       stayed full (--write)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); --read first writes out the message it
       holds (a second Ctrl-C does not wait)
  {EXIT_BROKEN_PIPE}  stdout was closed by its reader (e.g. | head -1); a message
       --read had taken and could not write goes to stderr
  {EXIT_TERMINATED}  terminated (SIGTERM); --read ends as on Ctrl-C

--read writes and flushes each message before it takes the next one off
the queue; a message it took and could not write goes to stderr. (What a
reader leaves unread in a pipe when it exits is lost, as with any program.)
--read, --write and --create create a queue that does not exist, with
--max-messages, --max-message-size and --mode. Without --waiter,
$POSIXQ_WAITER picks the waiter (select by default).

examples:
  echo hello! | posixq --write /queue
  posixq --read /queue --count 1 --timeout 5
  posixq --read /queue -0 --with-priority | xxd
  gzip -c notes.txt | posixq --write /notes --framing whole
  posixq --limits --max-messages 50
"""


class _Default(int):
    """A default the user did not type, told apart from the same number typed."""


class _DefaultFraming(str):
    """The default framing, told apart from --framing lines."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Tell a usage error in one line, not under the whole usage."""
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    def _get_help_string(self, action: argparse.Action) -> Optional[str]:
        if action.default in (None, False) or "default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _type(check: Callable[[Any], Any], convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return check(convert(text))
        except (ValueError, errors.MessageQueueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _positive(value: int) -> int:
    if value < 1:
        raise ValueError(f"{value} must be at least 1")
    return value


def _mode(text: str) -> int:
    return _arguments.mode(int(text, 8))


def _queue_name(text: str) -> str:
    _arguments.queue_name(text)
    return text


def _parser() -> argparse.ArgumentParser:
    prog = "python -m posixq" if sys.argv[0].endswith("__main__.py") else "posixq"
    parser = _Parser(
        prog=prog,
        description="Read, write, create, inspect and remove POSIX message queues\n"
        "(man 7 mq_overview), and explain the host's limits on them.",
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument(
        "queue",
        nargs="?",
        metavar="QUEUE",
        type=_type(_queue_name, str),
        help="the queue's name: a slash and 1 to 255 other characters, e.g. /jobs",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")

    group = parser.add_argument_group("what to do (one of)")
    what = group.add_mutually_exclusive_group(required=True)
    for action, text in (
        ("read", "take messages off QUEUE and write each to stdout, forever unless "
         "--count or --timeout"),
        ("write", "send stdin to QUEUE, one message per line (the newline is not sent) "
         "unless --framing says otherwise"),
        ("create", "create QUEUE if it does not exist, then exit"),
        ("info", "show QUEUE's sizes, how many messages it holds and its owner"),
        ("unlink", "remove QUEUE from the system"),
        ("limits", "show the host's limits on queues and whether a queue of the sizes "
         "given fits them"),
        ("list", "list the host's queues, read from the mqueue filesystem"),
    ):  # fmt: skip
        what.add_argument(
            f"--{action}", dest="action", action="store_const", const=action, help=text
        )

    size = _type(_positive, int)
    sizes = parser.add_argument_group("sizes of a queue created (and asked about by --limits)")
    sizes.add_argument(
        "--max-messages", type=size, default=_Default(10), metavar="N",
        help="how many messages it holds",
    )  # fmt: skip
    sizes.add_argument(
        "--max-message-size", type=size, default=_Default(8096), metavar="BYTES",
        help="the largest message it accepts",
    )  # fmt: skip
    sizes.add_argument(
        "--mode", type=_type(int, _mode), default=_Default(0o600),
        help="its permission bits, in octal (default: 600)",
    )  # fmt: skip
    sizes.add_argument(
        "--no-create", action="store_true", help="--read and --write fail if QUEUE does not exist"
    )

    io = parser.add_argument_group("reading and writing")
    io.add_argument("--count", type=size, metavar="N", help="--read stops after N messages")
    io.add_argument(
        "--timeout", type=_type(_arguments.timeout, float), metavar="SECONDS",
        help="--read stops when no message comes for this long; --write gives up when "
        "the queue stays full for this long (default: wait forever)",
    )  # fmt: skip
    io.add_argument(
        "--priority", type=_type(_arguments.priority, int), metavar="N",
        help=f"--write sends at this priority, 0 to {_arguments.PRIORITY_MAX - 1}; "
        "higher priorities are read first (default: 0)",
    )  # fmt: skip
    io.add_argument(
        "--with-priority", action="store_true",
        help="each message is preceded by its priority: --read shows it, --write takes it "
        "from stdin",
    )  # fmt: skip
    io.add_argument(
        "--framing", choices=FRAMINGS, default=_DefaultFraming("lines"),
        help="how messages are cut on stdin and stdout: lines (on output, bytes that are "
        "not UTF-8 are escaped as \\xNN), nul (each ends with a NUL byte), length (each "
        "follows its length, 4 bytes big-endian), whole (stdin is one message; on output, "
        "nothing between messages)",
    )  # fmt: skip
    io.add_argument(
        "-0", dest="framing", action="store_const", const="nul", help="short for --framing nul"
    )
    io.add_argument(
        "--waiter", choices=("select", "gevent", "blocking"),
        help="how --read and --write wait (see posixq.waiters)",
    )  # fmt: skip
    parser.add_argument(
        "--json", action="store_true", help="--info, --limits and --list print JSON"
    )
    return parser


_QUEUE_ACTIONS = ("read", "write", "create", "info", "unlink")
# Options that mean something to some actions only, and when they were given.
_APPLIES: dict[str, tuple[tuple[str, ...], Callable[[Any], bool]]] = {
    "--max-messages": (("read", "write", "create", "limits"), lambda a: type(a) is int),
    "--max-message-size": (("read", "write", "create", "limits"), lambda a: type(a) is int),
    "--mode": (("read", "write", "create"), lambda a: type(a) is int),
    "--no-create": (("read", "write"), bool),
    "--count": (("read",), lambda a: a is not None),
    "--timeout": (("read", "write"), lambda a: a is not None),
    "--priority": (("write",), lambda a: a is not None),
    "--with-priority": (("read", "write"), bool),
    "--framing": (("read", "write"), lambda a: type(a) is str),
    "--waiter": (("read", "write"), lambda a: a is not None),
    "--json": (("info", "limits", "list"), bool),
}


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    action = args.action
    if action in _QUEUE_ACTIONS and args.queue is None:
        parser.error(f"--{action} needs the name of a queue, e.g. --{action} /jobs")
    if action not in _QUEUE_ACTIONS and args.queue is not None:
        parser.error(f"--{action} takes no queue name (got {args.queue!r})")
    for option, (actions, given) in _APPLIES.items():
        if action not in actions and given(getattr(args, option[2:].replace("-", "_"))):
            parser.error(f"{option} applies only to --{' and --'.join(actions)}")
    if args.priority is not None and args.with_priority:
        parser.error("--priority and --with-priority cannot be used together")


def parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The arguments in ``argv``; SystemExit for --help, --version and usage errors."""
    parser = _parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    return args
