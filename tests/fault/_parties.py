"""Producer and consumer processes for the fault suite, and the message format they share.

Run as a script (``python _parties.py produce|consume ...``); the tests
import it only for :func:`message` and :func:`read_log`. The queue's waiter
comes from ``POSIXQ_WAITER``.

A message is ``producer (u16) | seq (u32) | priority (u8) | filler | crc32``:
11 to 27 bytes whose checksum covers everything before it, so a truncated
or mixed-up message cannot pass for a good one.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from typing import NamedTuple

HEADER = struct.Struct("<HIB")
STOP = b"STOP"
#: Priorities producers use; STOP goes at 0, after every data message.
PRIORITIES = 3


def priority_of(producer: int, seq: int) -> int:
    """The priority producer ``producer`` gives its message ``seq``."""
    return ((seq * 2654435761 + producer * 40503) >> 7) % PRIORITIES


def message(producer: int, seq: int) -> bytes:
    """Message ``seq`` of ``producer``, with its checksum."""
    filler = bytes((seq + i) & 0xFF for i in range((seq * 7 + producer) % 17))
    body = HEADER.pack(producer, seq, priority_of(producer, seq)) + filler
    return body + zlib.crc32(body).to_bytes(4, "little")


class Received(NamedTuple):
    producer: int
    seq: int
    priority: int
    reported_priority: int  # what the receiving call said; -1 if it does not say


def check(data: bytes, reported_priority: int) -> Received:
    """The message ``data`` carries, or ValueError if it is not one :func:`message` made."""
    if len(data) < HEADER.size + 4:
        raise ValueError(f"short message {data!r}")
    body, crc = data[:-4], int.from_bytes(data[-4:], "little")
    if zlib.crc32(body) != crc:
        raise ValueError(f"bad checksum in {data!r}")
    producer, seq, priority = HEADER.unpack_from(body)
    if body != message(producer, seq)[:-4]:
        raise ValueError(f"bad body in {data!r}")
    return Received(producer, seq, priority, reported_priority)


def read_log(path: str) -> list[Received]:
    """The messages a consumer logged to ``path``, in the order it got them."""
    with open(path, "rb") as f:
        raw = f.read()
    out, i = [], 0
    while i + 2 <= len(raw):
        length, reported = raw[i], raw[i + 1]
        if i + 2 + length > len(raw):
            break  # the consumer died halfway through writing this record
        data = raw[i + 2 : i + 2 + length]
        out.append(check(data, -1 if reported == 0xFF else reported))
        i += 2 + length
    return out


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def consume(name: str, how: str) -> None:
    """Log every message got from ``name`` to stdout until a STOP message.

    Each record (length, priority, message) is written with one write(2)
    before the next get, so a SIGKILL can lose at most the record being got.
    """
    import posixq

    mq = posixq.MessageQueue(name, create=False)
    buf = bytearray(mq.max_message_size)
    while True:
        if how == "get":
            batch = [(mq.get(), 0xFF)]
        elif how == "get_with_priority":
            batch = [mq.get_with_priority()]
        elif how == "get_into":
            length, priority = mq.get_into(buf)
            batch = [(bytes(buf[:length]), priority)]
        elif how == "get_many":
            batch = [(m, 0xFF) for m in mq.get_many(4)]
        else:
            raise SystemExit(f"unknown way to get: {how}")
        stops = [m for m, _ in batch if m == STOP]
        records = b"".join(bytes((len(m), p)) + m for m, p in batch if m != STOP)
        _write_all(1, records)
        if stops:
            for _ in stops[1:]:  # get_many took STOPs meant for other consumers
                mq.put(STOP)
            return


def produce(name: str, producer: int, start: int, count: int, how: str) -> None:
    """Send messages ``start`` to ``start + count - 1``; log each seq once sent.

    ``how`` is ``put`` (one call per message, its own priority) or
    ``put_many`` (runs of equal priority in one call, logged after the call).
    """
    import posixq

    mq = posixq.MessageQueue(name, create=False)
    seq, end = start, start + count
    while seq < end:
        priority = priority_of(producer, seq)
        if how == "put":
            mq.put(message(producer, seq), priority=priority)
            _write_all(1, seq.to_bytes(4, "little"))
            seq += 1
            continue
        run = seq
        while run < end and run - seq < 5 and priority_of(producer, run) == priority:
            run += 1
        mq.put_many([message(producer, s) for s in range(seq, run)], priority=priority)
        _write_all(1, b"".join(s.to_bytes(4, "little") for s in range(seq, run)))
        seq = run


def produce_on_command(name: str, producer: int) -> None:
    """For each line ``N`` read from stdin, send the next N messages, then answer ``ok``."""
    import posixq

    mq = posixq.MessageQueue(name, create=False)
    seq = 0
    for line in sys.stdin:
        for _ in range(int(line)):
            mq.put(message(producer, seq), priority=priority_of(producer, seq))
            seq += 1
        sys.stdout.write("ok\n")
        sys.stdout.flush()


def read_sent(path: str) -> list[int]:
    """The sequence numbers a producer logged as sent."""
    with open(path, "rb") as f:
        raw = f.read()
    return [int.from_bytes(raw[i : i + 4], "little") for i in range(0, len(raw) - 3, 4)]


if __name__ == "__main__":
    command, queue = sys.argv[1], sys.argv[2]
    if command == "consume":
        consume(queue, sys.argv[3])
    elif command == "produce":
        produce(queue, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif command == "produce-on-command":
        produce_on_command(queue, int(sys.argv[3]))
    else:
        raise SystemExit(f"unknown command {command}")
