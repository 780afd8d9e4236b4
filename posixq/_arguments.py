"""Checks of user arguments, done before any system call."""

from __future__ import annotations

import math
import os
from typing import Optional, Union

from .errors import ArgumentTypeError, InvalidArgumentError

#: Priorities run from 0 to PRIORITY_MAX - 1 (sysconf(_SC_MQ_PRIO_MAX)).
PRIORITY_MAX = os.sysconf("SC_MQ_PRIO_MAX")

#: Longest name after its slash, in bytes (NAME_MAX).
NAME_MAX = 255

# Larger than any Linux allows (HARD_MSGMAX is 65536, HARD_MSGSIZEMAX 16 MiB),
# small enough for a C long everywhere.
_SIZE_CEILING = 2**31 - 1

Message = Union[bytes, bytearray, memoryview, str]


def _type_name(value: object) -> str:
    return type(value).__name__


def _shown(value: object) -> str:
    """``str(value)``, or a summary of an int too long to print (sys.set_int_max_str_digits)."""
    try:
        return str(value)
    except ValueError:
        if isinstance(value, int):
            return f"<{'negative ' if value < 0 else ''}int of {value.bit_length()} bits>"
        return f"<{_type_name(value)}>"


def queue_name(name: object) -> bytes:
    """``name`` encoded for mq_open, or an error saying what is wrong with it."""
    if not isinstance(name, str):
        raise ArgumentTypeError(f"queue name must be a str such as '/jobs', not {_type_name(name)}")
    if not name.startswith("/"):
        raise InvalidArgumentError(
            f"queue name {name!r} must start with a slash, e.g. {'/' + name!r}"
        )
    rest = name[1:]
    if not rest:
        raise InvalidArgumentError("queue name '/' needs at least one character after the slash")
    if "/" in rest:
        raise InvalidArgumentError(
            f"queue name {name!r} may hold only its first slash; "
            f"try {'/' + rest.replace('/', '-')!r}"
        )
    if "\0" in rest:
        raise InvalidArgumentError(f"queue name {name!r} must not contain a NUL character")
    if rest in (".", ".."):
        raise InvalidArgumentError(f"queue name {name!r} is not a valid queue name")
    try:
        encoded = os.fsencode(name)
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(
            f"queue name {name!r} cannot be encoded for the system: {exc.reason}"
        ) from None
    if len(encoded) - 1 > NAME_MAX:
        raise InvalidArgumentError(
            f"queue name is {len(encoded) - 1} bytes after its slash; "
            f"the most Linux allows is {NAME_MAX}"
        )
    return encoded


def queue_size(parameter: str, value: object) -> Optional[int]:
    """A positive int for ``max_messages`` or ``max_message_size``, or None."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentTypeError(
            f"{parameter} must be a positive int or None, not {_type_name(value)}"
        )
    if value < 1:
        raise InvalidArgumentError(f"{parameter}={_shown(value)} must be at least 1")
    if value > _SIZE_CEILING:
        raise InvalidArgumentError(
            f"{parameter}={_shown(value)} is larger than Linux allows for any queue"
        )
    return value


def count(value: object) -> int:
    """How many messages a batch call may take: 1 or more."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentTypeError(f"max_count must be an int, not {_type_name(value)}")
    if value < 1:
        raise InvalidArgumentError(f"max_count={_shown(value)} must be at least 1")
    return value


def mode(value: object) -> int:
    """Permission bits for a new queue."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentTypeError(f"mode must be an int such as 0o600, not {_type_name(value)}")
    if not 0 <= value <= 0o777:
        raise InvalidArgumentError(f"mode={value:#o} must be permission bits from 0 to 0o777")
    return value


def timeout(value: object) -> Optional[float]:
    """Seconds to wait: None (forever), 0 (one attempt) or more; inf means None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(
            f"timeout must be a number of seconds or None, not {_type_name(value)}"
        )
    try:
        seconds = float(value)
    except OverflowError:  # an int beyond any float: as long as inf, or as wrong as -inf
        seconds = math.inf if value > 0 else -math.inf
    if math.isnan(seconds) or seconds < 0:
        raise InvalidArgumentError(
            f"timeout={_shown(value)} must be 0 or more seconds, or None to wait forever"
        )
    return None if math.isinf(seconds) else seconds


def priority(value: object) -> int:
    """A message priority from 0 to PRIORITY_MAX - 1."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentTypeError(f"priority must be an int, not {_type_name(value)}")
    if not 0 <= value < PRIORITY_MAX:
        raise InvalidArgumentError(
            f"priority={_shown(value)} must be from 0 to {PRIORITY_MAX - 1} (MQ_PRIO_MAX - 1)"
        )
    return value


def message(value: object) -> Union[bytes, memoryview]:
    """A message that is not already bytes, as bytes or a flat byte view.

    str is encoded as UTF-8. Contiguous buffers (bytearray, memoryview,
    array, numpy arrays...) come back as a view of their bytes, without a
    copy; other buffers are copied into bytes.
    """
    if isinstance(value, str):
        try:
            return value.encode()
        except UnicodeEncodeError as exc:
            raise InvalidArgumentError(
                f"message str cannot be encoded as UTF-8 ({exc.reason} at index "
                f"{exc.start}); send bytes instead"
            ) from None
    try:
        view = memoryview(value)  # type: ignore[arg-type]
    except TypeError:
        raise ArgumentTypeError(
            f"message must be bytes, str or a bytes-like object, not {_type_name(value)}"
        ) from None
    if view.c_contiguous and view.ndim >= 1:
        return view.cast("B")
    return view.tobytes()


def messages(values: object) -> list[Union[bytes, memoryview]]:
    """The messages of a batch call, each as :func:`message` makes it.

    A single message (str, bytes, any buffer) is refused rather than sent
    one character or byte at a time.
    """
    if isinstance(values, (str, bytes, bytearray, memoryview)):
        raise ArgumentTypeError(
            f"messages must be an iterable of messages, such as a list of bytes, not a "
            f"single {_type_name(values)}; send one message with put()"
        )
    try:
        iterator = iter(values)  # type: ignore[call-overload]
    except TypeError:
        raise ArgumentTypeError(
            f"messages must be an iterable of messages, such as a list of bytes, "
            f"not {_type_name(values)}"
        ) from None
    return [m if type(m) is bytes else message(m) for m in iterator]
