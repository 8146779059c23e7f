"""Against the real exchanges (needs internet): `pytest -m live`. Deselected by default.

Checks that each venue still behaves as coded: the URL and subscription are accepted, the BTC price
stream flows (so the watchdog's liveness proof holds), and nothing it sends is a bad frame.
"""
from __future__ import annotations

import asyncio
import time

import pytest

from common.config import load_config
from common.schema import PriceTick
from ingest import exchanges
from ingest.connection import Connection
from ingest.exchanges.base import BadFrame, ReconnectRequested
from ingest.venue_setup import prepare

pytestmark = [pytest.mark.live, pytest.mark.timeout(60)]

SECONDS = 15.0


async def collect(venue_name: str) -> tuple[int, int, list[str]]:
    cfg = load_config(overrides={"ingest": {"symbols": "BTCUSDT,ETHUSDT,SOLUSDT"}}, env={})
    venue = exchanges.get(venue_name)
    prepare(venue, cfg)
    conn = Connection(venue, cfg)
    prices = liquidations = 0
    bad: list[str] = []
    deadline = time.monotonic() + SECONDS

    async def run() -> None:
        nonlocal prices, liquidations
        async for ts, frame in conn.frames():
            try:
                for ev in venue.parse(frame, ts):
                    if isinstance(ev, PriceTick):
                        prices += 1
                    else:
                        liquidations += 1
            except (BadFrame, ReconnectRequested) as exc:
                bad.append(f"{exc}: {frame!r:.200}")
            if time.monotonic() > deadline:
                return
    await asyncio.wait_for(run(), SECONDS + 30)
    return prices, liquidations, bad


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx", "hyperliquid", "aster", "lighter", "dydx", "gate",
                                   "bitget", "deribit", "bitmex"])
def test_real_venue_delivers_btc_prices_and_no_bad_frames(venue):
    prices, liquidations, bad = asyncio.run(collect(venue))
    assert prices > 0, f"{venue}: no BTC price frames in {SECONDS} s (URL or channel changed?)"
    assert not bad, f"{venue}: {len(bad)} bad frame(s), first: {bad[0]}"
