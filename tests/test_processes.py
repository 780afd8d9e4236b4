"""Two real processes talking through one queue, as in baseplate's documentation."""

from __future__ import annotations

import os
import time

from support import python

from posixq import MessageQueue

# baseplate's documented producer and consumer, with the queue name from argv.
PRODUCER = """
    import sys
    from posixq import MessageQueue

    # If the queue doesn't already exist, we'll create it.
    mq = MessageQueue(sys.argv[1], max_messages=1, max_message_size=1)
    message = "1"
    mq.put(message)
    print("Put Message: %s" % message)
"""

CONSUMER = """
    import sys
    from posixq import MessageQueue

    mq = MessageQueue(sys.argv[1], max_messages=1, max_message_size=1)
    print("ready", flush=True)
    # Unless a `timeout` kwarg is passed, this will block until
    # we can pop a message from the queue.
    message = mq.get()
    print("Get Message: %s" % message.decode())
"""


def finish(child, timeout: float = 30) -> str:
    """Wait for ``child``; return its output after checking it succeeded."""
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == 0, err
    return out


def test_baseplate_producer_then_consumer(queue_name, tmp_path) -> None:
    """The producer run first leaves "1" in the queue; the consumer run next gets it."""
    assert finish(python(PRODUCER, queue_name, cwd=tmp_path)) == "Put Message: 1\n"
    assert finish(python(CONSUMER, queue_name, cwd=tmp_path)) == "ready\nGet Message: 1\n"


def test_blocked_consumer_gets_a_message_from_another_process(
    queue_name, waiter_name, tmp_path
) -> None:
    """A consumer blocked in get() wakes when another process puts a message."""
    env = {**os.environ, "POSIXQ_WAITER": waiter_name}
    consumer = python(CONSUMER, queue_name, cwd=tmp_path, env=env)
    try:
        assert consumer.stdout.readline() == "ready\n"
        time.sleep(0.3)
        assert consumer.poll() is None, "the consumer did not wait for a message"
        assert finish(python(PRODUCER, queue_name, cwd=tmp_path)) == "Put Message: 1\n"
        assert finish(consumer) == "Get Message: 1\n"
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.communicate()


def test_message_and_priority_cross_processes(make_queue, queue_name, tmp_path) -> None:
    """Bytes and priorities sent by one process arrive unchanged in another."""
    mq = make_queue(queue_name, max_messages=4, max_message_size=64)
    producer = python(
        """
        import sys
        from posixq import MessageQueue

        with MessageQueue(sys.argv[1], create=False) as mq:
            mq.put(b"\\0low\\xff")
            mq.put("high ☃", priority=9)
        """,
        queue_name,
        cwd=tmp_path,
    )
    finish(producer)
    assert mq.get_with_priority(timeout=0) == ("high ☃".encode(), 9)
    assert mq.get_with_priority(timeout=0) == (b"\0low\xff", 0)


def test_consumer_process_takes_what_this_one_puts(queue_name, tmp_path) -> None:
    """Messages put here are received whole and in order by a child process."""
    consumer = python(
        """
        import sys
        from posixq import MessageQueue

        with MessageQueue(sys.argv[1], 2, 64) as mq:
            print("ready", flush=True)
            for _ in range(20):
                print(mq.get(timeout=20).hex(), flush=True)
        """,
        queue_name,
        cwd=tmp_path,
    )
    try:
        assert consumer.stdout.readline() == "ready\n"
        sent = [bytes([i]) * i for i in range(20)]
        with MessageQueue(queue_name, create=False) as mq:
            for message in sent:
                mq.put(message, timeout=20)
        assert finish(consumer).splitlines() == [m.hex() for m in sent]
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.communicate()
