"""Every ingester through every simulator fault: it reconnects, loses nothing sent while connected,
emits no fake events, and never crashes."""
from __future__ import annotations

import asyncio
import itertools
import os
import socket
from urllib.parse import urlparse

import pytest
from websockets.sync.client import connect

from common.schema import LONG, SHORT
from ingest import exchanges, okx_instruments
from liqcascade.sim.timeline import SimLiquidation, SimTrade
from tests.integration.sim_harness import Rig, liq_key

pytestmark = pytest.mark.timeout(20)
VENUES = ["binance", "bybit", "okx", "hyperliquid", "aster", "lighter", "dydx", "gate", "bitget", "deribit", "bitmex"]
REPLAY_ON_SUBSCRIBE = ("lighter", "dydx")  # their subscribe reply itself repeats recent trades
# BitMEX liquidation rows carry no time (the ingester stamps the receive time): no hostile times to send,
# and a frame delivered twice (a replay, a rotation's overlap) cannot be told from a new one by the
# generic deduper. The real venue does neither: it answers a subscribe with a `partial` (not reported)
# and has no age limit or notice that would make the runner rotate.
DATED = [v for v in VENUES if v != "bitmex"]
_qty = itertools.count(1)


@pytest.fixture(autouse=True)
def offline_okx_table(monkeypatch):
    """The OKX ctVal refresh would reach the internet; the bundled table is what the sim encodes with."""
    monkeypatch.setattr(okx_instruments, "refresh", lambda **kw: okx_instruments.bundled())


@pytest.fixture
def rigs():
    made: list[Rig] = []
    yield made
    for rig in made:
        assert rig.stop() == 0, "ingester exited with an error"


def batch(n: int = 4) -> list[SimLiquidation]:
    """Distinct liquidations (unique qty) on symbols every venue and the OKX ctVal table know."""
    syms = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    return [SimLiquidation(syms[i % 3], LONG if i % 2 else SHORT, 100.0 + i, round(0.1 * next(_qty), 1))
            for i in range(n)]


def assert_exactly_delivered(rig: Rig, at_least: int = 1) -> set:
    """Received == written to the ingester's connections, each once: nothing lost, nothing invented."""
    delivered = rig.wait_all_delivered_received(at_least)
    got = rig.sink.keys()
    assert set(got) == delivered
    assert max(got.values()) == 1, [k for k, n in got.items() if n > 1]
    return delivered


def streamer(rig: Rig, period: float = 0.03) -> asyncio.Future:
    async def run() -> None:
        while True:
            for ev in batch(1):
                await rig.sim.server.broadcast(ev)
            await asyncio.sleep(period)
    return asyncio.run_coroutine_threadsafe(run(), rig.sim.loop)


@pytest.mark.parametrize("venue", VENUES)
def test_abrupt_disconnect_reconnects_and_loses_nothing(tmp_path, rigs, venue):
    rig = Rig(tmp_path, venue).start()
    rigs.append(rig)
    rig.broadcast(batch())
    assert len(assert_exactly_delivered(rig, 4)) == 4

    async def drop_then_send() -> int:
        n = await rig.sim.server.disconnect_all()
        for ev in batch():  # nobody is connected: these are never delivered and must never appear
            await rig.sim.server.broadcast(ev)
        return n
    assert rig.sim.call(drop_then_send) == 1
    rig.wait_subscribed(connects=2)
    rig.broadcast(batch())
    # >= 8: Bybit's open 500 ms batch is flushed to whoever is subscribed by then, possibly the new link
    assert len(assert_exactly_delivered(rig, 8)) >= 8
    assert rig.ingester.conn.state.reconnects == 1
    assert rig.ingester.bad_frames == 0


@pytest.mark.parametrize("venue", VENUES)
def test_silent_stall_trips_the_watchdog_despite_protocol_pings(tmp_path, rigs, venue):
    rig = Rig(tmp_path, venue, stale_after_s=1.0).start()
    rigs.append(rig)
    rig.broadcast(batch())
    assert_exactly_delivered(rig, 4)
    assert rig.sim.call(lambda: rig.sim.server.stall(30.0)) == 1  # open, pinged by the protocol, silent
    rig.broadcast(batch())  # swallowed by the stall: not delivered, must not appear
    rig.wait_subscribed(connects=2)
    rig.broadcast(batch())
    assert len(assert_exactly_delivered(rig, 8)) >= 8
    assert rig.ingester.conn.state.stale == 1
    assert rig.ingester.conn.state.reconnects == 1
    assert rig.sim.server.stats["stalled_drops"] > 0


@pytest.mark.parametrize("venue", VENUES)
def test_garbage_and_truncated_frames_are_counted_and_never_become_events(tmp_path, rigs, venue):
    rig = Rig(tmp_path, venue).start()
    rigs.append(rig)
    rig.broadcast(batch())
    assert_exactly_delivered(rig, 4)
    assert rig.sim.call(lambda: rig.sim.server.send_garbage(4)) == 4
    assert rig.sim.call(lambda: rig.sim.server.send_truncated(2)) == 2
    rig.broadcast(batch())
    assert len(assert_exactly_delivered(rig, 8)) == 8
    rig.until(lambda: rig.ingester.bad_frames == 6, what="6 bad frames counted")
    assert rig.ingester.conn.state.reconnects == 0


@pytest.mark.parametrize("venue", DATED)
def test_hostile_values_are_bad_frames_or_receive_time_and_the_reader_lives_on(tmp_path, rigs, venue):
    rig = Rig(tmp_path, venue).start()
    rigs.append(rig)
    assert rig.sim.call(lambda: rig.sim.server.send_hostile(1)) == 4
    rig.until(lambda: rig.ingester.bad_frames == 3 and rig.ingester.parser.ts_clamped == 1,
              what="3 bad frames (list side, 1e160 qty, time beyond int64 ns) and 1 time replaced (2100)")
    year_2100 = rig.until(lambda: {liq_key(ev) for ev in rig.sink.liqs if ev.ts_event == ev.ts_recv} or None,
                          what="the frame dated 2100, at receive time")
    rig.broadcast(batch())
    delivered = rig.wait_all_delivered_received(4)  # the reader and the flusher are alive
    assert set(rig.sink.keys()) - year_2100 == delivered and len(year_2100) == 1
    assert rig.ingester.conn.state.reconnects == 0


@pytest.mark.parametrize("venue", [v for v in DATED if v not in REPLAY_ON_SUBSCRIBE])
def test_backlog_replayed_after_subscribe_is_deduplicated(tmp_path, rigs, venue):
    rig = Rig(tmp_path, venue).start()
    rigs.append(rig)
    rig.broadcast(batch())
    assert_exactly_delivered(rig, 4)
    rig.sim.call(lambda: rig.sim.server.set_replay(10))
    rig.sim.call(rig.sim.server.disconnect_all)
    rig.wait_subscribed(connects=2)
    rig.until(lambda: rig.ingester.dedupe.dropped == 4, what="the 4 replayed liquidations dropped")
    rig.broadcast(batch())
    assert len(assert_exactly_delivered(rig, 8)) == 8


@pytest.mark.parametrize("venue", REPLAY_ON_SUBSCRIBE)
def test_subscribe_reply_replays_recent_trades_and_a_reconnect_counts_nothing_twice(tmp_path, rigs, venue):
    rig = Rig(tmp_path, venue).start()
    rigs.append(rig)
    rig.broadcast(batch())
    assert_exactly_delivered(rig, 4)
    rig.sim.call(rig.sim.server.disconnect_all)
    rig.wait_subscribed(connects=2)
    # every subscribe reply repeated its market's recent liquidations: all 4 seen again, none counted again
    rig.until(lambda: rig.ingester.dedupe.dropped == 4, what="the 4 repeated liquidations dropped")
    rig.sim.call(rig.sim.server.disconnect_all)
    rig.wait_subscribed(connects=3)
    rig.until(lambda: rig.ingester.dedupe.dropped == 8, what="the same 4 dropped again on the next reconnect")
    rig.broadcast(batch())
    assert len(assert_exactly_delivered(rig, 8)) == 8
    assert rig.ingester.bad_frames == 0


@pytest.mark.parametrize("venue", REPLAY_ON_SUBSCRIBE)
def test_liquidations_missed_while_disconnected_arrive_with_the_subscribe_reply(tmp_path, rigs, venue):
    rig = Rig(tmp_path, venue).start()
    rigs.append(rig)
    rig.sim.call(rig.sim.server.disconnect_all)
    missed = batch()
    rig.broadcast(missed)  # nobody subscribed: only the next subscribe reply can carry these
    rig.wait_subscribed(connects=2)
    got = rig.wait_all_delivered_received(4)
    assert {(e.symbol, e.side, e.qty) for e in missed} == {(k[0], k[1], k[3]) for k in got}
    assert max(rig.sink.keys().values()) == 1


@pytest.mark.parametrize("venue", ["bybit", "okx", "hyperliquid", "lighter", "gate", "bitget", "bitmex"])
def test_quiet_feed_kept_alive_by_app_pings_under_the_server_ping_limit(tmp_path, rigs, venue):
    rig = Rig(tmp_path, venue, stale_after_s=1.5).start()
    rigs.append(rig)
    rig.sim.stop_ticker()  # a quiet market: only pongs arrive
    rig.sim.call(lambda: rig.sim.server.expect_pings(2.0))
    frames = rig.ingester.conn.state.frames
    rig.until(lambda: rig.ingester.conn.state.frames >= frames + 4, timeout=10, what="4 pongs")
    rig.broadcast(batch())
    assert len(assert_exactly_delivered(rig, 4)) == 4
    assert rig.ingester.conn.state.reconnects == 0
    assert rig.ingester.conn.state.stale == 0
    assert rig.sim.server.stats["ping_disconnects"] == 0


def test_sim_closes_a_client_that_never_pings(tmp_path, rigs):
    rig = Rig(tmp_path, "okx").start()
    rigs.append(rig)
    rig.sim.call(lambda: rig.sim.server.expect_pings(0.5))
    with connect(f"ws://127.0.0.1:{rig.sim.port}/ws/v5/public") as ws:
        rig.until(lambda: rig.sim.server.stats["ping_disconnects"] >= 1, what="the silent client closed")
        rig.until(lambda: ws.close_code is not None or ws.protocol.close_rcvd is not None, what="close frame")
        assert ws.protocol.close_rcvd.code == 4004


def test_binance_quiet_feed_is_stale_because_protocol_pings_do_not_count(tmp_path, rigs):
    rig = Rig(tmp_path, "binance", stale_after_s=1.0).start()
    rigs.append(rig)
    rig.sim.stop_ticker()
    rig.until(lambda: rig.ingester.conn.state.stale >= 1, what="the watchdog to fire")
    rig.until(lambda: rig.sim.server.connects["binance"] >= 2, what="a fresh connection")


def _client_frame(text: str) -> bytes:
    """A masked websocket text frame (RFC 6455 5.2), small payloads only."""
    data, mask = text.encode(), os.urandom(4)
    head = bytes([0x81, 0x80 | len(data)]) if len(data) < 126 else bytes([0x81, 0xFE]) + len(data).to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def _slow_reader(rig: Rig) -> socket.socket:
    """A raw client with a 4 KiB receive buffer: handshake, subscribe like the ingester, then never read."""
    module = exchanges.get(rig.venue)
    cfg = rig.cfg.ingest
    url = urlparse(module.url(cfg.urls[rig.venue], cfg.symbols, cfg.price_symbol))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", rig.sim.port))
    target = url.path + (f"?{url.query}" if url.query else "")
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    extra = {"users": cfg.hyperliquid_users} if rig.venue == "hyperliquid" else {}
    for msg in module.subscribe_messages(cfg.symbols, cfg.price_symbol, **extra):
        sock.sendall(_client_frame(msg))
    return sock


@pytest.mark.parametrize("venue", VENUES)
def test_slow_reader_is_disconnected_without_blocking_the_ingester(tmp_path, rigs, venue):
    # Deribit batches every trade of 100 ms into one frame: a shorter queue fills in the same time
    queue = 20 if venue == "deribit" else 200
    rig = Rig(tmp_path, venue, sim={"client_queue": queue}).start()
    rigs.append(rig)
    slow = _slow_reader(rig)
    rig.until(lambda: rig.sim.call(lambda: rig.sim.server.subscribed(venue)) == 2, what="the slow client")
    for _ in range(200):  # a producer paced in chunks, as a live feed is; stops once the slow one is cut
        rig.broadcast([SimTrade("BTCUSDT", 60_000.0 + i, 0.5) for i in range(20)] + batch(1))
        rig.sim.call(asyncio.sleep(0.005))
        if rig.sim.server.stats["slow_disconnects"]:
            break
    rig.until(lambda: rig.sim.server.stats["slow_disconnects"] == 1, what="the slow client disconnected")
    slow.close()
    assert_exactly_delivered(rig)
    assert rig.sim.server.max_depth <= queue
    assert rig.ingester.conn.state.reconnects == 0


def test_okx_notice_64008_reconnects_ahead_without_a_gap(tmp_path, rigs):
    rig = Rig(tmp_path, "okx").start()
    rigs.append(rig)
    flow = streamer(rig)
    assert rig.sim.call(lambda: rig.sim.server.notice_then_disconnect(3.0)) == 1
    rig.until(lambda: rig.ingester.conn.state.rotations == 1, what="the make-before-break rotation")
    rig.until(lambda: len(rig.sim.server.clients) == 1 and rig.sim.server.connects["okx"] == 2,
              what="the old connection closed by the client")
    flow.cancel()
    assert len(assert_exactly_delivered(rig)) > 5
    rig.until(lambda: rig.sim.server.stats["notice_deadlines"] == 1, what="the server's disconnect deadline")
    assert rig.sim.server.stats["notice_kills"] == 0  # nothing left for the server to kill
    assert rig.ingester.conn.state.reconnects == 0


@pytest.mark.parametrize("venue", DATED)
def test_rotation_before_the_age_limit_overlaps_without_loss(tmp_path, rigs, venue):
    rig = Rig(tmp_path, venue, sim={"max_age_s": 2.5}, conn={"max_age_s": 1.0, "overlap_s": 0.3}).start()
    rigs.append(rig)
    flow = streamer(rig)
    # flow kept going across both rotations (counted, not timed: the machine may be loaded)
    rig.until(lambda: rig.ingester.conn.state.rotations >= 2 and len(rig.sim.delivered()) > 20, timeout=15,
              what="two rotations under continuous flow")
    flow.cancel()
    delivered = assert_exactly_delivered(rig)
    assert len(delivered) > 20
    assert rig.sim.server.stats["age_disconnects"] == 0
    assert rig.ingester.conn.state.reconnects == 0


@pytest.mark.parametrize(("venue", "completeness"), [("aster", "throttled"), ("lighter", "complete"),
                                                     ("dydx", "complete")])
def test_new_venues_report_their_completeness_on_events_and_status(tmp_path, rigs, venue, completeness):
    rig = Rig(tmp_path, venue).start()
    rigs.append(rig)
    rig.broadcast(batch())
    assert_exactly_delivered(rig, 4)
    assert {ev.completeness for ev in rig.sink.liqs} == {completeness}
    status = rig.until(lambda: next((s for s in reversed(rig.sink.statuses) if s.connected), None),
                       what="a connected FeedStatus")
    assert (status.exchange, status.completeness) == (venue, completeness)
