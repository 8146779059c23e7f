"""The simulator's Gate, Bitget, Deribit and BitMEX protocols: acks, errors and keepalives as the real servers
answer, and every encoded liquidation parses back through the real parser with its side and size."""
from __future__ import annotations

import orjson
import pytest

from common.schema import LONG, SHORT
from ingest.exchanges import bitget, bitmex, deribit, gate
from liqcascade.sim import bitget as sim_bitget
from liqcascade.sim import bitmex as sim_bitmex
from liqcascade.sim import deribit as sim_deribit
from liqcascade.sim import gate as sim_gate
from liqcascade.sim.timeline import SimLiquidation


def send(module, session, msg) -> list[dict]:
    return [orjson.loads(r) for r in module.on_client_message(session, msg if isinstance(msg, str)
                                                              else orjson.dumps(msg).decode())]


@pytest.mark.parametrize("side", [LONG, SHORT])
def test_gate_signed_contracts_parse_back_and_legacy_clients_get_integers(side):
    s = sim_gate.open_session("/v4/ws/usdt")
    sim_gate.on_headers(s, {"X-Gate-Size-Decimal": "1"})
    for msg in gate.subscribe_messages((), "BTCUSDT"):
        assert send(sim_gate, s, msg)[0]["result"] == {"status": "success"}
    key, payload = sim_gate.encode(SimLiquidation("SOLUSDT", side, 150.0, 2.5), 1000)
    (ev,) = gate.parse(sim_gate.frame(s, key, payload), 1)
    assert (ev.symbol, ev.side, ev.qty) == ("SOLUSDT", side, 2.5)
    legacy = sim_gate.open_session("/v4/ws/usdt")
    sim_gate.on_headers(legacy, {})
    send(sim_gate, legacy, gate.subscribe_messages((), "BTCUSDT")[0])
    assert orjson.loads(sim_gate.frame(legacy, key, payload))["result"][0]["size"] in (2, -2)


def test_gate_pong_and_invalid_argument_error():
    s = sim_gate.open_session("/v4/ws/usdt")
    assert gate.parse(sim_gate.on_client_message(s, gate.KEEPALIVE[0])[0], 1) == []
    (err,) = sim_gate.on_client_message(s, '{"time":1,"channel":"futures.nope","event":"subscribe","payload":["x"]}')
    with pytest.raises(gate.SubscriptionRejected, match="invalid argument"):
        gate.parse(err, 1)


def test_bitget_every_contract_subscription_pong_and_error():
    s = sim_bitget.open_session("/v2/ws/public")
    acks = sim_bitget.on_client_message(s, bitget.subscribe_messages((), "BTCUSDT")[0])
    assert [bitget.parse(a, 1) for a in acks] == [[]] * (2 + len(bitget.DEFAULT_CONTEXT_SYMBOLS))  # + tickers
    key, payload = sim_bitget.encode(SimLiquidation("ETHUSDT", SHORT, 3000.0, 1.5), 1000)
    (ev,) = bitget.parse(sim_bitget.frame(s, key, payload), 1)
    assert (ev.symbol, ev.side, ev.qty, ev.ts_event) == ("ETHUSDT", SHORT, 1.5, 1000 * 10**6)
    assert sim_bitget.on_client_message(s, "ping") == ["pong"]
    (err,) = sim_bitget.on_client_message(s, '{"op":"subscribe","args":[{"instType":"SPOT","channel":"x"}]}')
    with pytest.raises(bitget.SubscriptionRejected, match="doesn't exist"):
        bitget.parse(err, 1)


def test_deribit_acks_refuses_raw_and_sends_test_requests_until_unanswered():
    s = sim_deribit.open_session("/ws/api/v2")
    hb, sub, tickers = (send(sim_deribit, s, m)[0] for m in deribit.subscribe_messages((), "BTCUSDT"))
    assert hb["result"] == "ok" and len(sub["result"]) == 3 and "ticker.BTC-PERPETUAL.100ms" in tickers["result"]
    raw = send(sim_deribit, s, {"jsonrpc": "2.0", "id": 2, "method": "public/subscribe",
                                "params": {"channels": ["trades.BTC-PERPETUAL.raw"]}})[0]
    assert raw["error"]["code"] == 13778
    t0 = s.state["next"]
    (req,) = sim_deribit.on_tick(s, t0)
    assert deribit.reply(req) is not None
    send(sim_deribit, s, deribit.reply(req))  # answered: the next one comes, no close
    assert sim_deribit.on_tick(s, t0 + 10) == [sim_deribit.TEST_REQUEST]
    assert sim_deribit.on_tick(s, t0 + 20) is None  # that one was never answered: close


@pytest.mark.parametrize(("symbol", "side"), [("BTCUSDT", LONG), ("SOLUSDT", SHORT)])
def test_deribit_taker_liquidations_parse_back_with_their_units(symbol, side):
    s = sim_deribit.open_session("/ws/api/v2")
    send(sim_deribit, s, deribit.subscribe_messages((), "BTCUSDT")[1])
    key, payload = sim_deribit.encode(SimLiquidation(symbol, side, 100.0, 0.3), 1000)
    (ev,) = deribit.parse(sim_deribit.frame(s, key, sim_deribit.merge([payload])), 1)
    assert (ev.symbol, ev.side, ev.qty) == (symbol, side, pytest.approx(0.3))


def test_bitmex_greets_acks_with_a_partial_pongs_and_refuses_unknown_tables():
    s = sim_bitmex.open_session("/realtime")
    assert bitmex.parse(sim_bitmex.GREETING, 1) == []
    replies = sim_bitmex.on_client_message(s, bitmex.subscribe_messages((), "BTCUSDT")[0])
    assert [orjson.loads(r).get("action") for r in replies] == [None, "partial"] * (2 + 12)  # + 12 instruments
    assert all(bitmex.parse(r, 1) == [] for r in replies)
    assert sim_bitmex.on_client_message(s, "ping") == ["pong"]
    (err,) = sim_bitmex.on_client_message(s, '{"op":"subscribe","args":["liquidations"]}')
    with pytest.raises(bitmex.SubscriptionRejected, match="Unknown table"):
        bitmex.parse(err, 1)
    key, payload = sim_bitmex.encode(SimLiquidation("BTCUSDT", LONG, 60_000.0, 0.25), 1000)
    (ev,) = bitmex.parse(sim_bitmex.frame(s, key, payload), 7)
    assert (ev.symbol, ev.native_symbol, ev.side, ev.qty, ev.ts_event) == ("BTCUSDT", "XBTUSDT", LONG, 0.25, 7)
