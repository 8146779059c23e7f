"""Fuzz every venue parser, seeded with the real frames of tests/data/<venue>/: any input is a list of sane
events or a BadFrame, never another exception; through the runner's FrameParser it never raises at all."""
from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.schema import Liquidation, MarketContext, PriceTick
from common.validate import reason
from common.wire import decode, encode
from ingest.exchanges import EXCHANGES, hyperliquid_node
from ingest.exchanges.base import NOTIONAL_RANGE, PRICE_RANGE, QTY_RANGE, BadFrame, ReconnectRequested
from ingest.exchanges.hyperliquid import FillDeduper
from ingest.frames import FrameParser
from tests.conftest import DATA

RECV = 1_781_528_066_000_000_000  # 2026-06-15: after every seed's exchange time
BUDGET = settings(max_examples=250, derandomize=True, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _seeds(venue: str) -> list[Any]:
    out: list[Any] = []
    for path in sorted((DATA / venue).iterdir()):
        if path.suffix == ".json":
            out.append(orjson.loads(path.read_bytes()))
        elif path.suffix == ".jsonl":
            out.extend(orjson.loads(line) for line in path.read_bytes().splitlines()[:3] if line.strip())
    if venue == "okx":  # IOST is not in the bundled ctVal table: a BTC copy reaches the sizing code too
        out += [orjson.loads(orjson.dumps(s).replace(b"IOST-USDT", b"BTC-USDT")) for s in out]
    return out


SEEDS = {venue: _seeds(venue) for venue in EXCHANGES}
SEEDS["hyperliquid_node"] = [s for s in _seeds("hyperliquid") if "events" in s or "block_number" in s]
PARSERS = {**{name: m.parse for name, m in EXCHANGES.items()}, "hyperliquid_node": hyperliquid_node.parse}

# Values a hostile or broken venue might put anywhere: wrong types, absurd magnitudes, odd number strings.
ODD = st.sampled_from(["1e160", "-1", "0", "nan", "inf", "-0", "1e-300", "", "SELL", "Buy", "sell", "A", "B",
                       "18446744073709551616", "4102444800000", "BTC-USDT-SWAP", "1000PEPEUSDT", "kPEPE"])
LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                 st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12), ODD)
JSON = st.recursive(LEAF, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=4), kids,
                                                                                   max_size=3), max_leaves=6)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _replace(obj: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        return {**obj, head: _replace(obj[head], rest, value)}
    return [(_replace(v, rest, value) if i == head else v) for i, v in enumerate(obj)]


@st.composite
def frames(draw: st.DrawFn, venue: str) -> str | bytes:
    """Mostly a real frame with a few of its values (or whole subtrees) replaced; sometimes raw junk."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.one_of(st.text(max_size=40), st.binary(max_size=40)))
    doc = draw(st.sampled_from(SEEDS[venue]))
    paths = _paths(doc)
    for _ in range(draw(st.integers(1, 3))):
        doc = _replace(doc, draw(st.sampled_from(paths)), draw(JSON))
        paths = _paths(doc)
    return json.dumps(doc)  # stdlib: writes integers beyond 64 bits, as a hostile venue could


def _assert_sane(events: list[Any]) -> None:
    for ev in events:
        if isinstance(ev, MarketContext):  # every field in its range or NaN (not sent), at least one sent
            assert reason("context", list(ev)) is None and any(x == x for x in ev[3:8])
            continue
        assert isinstance(ev, Liquidation | PriceTick)
        assert PRICE_RANGE[0] <= ev.price <= PRICE_RANGE[1]
        assert QTY_RANGE[0] <= ev.qty <= QTY_RANGE[1]
        if isinstance(ev, Liquidation):
            assert NOTIONAL_RANGE[0] <= ev.notional_usd <= NOTIONAL_RANGE[1]
            assert math.isfinite(ev.notional_usd * ev.notional_usd)
            assert isinstance(ev.symbol, str) and isinstance(ev.side, str)
        assert 0 < ev.ts_event < 2**63


@pytest.mark.parametrize("venue", sorted(PARSERS))
def test_any_frame_is_sane_events_or_a_bad_frame(venue):
    parse = PARSERS[venue]

    @BUDGET
    @given(frames(venue))
    def run(frame: str | bytes) -> None:
        try:
            events = parse(frame, RECV)
        except (BadFrame, ReconnectRequested):
            return
        _assert_sane(events)

    run()


@pytest.mark.parametrize("venue", sorted(PARSERS))
def test_through_the_runner_no_frame_raises_and_every_event_is_in_the_time_window_and_encodable(venue):
    runner = FrameParser(f"ingest.{venue}", PARSERS[venue])

    @BUDGET
    @given(frames(venue))
    def run(frame: str | bytes) -> None:
        try:
            events = runner.parse(frame, RECV)
        except ReconnectRequested:
            return
        _assert_sane(events)
        for ev in events:
            assert RECV - runner.past_ns <= ev.ts_event <= RECV + runner.future_ns
        if events:  # what the flusher does with them: must never overflow msgpack
            assert len(decode(encode(b"liq.0", "fuzz", 1, events))[3]) == len(events)

    run()


def test_the_seeds_are_real_frames_that_parse(monkeypatch):
    """A fuzz test whose seeds never parse would only ever test the error path."""
    monkeypatch.setattr(hyperliquid_node, "deduper", FillDeduper())  # the fuzz runs saw these fills already
    for venue, parse in PARSERS.items():
        good = 0
        for seed in SEEDS[venue]:
            try:
                good += bool(parse(orjson.dumps(seed), RECV))
            except (BadFrame, ReconnectRequested):
                pass
        assert good >= 1, venue
