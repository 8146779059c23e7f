"""Test harness: the simulator on its own event loop thread, an Ingester thread, PULL sinks for its output."""
from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from common.config import Config, load_config
from common.schema import FeedStatus, Liquidation, MarketContext, PriceTick
from common.wire import decode
from ingest import exchanges
from ingest.connection import Connection
from ingest.process import Ingester
from liqcascade.sim.server import SimServer
from liqcascade.sim.timeline import SimTrade
from liqcascade.sim.venues import SIM_VENUES, sim_urls
from tests.polling import wait_until

Key = tuple[str, str, int, float, float]
# Venues whose liquidation rows carry no exchange time (BitMEX): the ingester stamps the receive time, so
# deliveries and receipts are matched without it.
TIMELESS = frozenset({"bitmex"})


class SimThread:
    """A SimServer (recording deliveries) on a private loop; `call` runs a function or coroutine there."""

    def __init__(self, venue: str, **kw: Any) -> None:
        self.timeless = venue in TIMELESS
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        kw.setdefault("throttle", False)
        kw.setdefault("ping_interval", 0.2)  # frequent protocol pings: they must not count as liveness
        self.server = SimServer([SIM_VENUES[venue]], iter(()), record=True, **kw)
        self.port = self.call(self.server.start())
        self._ticker: asyncio.Future | None = None

    def call(self, what: Any, timeout: float = 5.0) -> Any:
        async def run() -> Any:
            result = what() if callable(what) else what
            return await result if asyncio.iscoroutine(result) else result
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def start_ticker(self, interval: float = 0.05) -> None:
        """BTC trades keep the feed alive, as the co-subscribed price stream does live."""
        async def tick() -> None:
            price = 60_000.0
            while True:
                price += 0.5
                await self.server.broadcast(SimTrade("BTCUSDT", price, 0.5))
                await asyncio.sleep(interval)
        self._ticker = asyncio.run_coroutine_threadsafe(tick(), self.loop)

    def stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()

    def close(self) -> None:
        self.stop_ticker()
        self.call(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def delivered(self) -> set[Key]:
        return {sim_key(d.event.symbol, d.event.side, 0 if self.timeless else d.ts_ms, d.event.qty, d.event.price)
                for d in list(self.server.deliveries)}


def sim_key(symbol: str, side: str, ts_ms: int, qty: float, price: float) -> Key:
    return (symbol, side, ts_ms, round(qty, 6), round(price, 4))


def liq_key(ev: Liquidation, timeless: bool = False) -> Key:
    return sim_key(ev.symbol, ev.side, 0 if timeless else ev.ts_event // 1_000_000, ev.qty, ev.price)


class Sink:
    """PULL sockets bound where the ingester PUSHes (analytics shards + signals); collects in a thread."""

    def __init__(self, cfg: Config, timeless: bool = False) -> None:
        self.timeless = timeless
        self.ctx = zmq.Context()
        self.socks = []
        for ep in [cfg.endpoint("analytics", k) for k in range(cfg.pipeline.shards)] + [cfg.endpoint("signals")]:
            s = self.ctx.socket(zmq.PULL)
            s.setsockopt(zmq.LINGER, 0)
            s.bind(ep)
            self.socks.append(s)
        self.liqs: list[Liquidation] = []
        self.tape: list[Liquidation] = []  # the same liquidations, relayed to signals for the tape
        self.prices: list[PriceTick] = []
        self.statuses: list[FeedStatus] = []
        self.contexts: list[tuple[bytes, int, MarketContext]] = []  # (topic, socket index, context)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        poller = zmq.Poller()
        for s in self.socks:
            poller.register(s, zmq.POLLIN)
        while not self._stop.is_set():
            for s, _ in poller.poll(50):
                topic, _, _, msgs = decode(s.recv_multipart())
                at_signals = s is self.socks[-1]
                for m in msgs:
                    if isinstance(m, MarketContext):
                        self.contexts.append((topic, self.socks.index(s), m))
                    elif isinstance(m, Liquidation):
                        (self.tape if at_signals else self.liqs).append(m)
                    elif isinstance(m, PriceTick):
                        self.prices.append(m)
                    elif isinstance(m, FeedStatus):
                        self.statuses.append(m)

    def keys(self) -> Counter[Key]:
        return Counter(liq_key(ev, self.timeless) for ev in list(self.liqs))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for s in self.socks:
            s.close()
        self.ctx.term()


class Rig:
    """Sim + sink + one venue's Ingester in a thread, wired through a config under tmp_path."""

    def __init__(self, tmp_path: Path, venue: str, stale_after_s: float = 1.0, sim: dict | None = None,
                 conn: dict | None = None, ingest: dict | None = None) -> None:
        self.venue = venue
        self.sim = SimThread(venue, **(sim or {}))
        self.cfg = load_config(overrides={
            "pipeline": {"ipc_dir": str(tmp_path), "shards": 2, "heartbeat_s": 0.2},
            "ingest": {"urls": sim_urls("127.0.0.1", self.sim.port, [venue]), "backoff_min_s": 0.05,
                       "backoff_max_s": 0.2, "stale_after_s": stale_after_s,
                       "okx_ctval_cache": str(tmp_path / "okx.json"), **(ingest or {})}}, env={})
        self.sink = Sink(self.cfg, venue in TIMELESS)
        module = exchanges.get(venue)
        self.ingester = Ingester(self.cfg, module, connection=Connection(module, self.cfg, **(conn or {})))
        self.rc: list[int] = []
        self.thread = threading.Thread(target=lambda: self.rc.append(self.ingester.run()), daemon=True)

    def start(self, ticker: bool = True) -> Rig:
        if ticker:
            self.sim.start_ticker()
        self.thread.start()
        self.wait_subscribed()
        return self

    def wait_subscribed(self, connects: int = 1, timeout: float = 8.0) -> None:
        """Connected `connects` times in total, subscribed now, and data reaches the sink."""
        wait_until(lambda: self.sim.server.connects[self.venue] >= connects, timeout, what="sim connection")
        wait_until(lambda: self.sim.call(lambda: self.sim.server.subscribed(self.venue)), timeout,
                   what="a subscribed client")
        n = len(self.sink.prices)
        wait_until(lambda: len(self.sink.prices) > n, timeout, what="price ticks through the ingester")

    def broadcast(self, events: list) -> None:
        async def send() -> None:
            for ev in events:
                await self.sim.server.broadcast(ev)
        self.sim.call(send)

    def wait_all_delivered_received(self, at_least: int = 1, timeout: float = 8.0) -> set[Key]:
        """At least `at_least` liquidations were written to clients and all of them arrived (batches lag)."""
        def done() -> set[Key] | None:
            want = self.sim.delivered()
            return want if len(want) >= at_least and want <= set(self.sink.keys()) else None
        return wait_until(done, timeout, what="all delivered liquidations at the sink")

    def until(self, pred: Callable[[], Any], timeout: float = 8.0, what: str = "condition") -> Any:
        return wait_until(pred, timeout, what=what)

    def stop(self) -> int:
        self.ingester.request_stop()
        self.thread.join(8)
        assert not self.thread.is_alive(), "ingester did not stop"
        self.sink.close()
        self.sim.close()
        return self.rc[0]
