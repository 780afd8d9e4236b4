"""How the command line cuts stdin into messages and lays messages out on stdout.

Four framings, the same on both sides:

* ``lines``: one message per line; the line's end (``\\n`` or ``\\r\\n``) is
  not part of the message. On output, bytes that are not UTF-8 are escaped
  as ``\\xNN``: text mode is for text, the others are binary-safe.
* ``nul``: each message ends with a NUL byte (``find -print0``, ``xargs -0``).
* ``length``: each message follows its length, 4 bytes big-endian.
* ``whole``: all of stdin is one message; on output, messages are written
  back to back with nothing between them.

With ``with_priority``, each message is preceded by its priority: in
``length`` framing as 4 more bytes big-endian before the length, in the
others as decimal digits and a tab.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Callable, Iterator, Optional

__all__ = ["FRAMINGS", "FramingError", "encode", "escape", "read_frames"]

FRAMINGS = ("lines", "nul", "length", "whole")

_LENGTH = struct.Struct(">I")
_PRIORITY_AND_LENGTH = struct.Struct(">II")
_CHUNK = 1 << 16


class FramingError(Exception):
    """The input does not follow the framing asked for."""


def escape(message: bytes) -> str:
    """``message`` as one line of text: printable ASCII as is, other bytes escaped."""
    return repr(message)[2:-1]


def encode(message: bytes, priority: int, framing: str, with_priority: bool) -> bytes:
    """The bytes that carry ``message`` (and its priority) on stdout."""
    if framing == "length":
        if with_priority:
            return _PRIORITY_AND_LENGTH.pack(priority, len(message)) + message
        return _LENGTH.pack(len(message)) + message
    if framing == "lines":
        try:
            message.decode()
        except UnicodeDecodeError:
            message = message.decode(errors="backslashreplace").encode()
        message += b"\n"
    elif framing == "nul":
        message += b"\0"
    if with_priority:
        return b"%d\t%s" % (priority, message)
    return message


def read_frames(
    stream: BinaryIO, framing: str, with_priority: bool, max_size: int
) -> Iterator[tuple[bytes, Optional[int]]]:
    """Cut ``stream`` into (message, priority) pairs; priority is None without ``with_priority``.

    Messages are yielded as soon as they are complete, so that a producer
    and a consumer can run side by side. ``max_size`` bounds the length a
    ``length`` frame may declare, so that a corrupt header fails at once.
    """
    if framing == "length":
        yield from _length_frames(stream, with_priority, max_size)
        return
    if framing == "whole":
        pieces: Iterator[bytes] = iter([stream.read()])
    elif framing == "lines":
        pieces = _lines(stream)
    else:
        pieces = _split(stream, b"\0")
    for number, piece in enumerate(pieces, 1):
        if not with_priority:
            yield piece, None
            continue
        digits, tab, rest = piece.partition(b"\t")
        if not tab or not digits.isdigit():
            raise FramingError(
                f"message {number} of stdin does not start with a priority and a tab, "
                f"as --with-priority expects: {escape(piece[:40])!r}"
            )
        yield rest, int(digits)


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    for line in stream:
        if line.endswith(b"\n"):
            line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        yield line


def _split(stream: BinaryIO, separator: bytes) -> Iterator[bytes]:
    read: Callable[[int], bytes] = getattr(stream, "read1", stream.read)
    pending = bytearray()
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            break
        start = len(pending)
        pending += chunk
        end = pending.find(separator, start)
        begin = 0
        while end >= 0:
            yield bytes(pending[begin:end])
            begin = end + 1
            end = pending.find(separator, begin)
        del pending[:begin]
    if pending:
        yield bytes(pending)


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) == size:
        return data or b""
    parts = [data]
    got = len(data)
    while data and got < size:
        data = stream.read(size - got)
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def _length_frames(
    stream: BinaryIO, with_priority: bool, max_size: int
) -> Iterator[tuple[bytes, Optional[int]]]:
    header = _PRIORITY_AND_LENGTH if with_priority else _LENGTH
    number = 0
    while True:
        number += 1
        raw = _read_exactly(stream, header.size)
        if not raw:
            return
        if len(raw) < header.size:
            raise FramingError(
                f"stdin ended inside the header of message {number}: "
                f"{len(raw)} of its {header.size} bytes"
            )
        if with_priority:
            priority, length = header.unpack(raw)
        else:
            (length,) = header.unpack(raw)
            priority = None
        if length > max_size:
            raise FramingError(
                f"message {number} of stdin is {length} bytes long, more than the queue "
                f"accepts (max_message_size={max_size}); is the input really length-prefixed?"
            )
        body = _read_exactly(stream, length)
        if len(body) < length:
            raise FramingError(
                f"stdin ended inside message {number}: {len(body)} of its {length} bytes"
            )
        yield body, priority
