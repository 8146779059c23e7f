"""Real recorded files (shared/data/real) -> normalized JSON-line dicts for `liqcascade backtest`.

What is real and what is reconstructed, per converter:

* `okx_liquidations`: real per-event OKX BTC-USDT-SWAP liquidations; only the units are converted
  (contracts x 0.01 BTC, order side -> position side). `price` is OKX's bankruptcy price (bkPx).
* `binance_kline_ticks`: real Binance USD-M 1 min klines; the four ticks per minute are a
  reconstruction (the order of high and low inside a minute is not recorded).
* `hyperliquid_adl_proxy`: real Hyperliquid auto-deleveraging notional per irregular time bucket;
  splitting a bucket into events (count, sizes, times) is invented. ADL is not liquidation, it is one
  venue only, and that venue's feed is complete (not throttled).
* `coinglass_hourly_proxy`: real hourly cross-venue (Binance+Bybit+OKX) BTC liquidation totals; all
  intra-hour timing and sizes are invented, so only the hour-level ranking means anything.
"""
from __future__ import annotations

import bisect
import calendar
import csv
import logging
import math
import random
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from common.schema import LONG, SHORT

log = logging.getLogger(__name__)

NS = 1_000_000_000
MS = 1_000_000
OKX_CONTRACT_BTC = 0.01  # BTC-USDT-SWAP ctVal
KLINE_TICK_OFFSETS_S = (0, 15, 30, 45)  # open, first extreme, second extreme, close
LAST_BUCKET_MS = 1_000  # the last bucket (21:26:57, where the README says ADL ended) gets 1 s
ADL_COLUMNS = {"BTCUSDT": "btc_notional_usd_in_bucket", "ETHUSDT": "eth_notional_usd_in_bucket",
               "SOLUSDT": "sol_notional_usd_in_bucket"}
SIZE_SIGMA = 1.0  # lognormal spread of invented event sizes: n_eff is about e^-1 = 37% of the count
HOUR_MEAN_EVENT_USD = 20_000.0  # invented mean event size of the hourly proxy

FILES = {
    "okx": "okx_btc_usdt_swap_liquidations_2026-09-06.csv",
    "klines": "binance_um_btcusdt_1m_2025-10-10_1913-2334utc.csv",
    "adl": "hyperliquid_adl_2025-10-10_timebuckets.csv",
    "hourly": "coinglass_btc_liquidations_1h_2025-11-23_2026-05-22.csv",
}


def rows(path: str | Path) -> Iterator[dict[str, str]]:
    """CSV rows as dicts (header line required)."""
    with open(path, newline="") as fh:
        yield from csv.DictReader(fh)


def utc_ns(text: str) -> int:
    """'2026-09-06 04:45:11.401' or '2025-10-10T21:16:04Z' (naive = UTC) -> ns since the epoch, exact."""
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return calendar.timegm(dt.utctimetuple()) * NS + dt.microsecond * 1000


def liquidation(exchange: str, symbol: str, native: str, side: str, price: float, qty: float,
                usd: float, ts: int, throttled: bool) -> dict[str, Any]:
    return {"type": "liquidation", "exchange": exchange, "symbol": symbol, "native_symbol": native,
            "side": side, "price": price, "qty": qty, "notional_usd": usd, "ts_event": ts,
            "throttled": throttled}


def okx_liquidations(path: str | Path) -> list[dict[str, Any]]:
    """One liquidation per row: qty = contracts x 0.01 BTC; `side` sell (order) = long liquidated.

    `throttled` is True: OKX's liquidation channel and REST list are sampled, not every fill.
    """
    out = []
    for r in rows(path):
        price = float(r["price"])
        qty = round(float(r["size_contracts"]) * OKX_CONTRACT_BTC, 8)
        side = LONG if r["side"].strip().lower() == "sell" else SHORT
        out.append(liquidation("okx", "BTCUSDT", "BTC-USDT-SWAP", side, price, qty, round(qty * price, 6),
                               utc_ns(r["time"]), True))
    return sorted(out, key=lambda d: d["ts_event"])


def binance_kline_ticks(path: str | Path) -> list[dict[str, Any]]:
    """Four price ticks per 1 min kline at +0/15/30/45 s: open, then high and low, then close.

    Which extreme came first is not recorded; the usual convention is used: a down minute
    (close < open) went up first (open, high, low, close), an up minute down first (open, low, high,
    close). Each tick carries a quarter of the minute's BTC volume, for the regime's liquidity.
    """
    out = []
    for r in rows(path):
        t0 = int(r["open_time"]) * MS
        o, h, lo, c = (float(r[k]) for k in ("open", "high", "low", "close"))
        path_ = (o, h, lo, c) if c < o else (o, lo, h, c)
        qty = float(r["volume"]) / 4.0
        out += [{"type": "price", "exchange": "binance", "symbol": "BTCUSDT", "price": p, "qty": qty,
                 "ts_event": t0 + off * NS} for p, off in zip(path_, KLINE_TICK_OFFSETS_S, strict=True)]
    return out


def spread(rng: random.Random, usd: float, n: int, t0: int, t1: int) -> list[tuple[int, float]]:
    """Invented split of `usd` into n events at seeded uniform times in [t0, t1), lognormal sizes.

    Sizes are exp(σ·N(0,1)) weights rescaled to sum exactly to `usd`.
    """
    if usd <= 0.0 or n <= 0:
        return []
    w = [math.exp(SIZE_SIGMA * rng.gauss(0.0, 1.0)) for _ in range(n)]
    total = sum(w)
    times = sorted(rng.randrange(t0, max(t1, t0 + 1)) for _ in range(n))
    return [(t, usd * x / total) for t, x in zip(times, w, strict=True)]


class PriceAt:
    """Last known price at or before t (first price before the series starts), from price ticks."""

    def __init__(self, ticks: Iterable[dict[str, Any]]) -> None:
        pairs = sorted((d["ts_event"], d["price"]) for d in ticks)
        self.ts = [t for t, _ in pairs]
        self.px = [p for _, p in pairs]

    def __call__(self, t: int) -> float:
        if not self.px:
            return 0.0
        return self.px[max(0, bisect.bisect_right(self.ts, t) - 1)]


def hyperliquid_adl_proxy(path: str | Path, btc_price: PriceAt | None = None,
                          seed: int = 1) -> list[dict[str, Any]]:
    """PROXY: Hyperliquid ADL notional per bucket -> long-side 'liquidations' of BTC, ETH and SOL.

    Each bucket's per-asset notional is spread over [bucket start, next bucket start) (1 s for the last) as
    round(event_count x asset share of the bucket notional) events (at least 1). Side is long: the
    crash closed longs. BTC price is Binance's (from `btc_price`), ETH/SOL price 0 (not in the file;
    analytics reads only USD). Exchange hyperliquid, not throttled (complete feed).
    """
    rng = random.Random(seed)
    buckets = list(rows(path))
    starts = [int(r["bucket_start_ms"]) for r in buckets]
    starts.append(starts[-1] + LAST_BUCKET_MS if starts else 0)
    out = []
    for i, r in enumerate(buckets):
        total, count = float(r["notional_usd_in_bucket"]), int(r["event_count"])
        for symbol, col in ADL_COLUMNS.items():
            usd = float(r.get(col) or 0.0)
            if usd <= 0.0 or total <= 0.0:
                continue
            n = max(1, round(count * usd / total))
            for t, x in spread(rng, usd, n, starts[i] * MS, starts[i + 1] * MS):
                px = btc_price(t) if (btc_price is not None and symbol == "BTCUSDT") else 0.0
                out.append(liquidation("hyperliquid", symbol, symbol.removesuffix("USDT"), LONG, px,
                                       round(x / px, 8) if px else 0.0, round(x, 2), t, False))
    return sorted(out, key=lambda d: d["ts_event"])


def coinglass_hourly_proxy(path: str | Path, seed: int = 1, mean_event_usd: float = HOUR_MEAN_EVENT_USD,
                           min_hour_usd: float = 0.0) -> list[dict[str, Any]]:
    """PROXY: each hour's longUsd/shortUsd -> ceil(usd / mean_event_usd) events per side, uniform in the hour.

    Timing and sizes inside the hour are invented, seeded per hour (so an hour's proxy does not depend
    on which other hours are selected); only the totals per hour and side are real. One pseudo-venue
    `coinglass` (the totals already merge Binance, Bybit, OKX), not throttled, price 0 (the file has
    none). Hours whose total is below `min_hour_usd` are left out.
    """
    out = []
    for r in rows(path):
        if float(r["totalUsd"] or 0.0) < min_hour_usd:
            continue
        t0 = int(r["timestamp"]) * MS
        rng = random.Random(f"{seed}:{t0}")
        for side, col in ((LONG, "longUsd"), (SHORT, "shortUsd")):
            usd = float(r[col] or 0.0)
            for t, x in spread(rng, usd, math.ceil(usd / mean_event_usd), t0, t0 + 3600 * NS):
                out.append(liquidation("coinglass", "BTCUSDT", "BTC", side, 0.0, 0.0, round(x, 2), t, False))
    return sorted(out, key=lambda d: d["ts_event"])


def by_hour(items: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Events grouped by their UTC hour start (ns), in order: the hourly proxy is replayed hour by hour."""
    out: dict[int, list[dict[str, Any]]] = {}
    for d in items:
        out.setdefault(d["ts_event"] - d["ts_event"] % (3600 * NS), []).append(d)
    return out


def hour_totals(path: str | Path) -> list[dict[str, Any]]:
    """The real hourly rows: start (ns), long/short/total USD; for ranking the proxy's result."""
    return [{"ts": int(r["timestamp"]) * MS, "utc": r["datetime_utc"], "long": float(r["longUsd"] or 0.0),
             "short": float(r["shortUsd"] or 0.0), "total": float(r["totalUsd"] or 0.0)} for r in rows(path)]


def merge(*streams: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One stream in event-time order (stable: equal times keep stream order, prices first if given first)."""
    return sorted((d for s in streams for d in s), key=lambda d: d["ts_event"])


def write_jsonl(items: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write normalized JSON lines; return the count."""
    n = 0
    with open(path, "wb") as fh:
        for d in items:
            fh.write(orjson.dumps(d) + b"\n")
            n += 1
    return n


def build(name: str, data_dir: str | Path, seed: int = 1, min_hour_usd: float = 0.0) -> list[dict[str, Any]]:
    """The normalized stream of one dataset: okx, crash_2025_10_10 or hourly."""
    d = Path(data_dir)
    if name == "okx":
        return okx_liquidations(d / FILES["okx"])
    if name == "crash_2025_10_10":
        ticks = binance_kline_ticks(d / FILES["klines"])
        return merge(ticks, hyperliquid_adl_proxy(d / FILES["adl"], PriceAt(ticks), seed))
    if name == "hourly":
        return coinglass_hourly_proxy(d / FILES["hourly"], seed, min_hour_usd=min_hour_usd)
    raise ValueError(f"unknown dataset {name!r}")


DATASETS = ("okx", "crash_2025_10_10", "hourly")
