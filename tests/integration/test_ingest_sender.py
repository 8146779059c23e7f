"""The ingester's sends: at once while the peer has room, queued in order behind a full one (backpressure)."""
from __future__ import annotations

import asyncio

import zmq
import zmq.asyncio

from ingest.process import _Sender


def test_sends_past_a_full_queue_wait_and_arrive_complete_and_in_order_from_several_tasks() -> None:
    async def main() -> list[list[bytes]]:
        ctx = zmq.asyncio.Context()
        push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
        for sock in (push, pull):
            sock.setsockopt(zmq.SNDHWM, 2)
            sock.setsockopt(zmq.RCVHWM, 2)
        pull.bind("inproc://ingest-sender")
        push.connect("inproc://ingest-sender")
        sender = _Sender(push)
        order: list[int] = []

        async def writer(first: int) -> None:
            for i in range(first, 60, 3):  # three tasks interleave their sends on one socket
                order.append(i)
                await sender.send([b"liq.x", b"h", str(i).encode()])

        tasks = [asyncio.create_task(writer(k)) for k in range(3)]
        deadline = asyncio.get_running_loop().time() + 5
        while not sender._waiting and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0)  # nobody reads: the queue fills and the writers wait
        assert sender._waiting > 0 and not all(t.done() for t in tasks)
        got = []
        while len(got) < 60:
            got.append(await asyncio.wait_for(pull.recv_multipart(), 5))
        await asyncio.gather(*tasks)
        push.close(linger=0)
        pull.close(linger=0)
        ctx.term()
        assert [int(m[2]) for m in got] == order  # the order the sends were made in
        return got

    got = asyncio.run(main())
    assert sorted(int(m[2]) for m in got) == list(range(60))
