"""POSIX message queues for Linux processes, with pluggable waiting.

>>> from posixq import MessageQueue
>>> with MessageQueue("/posixq-doc", max_messages=2, max_message_size=16) as mq:
...     mq.put("hello")
...     mq.get()
...     mq.unlink()
b'hello'
"""

from . import _lowlevel  # noqa: F401 (first: if the extension is missing, it says why)
from .errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    MessageQueueError,
    MessageTooLargeError,
    QueueClosedError,
    QueueExistsError,
    QueueLimitError,
    QueueNotFoundError,
    QueueOSError,
    QueuePermissionError,
    QueueSizeError,
    TimedOutError,
)
from .queue import MessageQueue, unlink

__version__ = "0.1.0"

__all__ = [
    "ArgumentTypeError",
    "InvalidArgumentError",
    "MessageQueue",
    "MessageQueueError",
    "MessageTooLargeError",
    "QueueClosedError",
    "QueueExistsError",
    "QueueLimitError",
    "QueueNotFoundError",
    "QueueOSError",
    "QueuePermissionError",
    "QueueSizeError",
    "TimedOutError",
    "__version__",
    "unlink",
]
