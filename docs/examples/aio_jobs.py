# aio_jobs.py
import asyncio

from posixq.aio import AsyncMessageQueue

DONE = b""  # an empty message tells the consumer that no more jobs will come


async def produce(mq: AsyncMessageQueue) -> None:
    for number in range(5):
        await mq.put(f"job {number}")  # waits, without blocking the loop, while the queue is full
    await mq.put(DONE)


async def consume(mq: AsyncMessageQueue) -> None:
    async for message in mq:  # waits for each message in turn
        if message == DONE:
            break
        print(f"got {message.decode()}")


async def main() -> None:
    async with AsyncMessageQueue("/posixq-aio-jobs", max_messages=2, max_message_size=64) as mq:
        await asyncio.gather(consume(mq), produce(mq))
        mq.unlink()


asyncio.run(main())
