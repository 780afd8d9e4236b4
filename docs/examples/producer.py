# producer.py
from posixq import MessageQueue

# Opens the queue, creating it first if no process has yet.
with MessageQueue("/posixq-quickstart", max_messages=1, max_message_size=16) as mq:
    message = "1"
    mq.put(message)
    print(f"Put message: {message}")
