"""The simulator speaks each venue's protocol well enough that the real parser reads it back."""
from __future__ import annotations

import orjson
import pytest

from common.schema import LONG, SHORT
from ingest.exchanges import bybit, hyperliquid, okx
from liqcascade.sim import bybit as sim_bybit
from liqcascade.sim import hyperliquid as sim_hl
from liqcascade.sim import okx as sim_okx
from liqcascade.sim.faults import Fault, parse_spec
from liqcascade.sim.timeline import SimLiquidation
from liqcascade.sim.venues import SIM_PATHS, SIM_VENUES


def test_every_venue_is_registered_with_its_path():
    assert set(SIM_VENUES) == set(SIM_PATHS) == {"binance", "bybit", "okx", "hyperliquid", "aster", "lighter",
                                                 "dydx", "gate", "bitget", "deribit", "bitmex"}
    for name, path in SIM_PATHS.items():
        if name not in ("binance", "aster"):  # a base URL: the stream paths hang below it
            assert SIM_VENUES[name].open_session(path) is not None


def test_bybit_rejects_the_retired_topic_and_answers_ping():
    s = sim_bybit.open_session("/v5/public/linear")
    (nack,) = sim_bybit.on_client_message(s, '{"op":"subscribe","args":["liquidation.BTCUSDT"]}')
    assert orjson.loads(nack)["ret_msg"] == "error:handler not found,topic:liquidation.BTCUSDT"
    (pong,) = sim_bybit.on_client_message(s, '{"op":"ping"}')
    assert orjson.loads(pong)["ret_msg"] == "pong"


def test_bybit_batch_parses_back_as_every_liquidation_with_position_side():
    s = sim_bybit.open_session("/v5/public/linear")
    sim_bybit.on_client_message(s, '{"op":"subscribe","args":["allLiquidation.BTCUSDT"]}')
    items = [sim_bybit.encode(SimLiquidation("BTCUSDT", side, 100.0, 0.5), 1000 + i)
             for i, side in enumerate((LONG, SHORT))]
    frame = sim_bybit.frame(s, items[0][0], sim_bybit.merge([p for _, p in items]))
    assert [(e.side, e.qty) for e in bybit.parse(frame, 1)] == [(LONG, 0.5), (SHORT, 0.5)]


@pytest.mark.parametrize(("symbol", "contracts"), [("BTCUSDT", "30"), ("ETHUSDT", "3")])
def test_okx_sizes_are_contracts_and_parse_back_to_coins(symbol, contracts):
    s = sim_okx.open_session("/ws/v5/public")
    sim_okx.on_client_message(s, '{"op":"subscribe","args":[{"channel":"liquidation-orders","instType":"SWAP"}]}')
    key, payload = sim_okx.encode(SimLiquidation(symbol, LONG, 100.0, 0.3), 1000)
    assert payload["data"][0]["details"][0]["sz"] == contracts
    (ev,) = okx.parse(sim_okx.frame(s, key, payload), 1)
    assert (ev.symbol, ev.side, ev.qty) == (symbol, LONG, pytest.approx(0.3))
    assert sim_okx.on_client_message(s, "ping") == ["pong"]
    with pytest.raises(okx.ReconnectRequested):
        okx.parse(sim_okx.notice(s), 1)


def test_hyperliquid_greets_pongs_and_sends_fills_to_a_watched_user():
    user = "0x2e3d94f0562703b25c83308a05046ddaf9a8dd14"
    s = sim_hl.open_session("/ws")
    assert hyperliquid.parse(sim_hl.GREETING, 1) == []
    assert sim_hl.on_client_message(s, '{"method":"ping"}') == ['{"channel":"pong"}']
    replies = sim_hl.on_client_message(s, orjson.dumps({"method": "subscribe", "subscription": {
        "type": "userFills", "user": user}}).decode())
    assert [hyperliquid.parse(r, 1) for r in replies] == [[], []]  # ack and isSnapshot history: no events
    key, fill = sim_hl.encode(SimLiquidation("ETHUSDT", SHORT, 2000.0, 1.5), 1000)
    (ev,) = hyperliquid.parse(sim_hl.frame(s, key, fill), 1)
    assert (ev.symbol, ev.side, ev.qty, ev.price) == ("ETHUSDT", SHORT, 1.5, 2000.0)


def test_fault_spec_parses_times_arguments_and_venues():
    assert parse_spec("stall@40:10,disconnect@20,garbage@5/okx") == [
        Fault("garbage", 5.0, 3, "okx"), Fault("disconnect", 20.0, 1006), Fault("stall", 40.0, 10.0)]
    with pytest.raises(ValueError):
        parse_spec("explode@3")


def test_aster_serves_binances_protocol_under_its_own_base_and_parses_back_as_aster():
    from ingest.exchanges import aster
    from liqcascade.sim import aster as sim_aster
    assert sim_aster.open_session("/stream?streams=!forceOrder@arr") is None  # that is Binance's legacy base
    s = sim_aster.open_session("/aster/stream?streams=!forceOrder@arr/btcusdt@aggTrade")
    assert s is not None and s.combined and s.streams == {"!forceOrder@arr", "btcusdt@aggTrade"}
    key, payload = sim_aster.encode(SimLiquidation("BTCUSDT", LONG, 100.0, 0.5), 1000)
    (ev,) = aster.parse(sim_aster.frame(s, key, payload), 1)
    assert (ev.exchange, ev.side, ev.qty, ev.price) == ("aster", LONG, 0.5, 100.0)
    assert sim_aster.on_client_message(s, '{"method":"SUBSCRIBE","params":["ethusdt@aggTrade"],"id":7}') == [
        '{"result":null,"id":7}']


def test_dydx_subscribe_reply_replays_the_markets_recent_liquidations_with_their_stamps():
    from ingest.exchanges import dydx
    from liqcascade.sim import dydx as sim_dydx
    s = sim_dydx.open_session("/v4/ws")
    liq = SimLiquidation("ETHUSDT", SHORT, 2000.0, 1.5)
    key, payload = sim_dydx.encode(liq, 1_700_000_000_123)
    s.recent = [(key, payload, [(liq, 1_700_000_000_123)]),
                ("v4_trades:BTC-USD", {"other": 1}, [(liq, 1)])]  # another market: not replayed
    ((reply, stamped),) = sim_dydx.on_client_message(s, '{"type":"subscribe","channel":"v4_trades","id":"ETH-USD"}')
    assert stamped == [(liq, 1_700_000_000_123)]
    (ev,) = dydx.parse(reply, 1_700_000_000_123 * 10**6)
    assert (ev.symbol, ev.side, ev.qty, ev.ts_event) == ("ETHUSDT", SHORT, 1.5, 1_700_000_000_123 * 10**6)
    (again,) = sim_dydx.on_client_message(s, '{"type":"subscribe","channel":"v4_trades","id":"ETH-USD"}')
    assert "already subscribed" in orjson.loads(again)["message"]
    (err,) = sim_dydx.on_client_message(s, '{"type":"subscribe","channel":"v4_nope","id":"ETH-USD"}')
    assert orjson.loads(err)["type"] == "error"
    assert dydx.parse(sim_dydx.GREETING, 1) == []


def test_lighter_pongs_rejects_unknown_markets_and_replays_liquidations_on_subscribe():
    from ingest.exchanges import lighter
    from liqcascade.sim import lighter as sim_lighter
    s = sim_lighter.open_session("/lighter/stream")
    assert sim_lighter.on_client_message(s, '{"type":"ping"}') == ['{"type":"pong"}']
    (err,) = sim_lighter.on_client_message(s, '{"type":"subscribe","channel":"trade/99999"}')
    assert orjson.loads(err)["code"] == 30005
    liq = SimLiquidation("BTCUSDT", SHORT, 60_000.0, 0.25)
    key, payload = sim_lighter.encode(liq, 1_700_000_000_000)
    s.recent = [(key, payload, [(liq, 1_700_000_000_000)])]
    ((reply, stamped),) = sim_lighter.on_client_message(s, '{"type":"subscribe","channel":"trade/1"}')
    (ev,) = lighter.parse(reply, 1_700_000_000_000 * 10**6)
    assert (ev.symbol, ev.side, ev.qty, ev.price) == ("BTCUSDT", SHORT, 0.25, 60_000.0) and len(stamped) == 1
    (live,) = lighter.parse(sim_lighter.frame(s, key, payload), 1_700_000_000_000 * 10**6)
    assert live == ev


def test_dydx_refuses_a_third_subscribe_within_a_second():
    from liqcascade.sim import dydx as sim_dydx
    s = sim_dydx.open_session("/v4/ws")
    sub = '{{"type":"subscribe","channel":"v4_trades","id":"{}"}}'
    replies = [sim_dydx.on_client_message(s, sub.format(m)) for m in ("BTC-USD", "ETH-USD", "SOL-USD")]
    assert [isinstance(r[0], tuple) for r in replies] == [True, True, False]
    assert "Rate limited" in orjson.loads(replies[2][0])["message"]
