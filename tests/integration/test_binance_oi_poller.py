"""Binance open interest over REST against the simulator's endpoint: failures back off, replies become context."""
from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from ingest.binance_oi import OpenInterestPoller, rest_base
from liqcascade.sim.context import OI_SHARE
from liqcascade.sim.timeline import SimContext
from liqcascade.sim.venues import sim_urls
from tests.integration.sim_harness import SimThread


def test_rest_base_is_binance_for_binance_and_the_simulator_otherwise():
    assert rest_base("wss://fstream.binance.com/market/stream?streams=x") == "https://fapi.binance.com"
    assert rest_base("ws://127.0.0.1:9100/market") == "http://127.0.0.1:9100"


def test_poller_backs_off_on_errors_and_turns_a_reply_into_context():
    sim = SimThread("binance")
    got = []
    try:
        url = sim_urls("127.0.0.1", sim.port, ["binance"])["binance"]
        poller = OpenInterestPoller(url, ("BTCUSDT",), 0.25, lambda: 1_000, got.extend)
        # no context in the simulator yet: Binance's answer to an unknown symbol, 400 -1121
        waits = [asyncio.run(poller.poll_once("BTCUSDT")) for _ in range(3)]
        assert waits == [0.5, 1.0, 2.0] and poller.failures == 3 and got == []
        sim.call(sim.server.broadcast(SimContext("BTCUSDT", 50_000.0, 0.0001, 60_000.0, 60_010.0)))
        assert asyncio.run(poller.poll_once("BTCUSDT")) == 0.25  # success: back to the normal pace
        [ctx] = got
        assert (ctx.exchange, ctx.symbol, ctx.ts_recv) == ("binance", "BTCUSDT", 1_000)
        assert ctx.open_interest == pytest.approx(50_000.0 * OI_SHARE["binance"], abs=1e-3)
        assert sim.server.stats["http_requests"] == 4
    finally:
        sim.close()


def test_a_stop_cancels_a_request_the_server_never_answers():
    """The process must exit within its 5 s stop budget even while a REST call hangs (a blocking GET in a
    thread held it up to the request timeout)."""
    with socket.socket() as srv:  # accepts connections (backlog) and never answers
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]

        async def main() -> None:
            poller = OpenInterestPoller(f"ws://127.0.0.1:{port}/market", ("BTCUSDT",), 0.25, lambda: 1, list)
            task = asyncio.create_task(poller.run())
            deadline = time.monotonic() + 5
            while poller.polls == 0 and time.monotonic() < deadline:  # until the first request is in flight
                await asyncio.sleep(0.01)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            assert poller.polls == 1 and poller.failures == 0  # still waiting on the reply when stopped

        t0 = time.monotonic()
        asyncio.run(main())  # includes the loop's shutdown, which waited for a thread's blocking GET
        assert time.monotonic() - t0 < 2.0  # the request timeout is 5 s


def test_a_429_waits_as_long_as_retry_after_says():
    async def limited(url: str) -> bytes:
        req = httpx.Request("GET", url)
        raise httpx.HTTPStatusError("429", request=req, response=httpx.Response(429, headers={"Retry-After": "90"},
                                                                                 request=req))
    poller = OpenInterestPoller("ws://127.0.0.1:1/market", ("BTCUSDT",), 0.25, lambda: 1, list, fetch=limited)
    assert asyncio.run(poller.poll_once("BTCUSDT")) == 90.0 and poller.failures == 1
