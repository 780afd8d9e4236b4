# consumer.py
from posixq import MessageQueue

with MessageQueue("/posixq-quickstart", max_messages=1, max_message_size=16) as mq:
    # Without a timeout, get() waits for as long as the queue stays empty.
    message = mq.get()
    print(f"Got message: {message.decode()}")
    # Remove the queue's name from the system: we are done with it.
    mq.unlink()
