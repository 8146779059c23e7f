"""Market context from the simulator through each real ingester: merged, coalesced, on the symbol's shard."""
from __future__ import annotations

import math

import pytest

from common.sharding import shard_of
from liqcascade.sim.context import OI_SHARE
from liqcascade.sim.timeline import SimContext
from tests.integration.sim_harness import Rig

OI = 40_000.0  # coins, all venues
ORACLE_MARK = {"dydx"}  # venues that mark at their oracle price, the model's index


def ctx(oi: float, funding: float = 0.0001, mark: float = 60_000.0, index: float = 60_030.0) -> SimContext:
    return SimContext("BTCUSDT", oi, funding, mark, index)


VENUES = ["bybit", "binance", "okx", "hyperliquid", "deribit", "bitmex", "gate", "dydx", "lighter", "bitget"]


@pytest.mark.parametrize("venue", VENUES)
def test_simulated_context_reaches_the_symbols_shard_complete_and_in_coins(tmp_path, venue):
    rig = Rig(tmp_path, venue, ingest={"symbols": ["BTCUSDT", "ETHUSDT"], "context_every_s": 0.1,
                                       "binance_oi_every_s": 0.05}).start()
    try:
        rig.broadcast([ctx(OI)])
        share = OI * OI_SHARE[venue]

        def complete():
            for topic, sock, c in list(rig.sink.contexts):
                if c.exchange == venue and abs(c.open_interest - share) < 1e-6 * share and c.mark_price == c.mark_price:
                    return topic, sock, c
            rig.broadcast([ctx(OI)])  # Binance's REST poll needs the simulator to have seen a context first
            return None

        topic, sock, c = rig.until(complete, timeout=10.0, what=f"a complete {venue} context")
        assert topic == f"ctx.{venue}.BTCUSDT".encode()
        assert sock == shard_of("BTCUSDT", rig.cfg.pipeline.shards)  # the analytics shard that owns it
        mark = 60_030.0 if venue in ORACLE_MARK else 60_000.0
        assert c.mark_price == pytest.approx(mark)
        assert c.open_interest_usd == pytest.approx(share * mark, rel=1e-6)
        if venue != "binance":  # Binance's index and funding come on the 1 s stream; all four carry them here
            assert c.index_price == pytest.approx(60_030.0) and c.funding_rate == pytest.approx(0.0001, rel=1e-3)
        # the OI falls: the next context the shard sees carries the lower figure, other fields kept
        rig.broadcast([ctx(OI * 0.9, mark=59_000.0, index=59_030.0)])
        lower = 59_030.0 if venue in ORACLE_MARK else 59_000.0
        rig.until(lambda: any(x.exchange == venue and abs(x.open_interest - 0.9 * share) < 1e-6 * share
                              and x.mark_price == pytest.approx(lower) for _, _, x in list(rig.sink.contexts)),
                  timeout=10.0, what="the lower open interest")
        assert all(not math.isinf(x.open_interest) for _, _, x in rig.sink.contexts)
    finally:
        assert rig.stop() == 0
