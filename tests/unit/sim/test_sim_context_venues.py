"""The simulator's market context on the venues added after the first four: each venue's encoding of a
SimContext parses back through the real parser in coins, on the 8 h funding basis, with mark and index."""
from __future__ import annotations

import math

import pytest

from ingest import exchanges
from ingest.context_merge import merge
from liqcascade.sim.context import OI_SHARE
from liqcascade.sim.timeline import SimContext
from liqcascade.sim.venues import SIM_PATHS, SIM_VENUES

VENUES = ["deribit", "bitmex", "gate", "dydx", "lighter", "bitget"]
ORACLE_MARK = {"dydx"}  # venues that mark at the oracle (index) price: no mark of their own


def replies(sim, session, text: str) -> list:
    return [r[0] if isinstance(r, tuple) else r for r in sim.on_client_message(session, text)]


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize(("symbol", "mark", "index", "funding"), [("BTCUSDT", 60_000.0, 60_030.0, 0.0001),
                                                                   ("SOLUSDT", 150.0, 149.9, -0.00025)])
def test_simulated_context_parses_back_in_coins_with_every_field(venue, symbol, mark, index, funding):
    sim, parser = SIM_VENUES[venue], exchanges.get(venue)
    session = sim.open_session(SIM_PATHS[venue])
    for msg in parser.subscribe_messages((symbol,), "BTCUSDT"):
        session.requests.clear()  # the runner paces subscribe messages (dYdX: 2 a second); this test does not wait
        for reply in replies(sim, session, msg):
            parser.parse(reply, 1)  # acks parse quietly: no refusal of the context channel
    key, payload = sim.encode(SimContext(symbol, 1000.0, funding, mark, index), 1_700_000_000_000)
    batched = getattr(sim, "batch_window", lambda _k: 0.0)(key) > 0
    text = sim.frame(session, key, sim.merge([payload]) if batched else payload)
    assert text is not None, f"{venue} did not push {key} to a session subscribed for {symbol}"
    state = None
    for part in text if isinstance(text, list) else [text]:
        for ev in parser.parse(part, 1):
            state = merge(state, ev)
    assert state.symbol == symbol and state.exchange == venue
    assert state.open_interest == pytest.approx(1000.0 * OI_SHARE[venue], rel=1e-6)
    assert state.funding_rate == pytest.approx(funding, rel=1e-6)
    expected_mark = index if venue in ORACLE_MARK else mark
    assert (state.mark_price, state.index_price) == (pytest.approx(expected_mark), pytest.approx(index))
    assert not math.isnan(state.open_interest_usd)
