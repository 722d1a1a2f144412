"""A shutdown ends tasks that swallow a cancel, as asyncio.wait_for can in Python 3.11."""

import asyncio

from liveai.transports.base import cancel_all


def test_a_task_that_swallows_the_first_cancel_is_cancelled_again():
    swallowed = []

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            swallowed.append(True)  # what a racing wait_for does: the cancel is lost
        await asyncio.Event().wait()

    async def main() -> bool:
        task = asyncio.create_task(stubborn())
        await asyncio.sleep(0)
        await asyncio.wait_for(cancel_all([task], again_s=0.05), timeout=5)
        return task.cancelled()

    assert asyncio.run(main()) and swallowed == [True]
