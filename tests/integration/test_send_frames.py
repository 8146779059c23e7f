"""common.sockets.send_frames: what send_multipart(copy=False) sends, all or nothing on a full queue."""
from __future__ import annotations

import pytest
import zmq

from common.sockets import send_frames


@pytest.fixture
def pair():
    ctx = zmq.Context()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    push.setsockopt(zmq.SNDHWM, 1)
    pull.setsockopt(zmq.RCVHWM, 1)
    pull.bind("inproc://send-frames")
    push.connect("inproc://send-frames")
    yield push, pull
    push.close(linger=0)
    pull.close(linger=0)
    ctx.term()


def test_the_frames_arrive_as_one_multipart_message_large_ones_too(pair):
    push, pull = pair
    frames = [b"metrics.BTCUSDT", b"\x92\xa1a\x01", b"x" * 100_000]  # the last above pyzmq's copy threshold
    send_frames(push, frames)
    assert pull.poll(5000)
    assert pull.recv_multipart() == frames


def test_a_full_queue_refuses_the_whole_message_with_noblock(pair):
    push, pull = pair
    sent = 0
    with pytest.raises(zmq.Again):
        for i in range(100):  # inproc: SNDHWM + RCVHWM messages fit, then the queue is full
            send_frames(push, [b"t", b"h", str(i).encode()], zmq.NOBLOCK)
            sent += 1
    got = []
    while pull.poll(100):
        got.append(pull.recv_multipart())
    assert got == [[b"t", b"h", str(i).encode()] for i in range(sent)]  # whole messages only, in order
