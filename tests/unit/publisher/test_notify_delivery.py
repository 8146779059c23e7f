"""Delivery mechanics: token bucket, backoff, Retry-After, bounded queue, stop deadline."""
from __future__ import annotations

import random
import threading
import time

from common.config import NotifyConfig
from publisher.notify.delivery import Courier, Outcome, TokenBucket, backoff
from publisher.notify.responses import parse_retry_after
from tests.polling import wait_until


def test_token_bucket_allows_a_burst_then_the_rate():
    b = TokenBucket(rate_per_s=2.0, burst=3, now=0.0)
    assert [b.wait(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.wait(0.0) == 0.5  # one token every 0.5 s
    assert b.wait(0.5) == 0.0
    assert b.wait(10.0) == 0.0 and b.tokens == 2.0  # refills to the burst, not beyond


def test_backoff_grows_and_is_capped():
    rng = random.Random(1)
    delays = [backoff(a, 10.0, rng) for a in range(8)]
    assert all(0.5 * min(10.0, 2.0 ** a) <= d <= min(10.0, 2.0 ** a) for a, d in enumerate(delays))
    assert max(delays) <= 10.0


def test_retry_after_in_seconds_or_as_an_http_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


class Scripted:
    """A destination answering from a script of outcomes (then ok), recording when each try happened."""

    def __init__(self, *outcomes: Outcome, block: threading.Event | None = None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[float, str]] = []
        self.block = block

    def __call__(self, title: str, body: str) -> Outcome:
        self.calls.append((time.monotonic(), title))
        if self.block is not None:
            self.block.wait(30)
        return self.outcomes.pop(0) if self.outcomes else Outcome(True, 200)


def test_a_429_is_retried_after_its_retry_after_and_failures_back_off():
    send = Scripted(Outcome(False, 429, 0.3), Outcome(False, 503))
    c = Courier("test", send, NotifyConfig(backoff_max_s=0.2, rate_per_min=6000)).start()
    c.offer("one", "body")
    wait_until(lambda: c.sent == 1, 5, what="delivery after the retries")
    (t0, _), (t1, _), (t2, _) = send.calls
    assert t1 - t0 >= 0.3 and t2 - t1 <= 0.25  # Retry-After honored; then the capped backoff
    assert (c.retried, c.failed, c.dropped) == (2, 0, 0)
    c.close(time.monotonic() + 1)


def test_a_message_is_given_up_after_the_retries_and_counted():
    send = Scripted(*[Outcome(False, 500)] * 3)
    c = Courier("test", send, NotifyConfig(retries=2, backoff_max_s=0.01, rate_per_min=6000)).start()
    c.offer("one", "body")
    wait_until(lambda: c.failed == 1, 5, what="the message given up")
    assert len(send.calls) == 3 and c.sent == 0


def test_a_stuck_destination_drops_the_oldest_and_stops_by_the_deadline():
    release = threading.Event()
    send = Scripted(block=release)
    c = Courier("stuck", send, NotifyConfig(queue=2)).start()
    c.offer("m0", "body")
    wait_until(lambda: send.calls, 5, what="the first send")  # m0 is being sent, and stays stuck
    for i in range(1, 5):
        c.offer(f"m{i}", "body")  # m1, m2 are pushed out by m3, m4
    assert c.dropped == 2 and [t for t, _ in list(c.queue.queue)] == ["m3", "m4"]
    t0 = time.monotonic()
    c.close(t0 + 0.3)
    assert time.monotonic() - t0 < 1.0 and c.dropped == 4  # the two queued ones count as dropped too
    release.set()


def test_the_rate_limit_spaces_messages():
    send = Scripted()
    c = Courier("test", send, NotifyConfig(rate_per_min=600, burst=1)).start()  # one per 0.1 s
    for i in range(3):
        c.offer(f"m{i}", "body")
    wait_until(lambda: c.sent == 3, 5, what="three deliveries")
    times = [t for t, _ in send.calls]
    assert times[2] - times[0] >= 0.18
    c.close(time.monotonic() + 1)
