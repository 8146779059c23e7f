"""What the simulator plays: a timeline of (offset seconds, normalized event), venue-agnostic."""
from __future__ import annotations

import gzip
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from common.schema import LONG, SHORT


@dataclass(frozen=True, slots=True)
class SimLiquidation:
    symbol: str
    side: str
    price: float
    qty: float
    venue: str | None = None  # None: every simulated venue reports it


@dataclass(frozen=True, slots=True)
class SimTrade:
    symbol: str
    price: float
    qty: float


@dataclass(frozen=True, slots=True)
class SimContext:
    """A symbol's market-wide context (`liqcascade.sim.context`); each venue reports its share of the OI."""

    symbol: str
    open_interest: float  # coins, all venues together
    funding_rate: float  # per 8 h
    mark_price: float
    index_price: float


SimEvent = SimLiquidation | SimTrade | SimContext

_DEMO_PRICES = {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 150.0}


# Rough shares of liquidation flow per venue; each simulated liquidation happens on one of them.
VENUE_SHARE = {"binance": 0.35, "bybit": 0.35, "okx": 0.2, "hyperliquid": 0.1,
               "aster": 0.04, "lighter": 0.04, "dydx": 0.02}
VENUE_SHARE |= {"gate": 0.06, "bitget": 0.08, "deribit": 0.02, "bitmex": 0.02}  # rough, relative weights


def demo(seed: int = 7, calm_s: float = 15.0, cascade_s: float = 30.0, rounds: int = 0,
         venues: tuple[str, ...] = ()) -> Iterator[tuple[float, SimEvent]]:
    """Calm flow, then a long-liquidation cascade on BTCUSDT into a falling price, then calm again.

    Alternates the cascade side each round; rounds=0 repeats forever (the demo), so a newcomer sees
    a cascade detected within a minute and then again. Each liquidation lands on one of `venues`
    (by their usual share of the flow), as on the real market; the BTC trades go to all.
    """
    rng = random.Random(seed)
    names = [v for v in VENUE_SHARE if v in venues]
    weights = [VENUE_SHARE[v] for v in names]
    for offset, ev in _rounds(rng, calm_s, cascade_s, rounds):
        if names and isinstance(ev, SimLiquidation):
            ev = SimLiquidation(ev.symbol, ev.side, ev.price, ev.qty, rng.choices(names, weights)[0])
        yield offset, ev


def _rounds(rng: random.Random, calm_s: float, cascade_s: float, rounds: int) -> Iterator[tuple[float, SimEvent]]:
    t = 0.0
    n = 0
    prices = dict(_DEMO_PRICES)
    while rounds == 0 or n < rounds:
        side = LONG if n % 2 == 0 else SHORT
        yield from _calm(rng, prices, t, calm_s)
        t += calm_s
        yield from _cascade(rng, prices, t, cascade_s, side)
        t += cascade_s
        n += 1


def _calm(rng: random.Random, prices: dict[str, float], t0: float, dur: float) -> Iterator[tuple[float, SimEvent]]:
    t = t0
    while t < t0 + dur:
        t += 0.1
        prices["BTCUSDT"] *= math.exp(rng.gauss(0, 0.0002))
        yield t, SimTrade("BTCUSDT", round(prices["BTCUSDT"], 1), round(rng.uniform(0.001, 0.5), 3))
        if rng.random() < 0.1:  # ~1 small liquidation a second across symbols
            sym = rng.choice(list(prices))
            usd = rng.lognormvariate(math.log(8_000), 0.8)
            yield t, SimLiquidation(sym, rng.choice((LONG, SHORT)), prices[sym], usd / prices[sym])


def _cascade(rng: random.Random, prices: dict[str, float], t0: float, dur: float,
             side: str) -> Iterator[tuple[float, SimEvent]]:
    """Intensity and size ramp up, then fade; the price moves against the liquidated side (-3%/+3%)."""
    drift = -0.03 if side == LONG else 0.03
    t = t0
    while t < t0 + dur:
        t += 0.05
        phase = (t - t0) / dur
        ramp = math.sin(math.pi * phase) ** 2  # 0 -> 1 -> 0
        prices["BTCUSDT"] *= math.exp(drift / (dur / 0.05) + rng.gauss(0, 0.0003))
        prices["ETHUSDT"] *= math.exp(drift / (dur / 0.05))
        yield t, SimTrade("BTCUSDT", round(prices["BTCUSDT"], 1), round(rng.uniform(0.01, 3.0), 3))
        if rng.random() < 0.1 + 0.4 * ramp:  # up to ~10 liquidations/s at the peak
            sym = "BTCUSDT" if rng.random() < 0.75 else "ETHUSDT"
            # ~$1.5M/s at the peak, ~$25M over the cascade: a mid-sized real one
            usd = rng.lognormvariate(math.log(40_000 + 200_000 * ramp), 0.6)
            yield t, SimLiquidation(sym, side, prices[sym], usd / prices[sym])


def from_jsonl(path: str) -> Iterator[tuple[float, SimEvent]]:
    """Normalized JSON lines (`liqcascade parse`/`scenario` output), replayed at their event-time spacing."""
    opener = gzip.open if path.endswith(".gz") else open
    t0: int | None = None
    with opener(path, "rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            d = orjson.loads(line)
            kind = d.get("type", "liquidation")
            if kind not in ("price", "liquidation"):  # feed statuses and the like: nothing a venue sends
                continue
            ts = int(d["ts_event"])
            t0 = ts if t0 is None else t0
            offset = (ts - t0) / 1e9
            if kind == "price":
                yield offset, SimTrade(d["symbol"], float(d["price"]), float(d.get("qty", 0.01) or 0.01))
            else:
                yield offset, SimLiquidation(d["symbol"], d["side"], float(d["price"]), float(d["qty"]),
                                             d.get("exchange"))


def steady(rate: float, symbols: int = 20, seed: int = 1, seconds: float = 0.0,
           lead_s: float = 0.0) -> Iterator[tuple[float, SimEvent]]:
    """A flat flow of `rate` liquidations/s over `symbols` symbols SYM0USDT.. (for throughput benchmarks).

    `seconds` > 0 ends the flow after int(rate * seconds) events (so a benchmark knows what was sent);
    `lead_s` of silence comes first, for clients that are still connecting.
    """
    rng = random.Random(seed)
    names = [f"SYM{i}USDT" for i in range(symbols)]
    total = int(rate * seconds) if seconds > 0 else -1
    i = 0
    while i != total:
        i += 1
        yield lead_s + i / rate, SimLiquidation(names[i % symbols], LONG if rng.random() < 0.5 else SHORT,
                                                100.0, rng.uniform(1, 100))
